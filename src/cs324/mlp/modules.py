"""NumPy layers of Assignment 1's MLP, written by hand: forward and backward.

Each module caches in ``forward`` exactly what its ``backward`` needs. ``backward``
never modifies ``dout`` and, for ``Linear``, *overwrites* ``grads`` (no accumulation).
Shapes: N is the batch size, D the input width, M the output width, C the classes.
"""

from __future__ import annotations

import numpy as np


class Linear:
    """Affine layer ``y = x @ W + b``.

    params['weight']: (D, M), drawn from N(0, init_std**2); default He scaling
    ``init_std = sqrt(2 / D)``, which keeps ReLU activations at unit scale (the course's
    Assignment 1 value 1e-4 is available as ``init_std=1e-4`` but trains far slower).
    params['bias']: (M,), zeros.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        init_std: float | None = None,
        rng: np.random.Generator | None = None,
        dtype: np.dtype | type = np.float64,
    ) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got {in_features}x{out_features}")
        rng = rng if rng is not None else np.random.default_rng()
        std = np.sqrt(2.0 / in_features) if init_std is None else init_std
        self.params = {
            "weight": (rng.standard_normal((in_features, out_features)) * std).astype(dtype),
            "bias": np.zeros(out_features, dtype=dtype),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, D) -> (N, M)."""
        self._x = x
        return x @ self.params["weight"] + self.params["bias"]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, M) -> dL/dx (N, D); fills ``grads`` (overwritten)."""
        x = self._x
        self.grads["weight"] = x.T @ dout  # (D, M)
        self.grads["bias"] = dout.sum(axis=0)  # (M,)
        return dout @ self.params["weight"].T


class ReLU:
    """Element-wise max(0, x)."""

    def __init__(self) -> None:
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._mask = x > 0
        return x * self._mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * self._mask


class SoftMax:
    """Row-wise softmax, stabilised by subtracting each row's max (no overflow)."""

    def __init__(self) -> None:
        self._out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C) scores -> (N, C) probabilities."""
        z = np.exp(x - x.max(axis=1, keepdims=True))
        self._out = z / z.sum(axis=1, keepdims=True)
        return self._out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Jacobian-vector product: dx_i = p_i * (dout_i - sum_j dout_j p_j)."""
        p = self._out
        return p * (dout - (dout * p).sum(axis=1, keepdims=True))


class CrossEntropy:
    """Mean cross-entropy over the batch between probabilities x (N, C) and one-hot y."""

    eps = 1e-300  # keeps log finite if a probability underflows to 0

    def forward(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(-(y * np.log(np.maximum(x, self.eps))).sum() / x.shape[0])

    def backward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """dL/dx, shape (N, C)."""
        return -y / np.maximum(x, self.eps) / x.shape[0]
