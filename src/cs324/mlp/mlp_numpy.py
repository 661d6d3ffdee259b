"""Assignment 1's multi-layer perceptron in NumPy: Linear -> ReLU ... -> Linear -> SoftMax.

model = MLP(2, [20], 2)
probs = model.forward(x)                     # (N, 2)
loss = CrossEntropy().forward(probs, y_onehot)
model.backward(CrossEntropy().backward(probs, y_onehot))
model.sgd_step(1e-2)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from cs324.mlp.modules import Linear, ReLU, SoftMax


class MLP:
    """``n_hidden`` lists the hidden widths (may be empty: softmax regression)."""

    def __init__(
        self,
        n_inputs: int,
        n_hidden: Sequence[int],
        n_classes: int,
        *,
        seed: int | None = None,
        init_std: float | None = None,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        rng = np.random.default_rng(seed)
        widths = [n_inputs, *n_hidden, n_classes]
        self.layers: list = []
        for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:])):
            self.layers.append(Linear(d_in, d_out, init_std=init_std, rng=rng, dtype=dtype))
            if i < len(widths) - 2:
                self.layers.append(ReLU())
        self.layers.append(SoftMax())

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, n_inputs) -> class probabilities (N, n_classes)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: dL/dprobs (N, n_classes) -> dL/dx; fills every Linear's ``grads``."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    @property
    def linears(self) -> list[Linear]:
        return [layer for layer in self.layers if isinstance(layer, Linear)]

    def named_params(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """(name, value, gradient) for each parameter, e.g. ('0.weight', W, dW)."""
        for i, lin in enumerate(self.linears):
            for key in ("weight", "bias"):
                yield f"{i}.{key}", lin.params[key], lin.grads[key]

    def sgd_step(self, learning_rate: float) -> None:
        """Plain gradient descent, in place."""
        for _, value, grad in self.named_params():
            value -= learning_rate * grad

    def num_params(self) -> int:
        return sum(value.size for _, value, _ in self.named_params())
