"""Part I Task 2, made exact: the NumPy and PyTorch MLPs are the same algorithm."""

import numpy as np
import pytest
import torch

from cs324.data.toy import make_toy
from cs324.mlp import pytorch_train_mlp, train_mlp_numpy
from cs324.mlp.mlp_numpy import MLP as NumpyMLP
from cs324.mlp.pytorch_mlp import MLP as TorchMLP


def train_both(batch_size: int, steps: int, hidden=(20,), lr=0.05, eval_freq=10):
    data = make_toy("moons")
    np_model = NumpyMLP(2, list(hidden), 2, seed=3)
    torch_model = TorchMLP.from_numpy(np_model)
    np_hist = train_mlp_numpy.train(
        np_model, data, learning_rate=lr, max_steps=steps, eval_freq=eval_freq, batch_size=batch_size, seed=7
    )
    config = pytorch_train_mlp.build_parser().parse_args(
        [
            "--learning_rate",
            str(lr),
            "--max_steps",
            str(steps),
            "--eval_freq",
            str(eval_freq),
            "--batch_size",
            str(batch_size),
            "--seed",
            "7",
            "--device",
            "cpu",
            "--quiet",
        ]
    )
    config.out = None
    torch_model, result = pytorch_train_mlp.train(config, model=torch_model, data=data)
    return np_model, np_hist, torch_model, result


@pytest.mark.parametrize("batch_size", [32, 1, 0])
def test_numpy_and_pytorch_agree_step_by_step(batch_size):
    np_model, np_hist, torch_model, result = train_both(batch_size, steps=200)
    assert len(np_hist.step_losses) == len(result.step_losses) == 200
    np.testing.assert_allclose(np_hist.step_losses, result.step_losses, rtol=0, atol=1e-10)
    torch_params = [p.detach().numpy() for p in torch_model.parameters()]
    numpy_params = [a for lin in np_model.linears for a in (lin.params["weight"].T, lin.params["bias"])]
    for a, b in zip(numpy_params, torch_params):
        assert a.dtype == b.dtype == np.float64
        assert np.abs(a - b).max() < 1e-10
    # the weights did move: agreement is not the trivial kind
    initial = NumpyMLP(2, [20], 2, seed=3).linears[0].params["weight"]
    assert np.abs(np_model.linears[0].params["weight"] - initial).max() > 1e-2
    # and the evaluation records agree too
    assert [r["step"] for r in np_hist.records] == [r["step"] for r in result.records]
    for a, b in zip(np_hist.records, result.records):
        assert abs(a["test_loss"] - b["test_loss"]) < 1e-10
        assert a["test_acc"] == pytest.approx(b["test_acc"], abs=1e-6)


def test_deeper_net_agrees_too():
    np_model, np_hist, torch_model, result = train_both(16, steps=50, hidden=(8, 8, 8))
    np.testing.assert_allclose(np_hist.step_losses, result.step_losses, rtol=0, atol=1e-10)


def test_both_learn_moons_to_97_percent():
    data = make_toy("moons")
    np_model, np_hist, torch_model, result = train_both(32, steps=3000, lr=0.1, eval_freq=1000)
    assert np_hist.records[-1]["test_acc"] >= 0.97
    assert result.records[-1]["test_acc"] >= 0.97
    with torch.no_grad():
        assert (
            torch_model(torch.from_numpy(data.x_test)).argmax(1).numpy() == np_model.forward(data.x_test).argmax(1)
        ).all()
