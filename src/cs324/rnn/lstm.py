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
        B, T, D = x.shape
        # The input terms of all gates for every step in one product, time-major (T, B, 4H) so that each
        # step reads and writes contiguous rows.
        x_proj = torch.addmm(self.b, x.transpose(0, 1).reshape(T * B, D), self.W_x).view(T, B, -1)
        if not return_hidden:  # training: the same loop, with the whole backward written out
            return LSTMLoop.apply(x_proj, self.W_h) @ self.W_ph + self.b_p
        h, c = self.init_hidden(B)  # (B, H) each
        hidden = []
        for x_t in x_proj.unbind(0):  # one view per step (see VanillaRNN.forward)
            h, c = LSTMCell.apply(torch.addmm(x_t, h, self.W_h), c)  # (B, H) each
            hidden.append(h)  # an autograd node each: dL/dh(t) can be read off them
        logits = h @ self.W_ph + self.b_p  # (B, C)
        return logits, hidden


def cell_forward(
    gates: torch.Tensor, c_prev: torch.Tensor, out: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, tuple]:
    """One step's element-wise part: gate pre-activations (B, 4H) and c(t-1) -> h(t) (into ``out`` if given),
    c(t), and what backward needs."""
    i, f, g, o = gates.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = torch.addcmul(f * c_prev, i, g)  # f * c(t-1) + i * g
    tanh_c = torch.tanh(c)
    return torch.mul(o, tanh_c, out=out), c, (i, f, g, o, c_prev, tanh_c)


def cell_backward(
    saved: tuple, grad_h: torch.Tensor, grad_c: torch.Tensor | None, out: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/d(gate pre-activations) (into ``out`` if given) and dL/dc(t-1), from dL/dh(t) and the dL/dc(t)
    sent back by step t+1."""
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
        out=out,
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
    """The whole recurrence, x_proj (L, B, 4H) and W_h (H, 4H) -> h(L), as one autograd node. Backward runs
    the steps in reverse (one product with W_h each, to pass dL/dh back) and then forms dL/dW_h as one large
    product over every step, instead of L small ones: the per-step work left is what the recurrence forces.
    Letting autograd record every step made a training step 2.4x slower than nn.LSTM."""

    @staticmethod
    def forward(ctx, x_proj: torch.Tensor, W_h: torch.Tensor):
        L, B, H = x_proj.shape[0], x_proj.shape[1], W_h.shape[0]
        hs, c, steps = x_proj.new_zeros(L + 1, B, H), x_proj.new_zeros(B, H), []  # hs[t] = h(t), h(0) = 0
        for t in range(L):
            _, c, saved = cell_forward(torch.addmm(x_proj[t], hs[t], W_h), c, out=hs[t + 1])
            steps.append(saved)
        ctx.steps = steps
        ctx.save_for_backward(hs, W_h)
        return hs[L].clone()  # a view of hs would tie the caller's graph to this saved buffer

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor):
        hs, W_h = ctx.saved_tensors
        L, H = len(ctx.steps), W_h.shape[0]
        d_gates = grad_h.new_empty(L, grad_h.shape[0], 4 * H)
        W_h_T = W_h.T.contiguous()
        dh, dc = grad_h, None
        for t in reversed(range(L)):
            _, dc = cell_backward(ctx.steps[t], dh, dc, out=d_gates[t])
            dh = d_gates[t] @ W_h_T
        return d_gates, hs[:L].reshape(-1, H).T @ d_gates.reshape(-1, 4 * H)
