"""The assignment's vanilla RNN, with an explicit loop over time.

    h(t) = tanh(W_hx x(t) + W_hh h(t-1) + b_h),   h(0) = 0
    o(t) = W_ph h(t) + b_o

Only o(T) is returned (logits); the softmax of equation (3) lives in the loss
(``nn.CrossEntropyLoss``), never here. The input term W_hx x(t) has no recurrence, so
it is computed for all steps in one matrix product before the loop: the same
equations, with T small matrix products fewer inside it.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

RECURRENT_INITS = ("default", "orthogonal", "identity")


def check_sizes(**sizes: int) -> None:
    """A clear ValueError for any size below 1."""
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")


class VanillaRNN(nn.Module):
    def __init__(
        self,
        input_length: int,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        *,
        recurrent_init: str = "default",
    ) -> None:
        super().__init__()
        if recurrent_init not in RECURRENT_INITS:
            raise ValueError(f"unknown recurrent_init {recurrent_init!r}; choose from {RECURRENT_INITS}")
        check_sizes(input_length=input_length, input_dim=input_dim, hidden_dim=hidden_dim, output_dim=output_dim)
        self.input_length, self.hidden_dim = input_length, hidden_dim
        # Stored as (in, out) so that the code reads x @ W, as in the NumPy MLP.
        self.W_hx = nn.Parameter(torch.empty(input_dim, hidden_dim))
        self.W_hh = nn.Parameter(torch.empty(hidden_dim, hidden_dim))
        self.b_h = nn.Parameter(torch.empty(hidden_dim))
        self.W_ph = nn.Parameter(torch.empty(hidden_dim, output_dim))
        self.b_o = nn.Parameter(torch.empty(output_dim))
        self.reset_parameters(recurrent_init)

    def reset_parameters(self, recurrent_init: str = "default") -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) like ``nn.RNN``; optionally orthogonal or identity W_hh."""
        bound = 1.0 / math.sqrt(self.hidden_dim)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        if recurrent_init == "orthogonal":
            nn.init.orthogonal_(self.W_hh)
        elif recurrent_init == "identity":
            with torch.no_grad():
                self.W_hh.copy_(torch.eye(self.hidden_dim))
                self.b_h.zero_()

    def init_hidden(self, batch_size: int) -> torch.Tensor:
        return self.W_hh.new_zeros(batch_size, self.hidden_dim)

    def forward(self, x: torch.Tensor, return_hidden: bool = False):
        """x: (B, T-1, input_dim) -> logits (B, output_dim) of the last step.

        With ``return_hidden`` also the list of hidden states h(1..T-1), each (B, H),
        kept in the graph so that their gradients can be inspected.
        """
        if x.dim() != 3 or x.shape[-1] != self.W_hx.shape[0]:
            raise ValueError(f"expected input (batch, time, {self.W_hx.shape[0]}), got {tuple(x.shape)}")
        x_proj = x @ self.W_hx + self.b_h  # (B, T-1, H): W_hx x(t) + b_h for every t at once
        h = self.init_hidden(x.shape[0])  # (B, H)
        hidden = []
        # unbind, not x_proj[:, t]: indexing's backward writes each step's gradient into a zero tensor of
        # the whole (B, T-1, H) and sums T-1 of them, which makes the backward quadratic in T
        for x_t in x_proj.unbind(1):
            h = torch.tanh(x_t + h @ self.W_hh)  # (B, H)
            if return_hidden:
                hidden.append(h)
        logits = h @ self.W_ph + self.b_o  # (B, C)
        return (logits, hidden) if return_hidden else logits
