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
            # in W_h's dtype even under --amp: LSTMLoop's backward is written for one dtype, and bf16 would
            # buy its small per-step products little
            with torch.autocast(x.device.type, enabled=False):
                h = LSTMLoop.apply(x_proj.to(self.W_h.dtype), self.W_h)
            return h @ self.W_ph + self.b_p
        h, c = self.init_hidden(B)  # (B, H) each
        hidden = []
        for x_t in x_proj.unbind(0):  # one view per step (see VanillaRNN.forward)
            h, c = LSTMCell.apply(torch.addmm(x_t, h, self.W_h), c)  # (B, H) each
            hidden.append(h)  # an autograd node each: dL/dh(t) can be read off them
        logits = h @ self.W_ph + self.b_p  # (B, C)
        return logits, hidden


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) = 2 sigmoid(2x) - 1: on the CPUs of results/benchmarks torch's tanh of a (128, 128) step took
    about three times its sigmoid."""
    return torch.sigmoid(x * 2).mul_(2).sub_(1)


def cell_forward(
    gates: torch.Tensor, c_prev: torch.Tensor, out: torch.Tensor | None = None, into: tuple | None = None
) -> tuple[torch.Tensor, torch.Tensor, tuple]:
    """One step's element-wise part: gate pre-activations (B, 4H), overwritten as scratch, and c(t-1) -> h(t)
    (into ``out`` if given), c(t), and what backward needs: (sigmoids, g, c(t-1), tanh c(t)), written into the
    buffers ``into`` = (sigmoids (B, 4H), g, c(t), tanh c(t)) if given, else fresh.

    A step is a dozen small element-wise ops on (B, H) tensors, each costing microseconds of overhead: the
    four gates go through one sigmoid (the candidate's tanh as 2 sigmoid(2x) - 1). What is saved for
    backward is kept small (the sigmoids, g, c(t-1), tanh c(t))."""
    H = gates.shape[1] // 4
    s_out, g_out, c_out, tanh_out = into if into is not None else (gates, None, None, None)
    gates[:, 2 * H : 3 * H].mul_(2)
    s = torch.sigmoid(gates, out=s_out)  # [i | f | (g + 1) / 2 | o]
    i, f, g_half, o = s.chunk(4, dim=1)
    g = torch.mul(g_half, 2, out=g_out).sub_(1)
    c = torch.mul(f, c_prev, out=c_out).addcmul_(i, g)  # f * c(t-1) + i * g
    tanh_c = torch.sigmoid(c * 2, out=tanh_out).mul_(2).sub_(1)  # tanh(c), as tanh() below
    return torch.mul(o, tanh_c, out=out), c, (s, g, c_prev, tanh_c)


def cell_backward(
    saved: tuple, grad_h: torch.Tensor, grad_c: torch.Tensor | None, out: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/d(gate pre-activations) (into ``out`` if given) and dL/dc(t-1), from dL/dh(t) and the dL/dc(t)
    sent back by step t+1: five products into the four gate blocks, then one through every gate's slope."""
    s, g, c_prev, tanh_c = saved
    H = g.shape[1]
    i, f, _, o = s.chunk(4, dim=1)
    dh_dc = torch.addcmul(o, o, tanh_c * tanh_c, value=-1)  # o (1 - tanh(c)^2): through h(t) = o * tanh(c(t))
    dc = grad_h * dh_dc if grad_c is None else torch.addcmul(grad_c, grad_h, dh_dc)
    d_gates = s.new_empty(s.shape) if out is None else out
    torch.mul(dc, g, out=d_gates[:, :H])  # input gate: dc/di = g
    torch.mul(dc, c_prev, out=d_gates[:, H : 2 * H])  # forget gate: dc/df = c(t-1)
    torch.mul(dc, i, out=d_gates[:, 2 * H : 3 * H]).mul_(4)  # candidate: dc/dg = i; tanh' = 4 s (1 - s), below
    torch.mul(grad_h, tanh_c, out=d_gates[:, 3 * H :])  # output gate: dh/do = tanh(c)
    return d_gates.mul_(torch.addcmul(s, s, s, value=-1)), dc * f  # sigmoid' = s (1 - s) for every block


class LSTMCell(torch.autograd.Function):
    """One step's element-wise part as one autograd node (autograd would record ten, and four slice gradients)."""

    @staticmethod
    def forward(ctx, gates: torch.Tensor, c_prev: torch.Tensor):
        h, c, saved = cell_forward(gates.clone(), c_prev)  # the clone: cell_forward overwrites its gates
        ctx.save_for_backward(*saved)
        return h, c

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor | None, grad_c: torch.Tensor | None):
        saved = ctx.saved_tensors
        return cell_backward(saved, torch.zeros_like(saved[1]) if grad_h is None else grad_h, grad_c)


