"""Flags, bad input, the toy data sets, the batch order and accuracy."""

import numpy as np
import pytest
import torch
from conftest import run_module

from cs324.data.batches import batch_indices
from cs324.data.toy import TOY_DATASETS, make_toy, one_hot
from cs324.metrics import accuracy
from cs324.mlp import pytorch_train_mlp, train_mlp_numpy

BAD_ARGS = [
    (["--dnn_hidden_units", "20,abc"], "hidden units"),
    (["--dnn_hidden_units", "20,-3"], "positive"),
    (["--learning_rate", "-1"], "positive"),
    (["--learning_rate", "0"], "positive"),
    (["--max_steps", "0"], "positive integer"),
    (["--max_steps", "-5"], "positive integer"),
    (["--eval_freq", "0"], "positive integer"),
    (["--dataset", "spirals"], "invalid choice"),
]


@pytest.mark.parametrize("parser_factory", [train_mlp_numpy.build_parser, pytorch_train_mlp.build_parser])
@pytest.mark.parametrize("args,message", BAD_ARGS)
def test_bad_flags_exit_2_with_one_line(parser_factory, args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        parser_factory().parse_args(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err


def test_bad_flag_from_the_command_line():
    r = run_module("cs324.mlp.pytorch_train_mlp", "--dnn_hidden_units", "20,abc")
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_course_defaults():
    for parser in (train_mlp_numpy.build_parser(), pytorch_train_mlp.build_parser()):
        args = parser.parse_args([])
        assert (args.dnn_hidden_units, args.learning_rate, args.max_steps, args.eval_freq) == ([20], 1e-2, 1500, 10)
    assert train_mlp_numpy.build_parser().parse_args(["--dnn_hidden_units", ""]).dnn_hidden_units == []
    assert pytorch_train_mlp.build_parser().parse_args(["--dnn_hidden_units", "512,256"]).dnn_hidden_units == [
        512,
        256,
    ]


def test_numpy_trainer_cli_learns_moons_and_writes_its_run_folder(tmp_path, capsys):
    import json

    out = tmp_path / "run"
    history = train_mlp_numpy.main(["--max_steps", "1500", "--learning_rate", "0.1", "--quiet", "--out", str(out)])
    assert history.records[-1]["step"] == 1500 and history.records[-1]["test_acc"] >= 0.95
    assert [r["step"] for r in history.records[:3]] == [0, 10, 20]
    assert [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()] == history.records
    config = json.loads((out / "config.json").read_text())
    assert config["learning_rate"] == 0.1 and config["max_steps"] == 1500 and "numpy_version" in config
    with pytest.raises(SystemExit) as e:  # a second run into the same folder needs --overwrite
        train_mlp_numpy.main(["--max_steps", "10", "--quiet", "--out", str(out)])
    assert e.value.code == 2 and "--overwrite" in capsys.readouterr().err
    assert not (out / ".lock").exists()


@pytest.mark.parametrize("name", list(TOY_DATASETS))
def test_toy_datasets_are_split_and_standardised(name):
    data = make_toy(name)
    assert data.x_train.shape == (800, 2) and data.x_test.shape == (200, 2)
    np.testing.assert_allclose(data.x_train.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(data.x_train.std(0), 1, atol=1e-12)
    assert set(np.unique(data.y_train)) == set(range(data.n_classes))
    # stratified: class proportions equal in both splits
    np.testing.assert_allclose(np.bincount(data.y_train) / 800, np.bincount(data.y_test) / 200, atol=0.01)
    again = make_toy(name)
    assert np.array_equal(again.x_test, data.x_test)


def test_blobs_has_more_than_two_classes():
    assert make_toy("blobs").n_classes == 4 and make_toy("gaussian_quantiles").n_classes == 3


def test_toy_rejects_bad_values():
    with pytest.raises(ValueError, match="unknown dataset"):
        make_toy("nope")
    with pytest.raises(ValueError, match="test_size"):
        make_toy("moons", test_size=1.5)


def test_batch_order_covers_each_epoch_once():
    seen = np.concatenate([batch_indices(s, 100, 32, seed=1) for s in range(4)])
    assert sorted(seen) == list(range(100))  # 4 batches: 32+32+32+4
    assert len(batch_indices(3, 100, 32, seed=1)) == 4
    assert not np.array_equal(batch_indices(0, 100, 32, 1), batch_indices(4, 100, 32, 1))  # new epoch, new order
    assert np.array_equal(batch_indices(0, 100, 32, 1), batch_indices(0, 100, 32, 1))
    assert np.array_equal(batch_indices(7, 100, 0, 1), np.arange(100))
    assert len(batch_indices(7, 100, 1, 1)) == 1


def test_accuracy_accepts_one_hot_and_indices():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([1, 0, 0, 0])
    assert accuracy(scores, labels) == 0.75
    assert accuracy(scores, one_hot(labels, 2)) == 0.75
    assert accuracy(torch.tensor(scores), torch.tensor(labels)) == 0.75
    assert accuracy(torch.tensor(scores), torch.tensor(one_hot(labels, 2))) == 0.75
    assert pytorch_train_mlp.accuracy is accuracy


@pytest.mark.parametrize(
    "pred,target", [(np.zeros(3), np.zeros(3)), (np.zeros((3, 2)), np.zeros(4)), (np.zeros((3, 2)), np.zeros((3, 3)))]
)
def test_accuracy_rejects_bad_shapes(pred, target):
    with pytest.raises(ValueError):
        accuracy(pred, target)


def test_every_command_has_a_console_script():
    """Each module that runs as ``python -m`` is also a ``cs324-...`` command pointing at its entry point."""
    import re

    import tomllib
    from conftest import ROOT

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    targets = {target.split(":")[0] for target in scripts.values()}
    modules = {
        p.relative_to(ROOT / "src").with_suffix("").as_posix().replace("/", ".")
        for p in (ROOT / "src").rglob("*.py")
        if re.search(r'^if __name__ == "__main__":', p.read_text(), re.M)
    }
    assert modules == targets
    readme = (ROOT / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in scripts), "the README lists every console script"
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(__import__(module, fromlist=[function]), function)), target
