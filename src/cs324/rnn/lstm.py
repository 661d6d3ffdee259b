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
        x_proj = x @ self.W_x + self.b  # (B, T-1, 4H), the input terms of all gates at once
        if not return_hidden:  # training: the same loop, with the whole backward written out
            return LSTMLoop.apply(x_proj, self.W_h) @ self.W_ph + self.b_p
        h, c = self.init_hidden(x.shape[0])  # (B, H) each
        hidden = []
        for x_t in x_proj.unbind(1):  # one view per step (see VanillaRNN.forward)
            h, c = LSTMCell.apply(x_t + h @ self.W_h, c)  # (B, H) each
            hidden.append(h)  # an autograd node each: dL/dh(t) can be read off them
        logits = h @ self.W_ph + self.b_p  # (B, C)
        return logits, hidden


def cell_forward(gates: torch.Tensor, c_prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple]:
    """One step's element-wise part: gate pre-activations (B, 4H) and c(t-1) -> h(t), c(t), what backward needs."""
    i, f, g, o = gates.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = torch.addcmul(f * c_prev, i, g)  # f * c(t-1) + i * g
    tanh_c = torch.tanh(c)
    return o * tanh_c, c, (i, f, g, o, c_prev, tanh_c)


def cell_backward(saved: tuple, grad_h: torch.Tensor, grad_c: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/d(gate pre-activations) and dL/dc(t-1) from dL/dh(t) and the dL/dc(t) sent back by step t+1."""
    i, f, g, o, c_prev, tanh_c = saved
    dc = grad_h * o * (1 - tanh_c * tanh_c)  # through h(t) = o * tanh(c(t))
    if grad_c is not None:
        dc = dc + grad_c
    d_gates = torch.cat(
        [
            dc * g * i * (1 - i),  # input gate, through its sigmoid
            dc * c_prev * f * (1 - f),  # forget gate
            dc * i * (1 - g * g),  # candidate, through its tanh
            grad_h * tanh_c * o * (1 - o),  # output gate
        ],
        dim=1,
    )
    return d_gates, dc * f


class LSTMCell(torch.autograd.Function):
    """One step's element-wise part as one autograd node (autograd would record ten, and four slice gradients)."""

    @staticmethod
    def forward(ctx, gates: torch.Tensor, c_prev: torch.Tensor):
        h, c, saved = cell_forward(gates, c_prev)
        ctx.save_for_backward(*saved)
        return h, c

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor | None, grad_c: torch.Tensor | None):
        saved = ctx.saved_tensors
        return cell_backward(saved, torch.zeros_like(saved[0]) if grad_h is None else grad_h, grad_c)


class LSTMLoop(torch.autograd.Function):
    """The whole recurrence, x_proj (B, L, 4H) and W_h (H, 4H) -> h(L), as one autograd node. Backward runs
    the steps in reverse (one product with W_h each, to pass dL/dh back) and then forms dL/dW_h as one large
    product over every step, instead of L small ones: the per-step work left is what the recurrence forces.
    Letting autograd record every step made a training step 2.4x slower than nn.LSTM."""

    @staticmethod
    def forward(ctx, x_proj: torch.Tensor, W_h: torch.Tensor):
        B, L, H = x_proj.shape[0], x_proj.shape[1], W_h.shape[0]
        h, c = x_proj.new_zeros(B, H), x_proj.new_zeros(B, H)
        h_prev, steps = x_proj.new_empty(B, L, H), []
        for t in range(L):
            h_prev[:, t] = h
            h, c, saved = cell_forward(torch.addmm(x_proj[:, t], h, W_h), c)  # x_proj[:, t] + h @ W_h
            steps.append(saved)
        ctx.steps = steps
        ctx.save_for_backward(h_prev, W_h)
        return h

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor):
        h_prev, W_h = ctx.saved_tensors
        d_gates = torch.empty(*h_prev.shape[:2], W_h.shape[1], dtype=grad_h.dtype, device=grad_h.device)
        W_h_T = W_h.T.contiguous()
        dh, dc = grad_h, None
        for t in reversed(range(len(ctx.steps))):
            d_gates[:, t], dc = cell_backward(ctx.steps[t], dh, dc)
            dh = d_gates[:, t] @ W_h_T
        H = W_h.shape[0]
        return d_gates, h_prev.reshape(-1, H).T @ d_gates.reshape(-1, 4 * H)