def _onednn_linear() -> bool:
    """Whether this torch build has oneDNN's linear with prepacked weights (its x86 CPU builds do)."""
    try:
        return torch.backends.mkldnn.is_available() and callable(torch.ops.mkldnn._reorder_linear_weight)
    except (AttributeError, RuntimeError):
        return False


ONEDNN = _onednn_linear()


class StepProducts:
    """The recurrence's products with W_h (H, 4H): per step x_proj[t] + h @ W_h forward and d_gates @ W_h^T
    backward, and W_h's gradient once a call. On a float32 CPU tensor they run through oneDNN with W_h packed
    once per call, as nn.LSTM's own kernel does: MKL's addmm took 2.5 times as long on these (128, 128) x
    (128, 512) shapes on the AMD EPYC of results/benchmarks. Elsewhere (float64, CUDA, builds without oneDNN)
    they are plain addmm and mm."""

    def __init__(self, W_h: torch.Tensor, batch: int) -> None:
        self.onednn = ONEDNN and W_h.dtype == torch.float32 and W_h.device.type == "cpu"
        if self.onednn:  # linear(x, w) = x @ w^T: w = W_h^T forward, W_h backward
            self.forward_w = torch.ops.mkldnn._reorder_linear_weight(W_h.T.contiguous(), batch)
            self.backward_w = torch.ops.mkldnn._reorder_linear_weight(W_h.contiguous(), batch)
        else:
            self.forward_w, self.backward_w = W_h, W_h.T.contiguous()

    def forward(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        if self.onednn:
            return torch.ops.mkldnn._linear_pointwise.binary(h, x_t, self.forward_w, None, "add")
        return torch.addmm(x_t, h, self.forward_w)

    def backward(self, d_gates: torch.Tensor) -> torch.Tensor:
        if self.onednn:
            return torch.ops.mkldnn._linear_pointwise(d_gates, self.backward_w, None, "none", [], "")
        return d_gates @ self.backward_w

    def weight_grad(self, hs: torch.Tensor, d_gates: torch.Tensor) -> torch.Tensor:
        """dL/dW_h = sum over steps of h(t-1)^T d_gates(t), as one (H, N) x (N, 4H) product over all N = L * B
        rows; through oneDNN it took half MKL's time on the AMD EPYC of results/benchmarks (both strided
        operands read in place)."""
        if self.onednn:
            return torch.ops.mkldnn._linear_pointwise(hs.T, d_gates.T, None, "none", [], "")
        return hs.T @ d_gates


class Workspace:
    """The buffers one LSTMLoop call keeps for its backward: every step's h, c, sigmoids, g and tanh c.

    Kept from one training step to the next rather than allocated per call: the 19 steps' saved tensors
    (about 9 MB at batch 128, hidden 128) were fresh memory on every call, and first touching it after the
    allocator had handed it back to the system cost about as much as the forward's arithmetic (6.1 ms
    against 3.4 ms for the same forward without keeping them, on the AMD EPYC of results/benchmarks).
    A call takes the cached workspace of its shape unless a graph still waits to use it (then a fresh one);
    each use bumps ``generation``, so a graph whose buffers a later call overwrote (a second backward under
    retain_graph, gradcheck) sees it and recomputes its forward instead of reading them."""

    _last: Workspace | None = None  # one kept: a training loop's shape; another shape (evaluation) replaces it

    def __init__(self, L: int, B: int, H: int, like: torch.Tensor) -> None:
        new = lambda *shape: like.new_empty(shape)  # noqa: E731
        self.hs, self.cs = new(L + 1, B, H), new(L + 1, B, H)  # h(t), c(t) for t = 0..L
        self.s, self.g, self.tanh_c = new(L, B, 4 * H), new(L, B, H), new(L, B, H)
        self.key, self.busy, self.generation = (L, B, H, like.dtype, like.device), False, 0

    @classmethod
    def take(cls, L: int, B: int, H: int, like: torch.Tensor) -> Workspace:
        ws = cls._last
        if ws is None or ws.busy or ws.key != (L, B, H, like.dtype, like.device):
            ws = cls(L, B, H, like)
            if cls._last is None or not cls._last.busy:
                cls._last = ws
        ws.busy, ws.generation = True, ws.generation + 1
        return ws

    def steps(self, t: int) -> tuple:
        """Step t's buffers: (sigmoids, g, c(t+1), tanh c(t+1)) to write, as ``cell_forward``'s ``into``."""
        return self.s[t], self.g[t], self.cs[t + 1], self.tanh_c[t]


class Lease:
    """One graph's hold on a workspace: ends at its backward, or when the graph is dropped without one."""

    def __init__(self, ws: Workspace) -> None:
        self.ws, self.generation = ws, ws.generation

    def valid(self) -> bool:
        """Whether the buffers still hold this graph's forward."""
        return self.ws.generation == self.generation

    def release(self) -> None:
        if getattr(self, "ws", None) is not None and self.valid():  # __del__ may meet one never initialised
            self.ws.busy = False

    __del__ = release


def recurrence(x_proj: torch.Tensor, products: StepProducts, ws: Workspace) -> None:
    """h(1..L) and c(1..L) into ``ws`` from x_proj (L, B, 4H), starting at h(0) = c(0) = 0."""
    ws.hs[0].zero_(), ws.cs[0].zero_()
    for t in range(x_proj.shape[0]):
        cell_forward(products.forward(x_proj[t], ws.hs[t]), ws.cs[t], out=ws.hs[t + 1], into=ws.steps(t))


class LSTMLoop(torch.autograd.Function):
    """The whole recurrence, x_proj (L, B, 4H) and W_h (H, 4H) -> h(L), as one autograd node. Backward runs
    the steps in reverse (one product with W_h each, to pass dL/dh back) and then forms dL/dW_h as one large
    product over every step, instead of L small ones: the per-step work left is what the recurrence forces.
    Letting autograd record every step made a training step 2.4x slower than nn.LSTM."""

    @staticmethod
    def forward(ctx, x_proj: torch.Tensor, W_h: torch.Tensor):
        L, B, H = x_proj.shape[0], x_proj.shape[1], W_h.shape[0]
        ws, products = Workspace.take(L, B, H, x_proj), StepProducts(W_h, B)
        recurrence(x_proj, products, ws)
        ctx.lease, ctx.products = Lease(ws), products  # without a graph the lease ends with ctx, at once
        ctx.save_for_backward(x_proj, W_h)  # no copies: they let backward recompute, and catch in-place edits
        return ws.hs[L].clone()  # the workspace is reused: nothing returned may alias it

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor):
        x_proj, W_h = ctx.saved_tensors
        ws = ctx.lease.ws
        if not ctx.lease.valid():  # a later call reused the buffers: recompute this graph's forward
            ws = Workspace(*x_proj.shape[:2], W_h.shape[0], x_proj)
            recurrence(x_proj, ctx.products, ws)
        L, H = x_proj.shape[0], W_h.shape[0]
        d_gates = grad_h.new_empty(L, grad_h.shape[0], 4 * H)
        dh, dc = grad_h, None
        for t in reversed(range(L)):
            saved = (ws.s[t], ws.g[t], ws.cs[t], ws.tanh_c[t])
            _, dc = cell_backward(saved, dh, dc, out=d_gates[t])
            dh = ctx.products.backward(d_gates[t])
        grad_W = ctx.products.weight_grad(ws.hs[:L].reshape(-1, H), d_gates.reshape(-1, 4 * H))
        ctx.lease.release()
        return d_gates, grad_W
