"""A hand-written LSTM in the same loop style as ``VanillaRNN`` (no ``nn.LSTM``).

    i = sigmoid(W_ix x + W_ih h + b_i)     input gate
    f = sigmoid(W_fx x + W_fh h + b_f)     forget gate
    g = tanh(W_gx x + W_gh h + b_g)        candidate
    o = sigmoid(W_ox x + W_oh h + b_o)     output gate
    c(t) = f * c(t-1) + i * g,   h(t) = o * tanh(c(t)),   p = W_ph h(T) + b_p

The four gates' weights sit side by side in one matrix (order i, f, g, o, as in
``nn.LSTM``), so each step is one product; the additive cell path c(t) is what lets
gradients survive long sequences.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from cs324.rnn.vanilla_rnn import check_sizes


class LSTM(nn.Module):
    def __init__(
        self, input_length: int, input_dim: int, hidden_dim: int, output_dim: int, *, forget_bias: float = 1.0
    ) -> None:
        super().__init__()
        check_sizes(input_length=input_length, input_dim=input_dim, hidden_dim=hidden_dim, output_dim=output_dim)
        self.input_length, self.hidden_dim = input_length, hidden_dim
        self.W_x = nn.Parameter(torch.empty(input_dim, 4 * hidden_dim))  # [i | f | g | o]
        self.W_h = nn.Parameter(torch.empty(hidden_dim, 4 * hidden_dim))
        self.b = nn.Parameter(torch.empty(4 * hidden_dim))
        self.W_ph = nn.Parameter(torch.empty(hidden_dim, output_dim))
        self.b_p = nn.Parameter(torch.empty(output_dim))
        self.reset_parameters(forget_bias)

    def reset_parameters(self, forget_bias: float = 1.0) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) like ``nn.LSTM``, plus ``forget_bias`` on the forget gate
        (a common trick that starts the cell remembering; 0 reproduces ``nn.LSTM``)."""
        bound = 1.0 / math.sqrt(self.hidden_dim)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)
        with torch.no_grad():
            self.b[self.hidden_dim : 2 * self.hidden_dim] += forget_bias

    def init_hidden(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = self.W_h.new_zeros(batch_size, self.hidden_dim)
        return zeros, zeros.clone()

    def forward(self, x: torch.Tensor, return_hidden: bool = False):
        """x: (B, T-1, input_dim) -> logits (B, output_dim) of the last step."""
        if x.dim() != 3 or x.shape[-1] != self.W_x.shape[0]:
            raise ValueError(f"expected input (batch, time, {self.W_x.shape[0]}), got {tuple(x.shape)}")
        H = self.hidden_dim
        x_proj = x @ self.W_x + self.b  # (B, T-1, 4H), the input terms of all gates at once
        h, c = self.init_hidden(x.shape[0])  # (B, H) each
        hidden = []
        for x_t in x_proj.unbind(1):  # one view per step (see VanillaRNN.forward)
            gates = x_t + h @ self.W_h  # (B, 4H)
            i = torch.sigmoid(gates[:, :H])
            f = torch.sigmoid(gates[:, H : 2 * H])
            g = torch.tanh(gates[:, 2 * H : 3 * H])
            o = torch.sigmoid(gates[:, 3 * H :])
            c = f * c + i * g  # (B, H)
            h = o * torch.tanh(c)  # (B, H)
            if return_hidden:
                hidden.append(h)
        logits = h @ self.W_ph + self.b_p  # (B, C)
        return (logits, hidden) if return_hidden else logits
