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


MLP = ROOT / "results"


ABLATION = MLP / "part1_cifar_mlp_ablation"


@pytest.mark.skipif(not (ABLATION / "full/metrics.jsonl").exists(), reason="needs the committed MLP ablation")
def test_the_mlp_ablation_paragraph_compares_each_row_with_the_full_recipe_on_the_same_machine(tmp_path):
    from cs324.narrative.part1 import ablation

    shutil.copytree(ABLATION / "full", tmp_path / "part1_cifar_mlp_ablation/full")
    assert ablation(tmp_path) == []  # no ablation rows: no paragraph
    stand_in = MLP / "part1_cifar_mlp_dropout02/seed0"  # a real run folder under an ablation row's name
    shutil.copytree(stand_in, tmp_path / "part1_cifar_mlp_ablation/no_augment")
    (text,) = ablation(tmp_path)
    full, row = summarise_run(ABLATION / "full"), summarise_run(stand_in)
    delta = 100 * (row["best_val_acc"] - full["best_val_acc"])
    assert f"no mirror-and-crop augmentation {delta:+.1f} points" in text
    assert f"test {100 * row['test_acc_at_best_val']:.2f}%" in text
    assert f"{100 * full['best_val_acc']:.2f}%" in text and "full recipe" in text
    assert "no dropout" not in text  # a row not run is not described
    # a second row, outside the band: the closing sentence sorts the rows by their verdicts
    shutil.copytree(ABLATION / "no_augment", tmp_path / "part1_cifar_mlp_ablation/no_norm")
    (text,) = ablation(tmp_path)
    assert text.endswith(
        "Beyond the noise band: no batch normalisation (worse). Within it: no mirror-and-crop augmentation."
    )


@pytest.mark.skipif(not (SPEC / "seed1/metrics.jsonl").exists(), reason="needs the committed spec runs")
def test_the_bf16_paragraph_reads_both_runs_and_its_verdict_follows_the_noise_band(tmp_path):
    from cs324.cnn.ablation import noise_band
    from cs324.narrative.part2 import bf16

    assert bf16(tmp_path) == []
    pair = tmp_path / "part2_cnn_amp"
    shutil.copytree(SPEC / "seed0", pair / "bf16")
    shutil.copytree(SPEC / "seed1", pair / "fp32")
    (text,) = bf16(tmp_path)
    b, f = summarise_run(pair / "bf16"), summarise_run(pair / "fp32")
    bv, fv = 100 * b["best_val_acc"], 100 * f["best_val_acc"]
    assert f"{bv:.2f}% on validation in bf16 against {fv:.2f}% in fp32" in text
    worse = b["best_val_acc"] < f["best_val_acc"] - noise_band(f["best_val_acc"], 5000)
    assert text.startswith(
        "bf16 autocast costs accuracy:" if worse else "bf16 autocast costs no accuracy beyond noise:"
    )


@pytest.mark.skipif(
    not (MLP / "part1_cifar_mlp_140ep/seed0/metrics.jsonl").exists(), reason="needs the committed MLP runs"
)
def test_the_mlp_schedule_paragraph_computes_its_noise_verdicts(tmp_path):
    """The recipe's steps (70 epochs -> 140 -> dropout 0.3 -> 200 epochs) are set against one run's noise band: a
    stand-in recipe run 3 points above the 140-epoch one on mirror-only validation is a step outside it."""
    import json

    from cs324.narrative.part1 import mirror_val, schedule

    for name in ("part1_cifar_mlp_70ep", "part1_cifar_mlp_dropout02", "part1_cifar_mlp_140ep"):
        shutil.copytree(MLP / name, tmp_path / name)
    mid = tmp_path / "part1_cifar_mlp_140ep/seed0"
    best = tmp_path / "part1_cifar_mlp_best/seed0"
    shutil.copytree(mid, best)
    records = [json.loads(line) for line in (best / "metrics.jsonl").read_text().splitlines()]
    for r in records:
        if "val_acc" in r:
            r["val_acc_flip"], r["test_acc_flip"] = r["val_acc_flip"] + 0.03, r["test_acc_flip"] - 0.01
    (best / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    chosen = summarise_run(best)
    flip = next(r["test_acc_flip"] for r in records if r["step"] == chosen["best_step"] and "val_acc" in r)
    (text,) = schedule(tmp_path, [chosen])
    assert f"reached {100 * (mirror_val(mid) + 0.03):.2f}% (+3.0 points;" in text
    assert "Two of the 3 steps are within one run's noise band" in text  # the first two steps are +1.1 and +0.4
    assert f"({100 * flip:.2f}% with the mirror alone)" in text
    assert "(dropout 0.4:" not in text  # a run not made is not described
    shutil.copytree(MLP / "part1_cifar_mlp_dropout04", tmp_path / "part1_cifar_mlp_dropout04")
    (text,) = schedule(tmp_path, [chosen])
    heavier = mirror_val(tmp_path / "part1_cifar_mlp_dropout04/seed0")
    assert f"(dropout 0.4: {100 * heavier:.2f}%, {100 * (heavier - mirror_val(mid)):+.1f} points," in text
    assert schedule(tmp_path / "nowhere", [chosen]) == []
