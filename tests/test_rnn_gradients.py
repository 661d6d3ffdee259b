"""Gradients through time, read off kept run folders: the rebuilt models are the runs' own."""

import json

import numpy as np
import pytest
import torch

from cs324.rnn import gradients, sweep
from cs324.rnn.dataset import PalindromeDataset, split_indices


@pytest.fixture(scope="module")
def kept_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    sweep.main(
        "--lengths 6 --variants rnn_best lstm --seeds 0 --max_steps 60 --eval_freq 30 --data_size 500 --workers 1 "
        f"--device cpu --patience 0 --keep_runs --out {out}".split()
    )
    return out / "runs"


def test_rebuilt_initial_model_is_the_one_the_run_started_from(kept_runs):
    run = kept_runs / "rnn_best_T6_seed0"
    config, initial, trained = gradients.rebuild(run)
    data = PalindromeDataset(config.input_length, config.data_size, one_hot=config.one_hot, seed=config.seed)
    x, y = data.batch(split_indices(len(data), config.portion_train, seed=config.seed)[1])
    first = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    with torch.no_grad():
        assert (initial(x).argmax(1) == y).float().mean().item() == pytest.approx(first["val_acc"], abs=1e-6)
    assert not torch.equal(initial.W_hh, trained.W_hh)


def test_the_command_writes_norms_per_step_and_spectral_radii(kept_runs, tmp_path):
    gradients.main(["--runs", str(kept_runs), "--out", str(tmp_path)])
    measured = {m["run"]: m for m in json.loads((tmp_path / "gradients.json").read_text())}
    rnn, lstm = measured["rnn_best_T6_seed0"], measured["lstm_T6_seed0"]
    for m in (rnn, lstm):
        for key in ("grad_norm_initial", "grad_norm_trained"):
            assert len(m[key]) == 5 and np.all(np.isfinite(m[key])) and min(m[key]) > 0
    assert rnn["spectral_radius_initial"] == pytest.approx(1.0, abs=1e-6)  # orthogonal W_hh
    assert lstm["spectral_radius_initial"] is None
    assert (tmp_path / "gradients_through_time.png").stat().st_size > 10_000
