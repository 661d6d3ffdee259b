"""Part I Task 1: the same MLP as ``mlp_numpy.MLP``, in PyTorch. ``forward`` returns logits."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from cs324.mlp.mlp_numpy import MLP as NumpyMLP


class MLP(nn.Module):
    """Linear -> ReLU -> ... -> Linear; the softmax lives in the loss, not here."""

    def __init__(self, n_inputs: int, n_hidden: Sequence[int], n_classes: int) -> None:
        super().__init__()
        widths = [n_inputs, *n_hidden, n_classes]
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, n_inputs) -> logits (N, n_classes)."""
        return self.layers(x)

    @classmethod
    def from_numpy(cls, numpy_mlp: NumpyMLP) -> MLP:
        """A twin holding copies of ``numpy_mlp``'s weights, in its dtype."""
        linears = numpy_mlp.linears
        widths = [lin.params["weight"].shape[0] for lin in linears]
        model = cls(widths[0], widths[1:], linears[-1].params["weight"].shape[1])
        dtype = torch.from_numpy(linears[0].params["weight"]).dtype
        model.to(dtype)
        torch_linears = [m for m in model.layers if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for ours, theirs in zip(torch_linears, linears):
                ours.weight.copy_(torch.from_numpy(theirs.params["weight"].T))  # (out, in)
                ours.bias.copy_(torch.from_numpy(theirs.params["bias"]))
        return model

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
