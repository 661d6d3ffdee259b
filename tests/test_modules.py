"""Gradient checks of the NumPy layers and MLP: central differences, and PyTorch in float64."""

import numpy as np
import pytest
import torch

from cs324.mlp.mlp_numpy import MLP
from cs324.mlp.modules import CrossEntropy, Linear, ReLU, SoftMax
from cs324.mlp.pytorch_mlp import MLP as TorchMLP


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_grad(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences of the scalar f() with respect to x, perturbed in place."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


SHAPES = [(1, 3, 4), (5, 2, 7), (8, 6, 3)]


@pytest.mark.parametrize("n,d,m", SHAPES)
def test_linear_gradients(n, d, m):
    rng = np.random.default_rng(n * 100 + d)
    layer = Linear(d, m, rng=rng)
    layer.params["bias"] = rng.standard_normal(m)
    x = rng.standard_normal((n, d))
    dout = rng.standard_normal((n, m))
    out = layer.forward(x)
    assert out.shape == (n, m)
    dx = layer.backward(dout)

    def f():
        return float((layer.forward(x) * dout).sum())

    assert rel_error(dx, numerical_grad(f, x)) < 1e-6
    assert rel_error(layer.grads["weight"], numerical_grad(f, layer.params["weight"])) < 1e-6
    assert rel_error(layer.grads["bias"], numerical_grad(f, layer.params["bias"])) < 1e-6


@pytest.mark.parametrize("module", [ReLU, SoftMax])
@pytest.mark.parametrize("n,d", [(1, 4), (6, 3)])
def test_elementwise_gradients(module, n, d):
    rng = np.random.default_rng(n + d)
    layer = module()
    x = rng.standard_normal((n, d)) * 3
    x[np.abs(x) < 1e-3] = 0.5  # keep away from ReLU's kink
    dout = rng.standard_normal((n, d))
    layer.forward(x)
    dout_copy = dout.copy()
    dx = layer.backward(dout)
    assert np.array_equal(dout, dout_copy), "backward must not modify dout"

    def f():
        return float((layer.forward(x) * dout).sum())

    assert rel_error(dx, numerical_grad(f, x)) < 1e-6


def test_softmax_is_stable_for_huge_scores():
    p = SoftMax().forward(np.array([[1000.0, 0.0, -1000.0], [1e308, 1e308, 0.0]]))
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(1), 1.0)
    np.testing.assert_allclose(p[1, :2], 0.5)


@pytest.mark.parametrize("n,c", [(1, 2), (7, 5)])
def test_cross_entropy_value_and_gradient(n, c):
    rng = np.random.default_rng(c)
    probs = SoftMax().forward(rng.standard_normal((n, c)))
    y = np.eye(c)[rng.integers(0, c, n)]
    ce = CrossEntropy()
    expected = -np.mean(np.log(probs[y.astype(bool)]))
    assert ce.forward(probs, y) == pytest.approx(expected, rel=1e-12)
    assert rel_error(ce.backward(probs, y), numerical_grad(lambda: ce.forward(probs, y), probs)) < 1e-6


@pytest.mark.parametrize("hidden", [[], [5], [6, 4]])
@pytest.mark.parametrize("n", [1, 9])
def test_mlp_gradients_match_finite_differences_and_pytorch(hidden, n):
    rng = np.random.default_rng(len(hidden) * 10 + n)
    model = MLP(3, hidden, 4, seed=1)
    for lin in model.linears:  # non-zero biases exercise every gradient path
        lin.params["bias"] = rng.standard_normal(lin.params["bias"].shape) * 0.1
    x = rng.standard_normal((n, 3))
    y = np.eye(4)[rng.integers(0, 4, n)]
    ce = CrossEntropy()
    probs = model.forward(x)
    dx = model.backward(ce.backward(probs, y))

    def f():
        return ce.forward(model.forward(x), y)

    assert rel_error(dx, numerical_grad(f, x)) < 1e-6
    for name, value, grad in model.named_params():
        assert rel_error(grad, numerical_grad(f, value)) < 1e-6, name

    # Second witness: PyTorch autograd on the same weights, float64.
    twin = TorchMLP.from_numpy(model)
    xt = torch.from_numpy(x).requires_grad_()
    loss = torch.nn.functional.cross_entropy(twin(xt), torch.from_numpy(y.argmax(1)))
    loss.backward()
    assert abs(loss.item() - f()) < 1e-12
    np.testing.assert_allclose(xt.grad.numpy(), dx, atol=1e-12)
    torch_grads = [p.grad.numpy() for p in twin.parameters()]
    numpy_grads = [g for lin in model.linears for g in (lin.grads["weight"].T, lin.grads["bias"])]
    for a, b in zip(torch_grads, numpy_grads):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_float32_is_selectable():
    model = MLP(2, [4], 3, seed=0, dtype=np.float32)
    assert model.forward(np.zeros((2, 2), np.float32)).dtype == np.float32


def test_linear_rejects_bad_sizes():
    with pytest.raises(ValueError, match="positive"):
        Linear(0, 3)
