"""The analysis paragraphs: their numbers are the committed metrics' numbers."""

import shutil

import pytest
from conftest import ROOT

from cs324.narrative.part2 import optimizers
from cs324.results import summarise_run

SPEC = ROOT / "results/part2_cnn_spec"


@pytest.mark.skipif(not (SPEC / "seed2/metrics.jsonl").exists(), reason="needs the committed spec runs")
def test_the_optimiser_paragraph_compares_each_run_with_the_spec_runs_seed_0(tmp_path):
    shutil.copytree(SPEC, tmp_path / "part2_cnn_spec")
    assert optimizers(tmp_path) == []  # no optimiser runs: no paragraph
    runs = tmp_path / "part2_cnn_optimizers"
    shutil.copytree(SPEC / "seed1", runs / "adam_lr1e-3")  # stand-ins: real run folders under the trainer's names
    shutil.copytree(SPEC / "seed2", runs / "sgd_momentum")
    (text,) = optimizers(tmp_path)
    ref = summarise_run(SPEC / "seed0")["test_acc_at_best_val"]
    for run, name in (("seed1", "Adam at PyTorch's default rate 1e-3"), ("seed2", "SGD with momentum 0.9 at 0.01")):
        acc = summarise_run(SPEC / run)["test_acc_at_best_val"]
        assert f"{name}: " in text and f"{100 * acc:.2f}% test ({100 * (acc - ref):+.1f} points)" in text
    assert "RMSprop" not in text  # a run not made is not described
