"""The typed configs: a trainer's flags are its dataclass's fields; the library call is the command line's run."""

import argparse
import dataclasses
import json

import pytest

from cs324.cli import UsageError
from cs324.cnn import cnn_train
from cs324.config import as_dict, from_record, parser_for, typed
from cs324.mlp import cifar_mlp, pytorch_train_mlp, train_mlp_numpy
from cs324.rnn import train as rnn_train
from cs324.runfolder import read_metrics

CONFIGS = [
    (rnn_train.RNNConfig, rnn_train.build_parser),
    (pytorch_train_mlp.TorchMLPConfig, pytorch_train_mlp.build_parser),
    (train_mlp_numpy.NumpyMLPConfig, train_mlp_numpy.build_parser),
    (cnn_train.CNNConfig, lambda: cnn_train.build_parser("spec")),
    (cifar_mlp.CifarMLPConfig, lambda: cifar_mlp.build_parser("best")),
]


@pytest.mark.parametrize("cls, build_parser", CONFIGS, ids=[c.__name__ for c, _ in CONFIGS])
def test_every_field_is_a_flag_and_the_parsed_defaults_are_the_config(cls, build_parser):
    parsed = build_parser().parse_args([])
    assert list(vars(parsed)) == list(as_dict(cls())) == list(as_dict(typed(cls, parsed)))
    if cls not in (cnn_train.CNNConfig, cifar_mlp.CifarMLPConfig):  # a recipe sets those parsers' defaults
        assert typed(cls, parsed) == cls()


def test_typed_converts_checks_names_and_applies_overrides():
    config = typed(rnn_train.RNNConfig, argparse.Namespace(**as_dict(rnn_train.RNNConfig())), input_length=29)
    assert isinstance(config, rnn_train.RNNConfig) and config.input_length == 29
    with pytest.raises(UsageError, match="RNNConfig has no setting hiden, num_hiden"):
        typed(rnn_train.RNNConfig, {"num_hiden": 3}, hiden=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.input_length = 3  # nothing mutates a config: a changed one is a new one


def test_a_recorded_config_reads_back_without_its_environment_keys():
    record = as_dict(rnn_train.RNNConfig(num_hidden=7)) | {"torch_version": "2", "cpu": "x"}
    assert from_record(rnn_train.RNNConfig, record) == rnn_train.RNNConfig(num_hidden=7)


def test_help_groups_the_fields_by_the_class_that_declares_them():
    text = parser_for(rnn_train.RNNConfig).format_help()
    text = text[text.index("options:") :]  # past the usage line, which lists every flag
    trainer, runtime = text.index("Part III: the palindrome task"), text.index("runtime: where and how")
    assert trainer < text.index("--input_length") < runtime < text.index("--ckpt_every")
    assert text.index("--out") > runtime  # a trainer's own --out default stays in the runtime group


def test_the_library_call_runs_what_the_command_line_runs(tmp_path):
    """rnn main(RNNConfig(...)) and the CLI with the same flags write the same config and the same metrics."""
    flags = dict(input_length=4, dry_run=True, device="cpu", quiet=True)
    rnn_train.main(rnn_train.RNNConfig(**flags, out=str(tmp_path / "lib")))
    rnn_train.run(["--input_length", "4", "--dry_run", "--device", "cpu", "--quiet", "--out", str(tmp_path / "cli")])
    runs = [tmp_path / name for name in ("lib", "cli")]
    configs = [json.loads((r / "config.json").read_text()) for r in runs]
    assert {k: v for k, v in configs[0].items() if k != "out"} == {k: v for k, v in configs[1].items() if k != "out"}
    learned = [[(r["step"], r.get("train_loss"), r["val_acc"]) for r in read_metrics(run)] for run in runs]
    assert learned[0] == learned[1] and learned[0][-1][0] == 4
