"""A hand-written LSTM in the same loop style as ``VanillaRNN`` (no ``nn.LSTM``).

    i = sigmoid(W_ix x + W_ih h + b_i)     input gate
    f = sigmoid(W_fx x + W_fh h + b_f)     forget gate
    g = tanh(W_gx x + W_gh h + b_g)        candidate
    o = sigmoid(W_ox x + W_oh h + b_o)     output gate
    c(t) = f * c(t-1) + i * g,   h(t) = o * tanh(c(t)),   p = W_ph h(T) + b_p

The four gates' weights sit side by side in one matrix (order i, f, g, o, as in
``nn.LSTM``), so each step is one product; the additive cell path c(t) is what lets
gradients survive long sequences.

Training runs the whole recurrence as one autograd node (``LSTMLoop``) with its backward
written out; ``forward(x, return_hidden=True)`` runs it step by step through autograd
instead, so that dL/dh(t) can be read off every step. Tests hold both to ``nn.LSTM``.
"""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace
from typing import NamedTuple

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
        # tanh(a_g) = 2 sigmoid(2 a_g) - 1: with the candidate's columns doubled, one sigmoid serves all four
        # gates (see cell_forward); autograd carries the factor back to the weights' gradients
        scale = torch.ones(4 * hidden_dim)
        scale[2 * hidden_dim : 3 * hidden_dim] = 2.0
        self.register_buffer("gate_scale", scale, persistent=False)

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
        # [W_h; W_x; b] (H + D + 1, 4H): the gates of [h(t-1) | x(t) | 1], the candidate's columns doubled
        W = torch.cat([self.W_h, self.W_x, self.b[None]]) * self.gate_scale
        if not return_hidden:  # training: the same recurrence, with the whole backward written out
            # in float32 even under --amp: LSTMLoop's backward is written for one dtype, and bf16 would buy its
            # small per-step products little
            with torch.autocast(x.device.type, enabled=False):
                h = LSTMLoop.apply(x.transpose(0, 1).to(W.dtype), W)
            return h @ self.W_ph + self.b_p
        W_h, W_x, b = W[: self.hidden_dim], W[self.hidden_dim : -1], W[-1]
        # The input terms of all gates for every step in one product, time-major (T, B, 4H).
        x_proj = torch.addmm(b, x.transpose(0, 1).reshape(T * B, D), W_x).view(T, B, -1)
        h, C = self.init_hidden(B)  # h(0) and 2c(0), (B, H) each
        hidden = []
        for x_t in x_proj.unbind(0):  # one view per step (see VanillaRNN.forward)
            h, C = LSTMCell.apply(torch.addmm(x_t, h, W_h), C)  # (B, H) each
            hidden.append(h)  # an autograd node each: dL/dh(t) can be read off them
        logits = h @ self.W_ph + self.b_p  # (B, C)
        return logits, hidden


@functools.cache
def constants(dtype: torch.dtype, device: torch.device) -> SimpleNamespace:
    """0-dim constants for the cell's fused ops: a Python number would be wrapped into a tensor and converted
    on every call (a third of a small op's time)."""
    new = lambda value: torch.tensor(value, dtype=dtype, device=device)  # noqa: E731
    return SimpleNamespace(zero=new(0.0), minus_one=new(-1.0), minus_two=new(-2.0))


class Step(NamedTuple):
    """One step's tensors: the four gates' sigmoids ``s`` = [i | f | sigmoid(2 a_g) | o] (B, 4H) with their
    blocks, 2g, 2c(t-1), 2c(t), tanh c(t) and h(t)."""

    s: torch.Tensor
    i: torch.Tensor
    f: torch.Tensor
    s_g: torch.Tensor
    o: torch.Tensor
    G: torch.Tensor  # 2 g
    C_prev: torch.Tensor  # 2 c(t-1)
    C: torch.Tensor  # 2 c(t)
    T: torch.Tensor  # tanh c(t)
    h: torch.Tensor

    @classmethod
    def of(cls, s, G, C_prev, C, T, h) -> Step:
        return cls(s, *s.chunk(4, dim=1), G, C_prev, C, T, h)

    @classmethod
    def fresh(cls, s: torch.Tensor, C_prev: torch.Tensor) -> Step:
        new = lambda: torch.empty_like(C_prev)  # noqa: E731
        return cls.of(s, new(), C_prev, new(), new(), new())


class Scratch(NamedTuple):
    """Backward's buffers, kept across steps: u = dh/dc, dC, the four blocks of d(gates) before the gates'
    slopes, the slopes, and dL/d(2c(t-1)) handed to the step before."""

    u: torch.Tensor
    dC: torch.Tensor
    blocks: torch.Tensor
    blk_i: torch.Tensor
    blk_f: torch.Tensor
    blk_g: torch.Tensor
    blk_o: torch.Tensor
    slope: torch.Tensor
    carry: torch.Tensor

    @classmethod
    def like(cls, C: torch.Tensor) -> Scratch:
        B, H = C.shape
        blocks, new = C.new_empty(B, 4 * H), lambda: torch.empty_like(C)  # noqa: E731
        return cls(new(), new(), blocks, *blocks.chunk(4, dim=1), torch.empty_like(blocks), new())


def cell_forward(st: Step) -> None:
    """One step's element-wise part after the gates' sigmoids: 2g, 2c(t), tanh c(t) and h(t) into ``st``.

    tanh(x) = 2 sigmoid(2x) - 1, and torch's tanh of a (128, 128) step took five times its sigmoid on the AMD
    EPYC of results/benchmarks. So the candidate's pre-activations arrive doubled (``LSTM.forward`` scales its
    columns of the weights), one sigmoid serves all four gates, and the cell state is carried doubled,
    C = 2c, so that tanh c(t) is one more sigmoid. The 0-dim constants keep Python numbers out of the ops:
    each would be wrapped into a tensor and converted on every call (a third of a small op's time)."""
    k = constants(st.s.dtype, st.s.device)
    torch.add(k.minus_two, st.s_g, alpha=4, out=st.G)  # 2g = 2 tanh(a_g) = 4 sigmoid(2 a_g) - 2
    torch.mul(st.f, st.C_prev, out=st.C).addcmul_(st.i, st.G)  # 2c(t) = f * 2c(t-1) + i * 2g
    torch.sigmoid(st.C, out=st.T)
    torch.add(k.minus_one, st.T, alpha=2, out=st.T)  # tanh c(t) = 2 sigmoid(2c(t)) - 1
    torch.mul(st.o, st.T, out=st.h)  # h(t) = o * tanh c(t)


def cell_backward(st: Step, dh: torch.Tensor, dC: torch.Tensor, d_a: torch.Tensor, w: Scratch) -> torch.Tensor:
    """From dL/dh(t) and dL/d(2c(t)) sent back by step t+1: dL/d(gate pre-activations) into ``d_a`` (B, 4H),
    and dL/d(2c(t-1)) (in ``w.carry``). Five products into the four gate blocks, then one through every gate's
    slope."""
    k = constants(dh.dtype, dh.device)
    torch.mul(st.T, st.T, out=w.u)
    torch.addcmul(st.o, st.o, w.u, value=-1, out=w.u)  # dh/dc = o (1 - tanh^2 c)
    torch.addcmul(dC, dh, w.u, value=0.5, out=w.dC)  # dL/d(2c(t)): through h(t) too, at half the slope
    torch.mul(w.dC, st.G, out=w.blk_i)  # input gate: d(2c)/di = 2g
    torch.mul(w.dC, st.C_prev, out=w.blk_f)  # forget gate: d(2c)/df = 2c(t-1)
    torch.addcmul(k.zero, w.dC, st.i, value=4, out=w.blk_g)  # candidate: d(2c)/d(2g) = i, and 2g = 4 s - 2
    torch.mul(dh, st.T, out=w.blk_o)  # output gate: dh/do = tanh c
    torch.addcmul(st.s, st.s, st.s, value=-1, out=w.slope)  # sigmoid' = s (1 - s), every block
    torch.mul(w.blocks, w.slope, out=d_a)
    return torch.mul(w.dC, st.f, out=w.carry)  # d(2c(t))/d(2c(t-1)) = f


class LSTMCell(torch.autograd.Function):
    """One step's element-wise part as one autograd node (autograd would record ten, and four slice gradients):
    (gate pre-activations a, 2c(t-1)) -> (h(t), 2c(t))."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, C_prev: torch.Tensor):
        st = Step.fresh(torch.sigmoid(a), C_prev)
        cell_forward(st)
        ctx.save_for_backward(st.s, st.G, C_prev, st.T)
        return st.h, st.C

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor | None, grad_C: torch.Tensor | None):
        s, G, C_prev, T = ctx.saved_tensors
        st = Step.of(s, G, C_prev, None, T, None)
        dh = torch.zeros_like(T) if grad_h is None else grad_h
        dC = torch.zeros_like(T) if grad_C is None else grad_C
        d_a = torch.empty_like(s)
        return d_a, cell_backward(st, dh, dC, d_a, Scratch.like(T))


def _onednn_linear() -> bool:
    """Whether this torch build has oneDNN's linear with prepacked weights (its x86 CPU builds do)."""
    try:
        return torch.backends.mkldnn.is_available() and callable(torch.ops.mkldnn._reorder_linear_weight)
    except (AttributeError, RuntimeError):
        return False


ONEDNN = _onednn_linear()


class StepProducts:
    """The recurrence's products with W = [W_h; W_x; b] (H + D + 1, 4H): per step the gates' sigmoids of
    [h(t-1) | x(t) | 1] @ W forward and d(gates) @ W_h^T backward, and W's gradient once a call.

    On a float32 CPU tensor they run through oneDNN with the weights packed once per call, as nn.LSTM's own
    kernel does, and the forward product carries the sigmoid as a fused post-op: MKL's addmm took 2.5 times
    as long on these (128, 128) x (128, 512) shapes on the AMD EPYC of results/benchmarks, and the input terms
    as their own product (hoisted out of the loop) and sigmoid cost a step more than the two extra rows of W.
    Elsewhere (float64, CUDA, builds without oneDNN) they are plain products."""

    def __init__(self, W: torch.Tensor, H: int, batch: int) -> None:
        self.onednn = ONEDNN and W.dtype == torch.float32 and W.device.type == "cpu"
        W_h = W[:H]
        if self.onednn:  # linear(x, w) = x @ w^T: w = W^T forward, W_h backward
            self.forward_w = torch.ops.mkldnn._reorder_linear_weight(W.T.contiguous(), batch)
            self.backward_w = torch.ops.mkldnn._reorder_linear_weight(W_h.contiguous(), batch)
        else:
            self.forward_w, self.backward_w = W, W_h.T.contiguous()

    def gates(self, hx: torch.Tensor) -> torch.Tensor:
        """The four gates' sigmoids (B, 4H) of one step's [h(t-1) | x(t) | 1] (B, H + D + 1)."""
        if self.onednn:
            return torch.ops.mkldnn._linear_pointwise(hx, self.forward_w, None, "sigmoid", [], "")
        return torch.sigmoid(hx @ self.forward_w)

    def backward(self, d_a: torch.Tensor) -> torch.Tensor:
        if self.onednn:
            return torch.ops.mkldnn._linear_pointwise(d_a, self.backward_w, None, "none", [], "")
        return d_a @ self.backward_w

    def weight_grad(self, hx: torch.Tensor, d_a: torch.Tensor) -> torch.Tensor:
        """dL/dW = sum over steps of [h(t-1) | x(t) | 1]^T d(gates)(t), as one (H + D + 1, N) x (N, 4H) product
        over all N = L * B rows; through oneDNN it took half MKL's time on the AMD EPYC of results/benchmarks
        (both strided operands read in place)."""
        if self.onednn:
            return torch.ops.mkldnn._linear_pointwise(hx.T, d_a.T, None, "none", [], "")
        return hx.T @ d_a


class Workspace:
    """The buffers one LSTMLoop call keeps for its backward: every step's [h | x | 1], 2c, 2g, tanh c and
    sigmoids (``steps``), and backward's dL/d(gates) and scratch.

    Kept from one training step to the next rather than allocated per call: the 19 steps' saved tensors
    (about 9 MB at batch 128, hidden 128) were fresh memory on every call, and first touching it after the
    allocator had handed it back to the system cost about as much as the forward's arithmetic (6.1 ms
    against 3.4 ms for the same forward without keeping them, on the AMD EPYC of results/benchmarks).
    A call takes the cached workspace of its shape unless a graph still waits to use it (then a fresh one);
    each use bumps ``generation``, so a graph whose buffers a later call overwrote (a second backward under
    retain_graph, gradcheck) sees it and recomputes its forward instead of reading them."""

    _last: Workspace | None = None  # one kept: a training loop's shape; another shape (evaluation) replaces it

    def __init__(self, L: int, B: int, H: int, D: int, like: torch.Tensor) -> None:
        new = lambda *shape: like.new_empty(shape)  # noqa: E731
        self.hx = new(L + 1, B, H + D + 1)  # [h(t) | x(t+1) | 1] for t = 0..L: step t + 1 multiplies row t
        self.hx[:, :, H + D] = 1
        self.Cs, self.G, self.T = new(L + 1, B, H), new(L, B, H), new(L, B, H)  # 2c(t) for t = 0..L
        self.d_a, self.scratch, self.zeros = new(L, B, 4 * H), Scratch.like(self.G[0]), like.new_zeros(B, H)
        # every step's views, cut once: step t + 1 reads row t of hx and writes h(t + 1) into row t + 1
        self.rows, self.d_rows = self.hx.unbind(0), self.d_a.unbind(0)
        self.state = [(self.G[t], self.Cs[t], self.Cs[t + 1], self.T[t], self.hx[t + 1, :, :H]) for t in range(L)]
        self.steps: list[Step] = []  # the last call's, for its backward
        self.key, self.busy, self.generation = (L, B, H, D, like.dtype, like.device), False, 0

    @classmethod
    def take(cls, L: int, B: int, H: int, D: int, like: torch.Tensor) -> Workspace:
        ws = cls._last
        if ws is None or ws.busy or ws.key != (L, B, H, D, like.dtype, like.device):
            ws = cls(L, B, H, D, like)
            if cls._last is None or not cls._last.busy:
                cls._last = ws
        ws.busy, ws.generation = True, ws.generation + 1
        return ws


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


def recurrence(x: torch.Tensor, products: StepProducts, ws: Workspace) -> None:
    """Every step's state into ``ws`` from x (L, B, D), starting at h(0) = c(0) = 0."""
    L, H, D = x.shape[0], ws.G.shape[2], x.shape[2]
    ws.hx[:L, :, H : H + D] = x
    ws.hx[0, :, :H].zero_(), ws.Cs[0].zero_()
    ws.steps = []
    for row, state in zip(ws.rows, ws.state):
        st = Step.of(products.gates(row), *state)
        cell_forward(st)  # writes h(t + 1) into the next step's row of hx
        ws.steps.append(st)


class LSTMLoop(torch.autograd.Function):
    """The whole recurrence, x (L, B, D) and W = [W_h; W_x; b] (H + D + 1, 4H) -> h(L), as one autograd node.
    Backward runs the steps in reverse (one product with W_h each, to pass dL/dh back) and then forms dL/dW as
    one large product over every step, instead of L small ones: the per-step work left is what the recurrence
    forces. Letting autograd record every step made a training step 2.4x slower than nn.LSTM."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, W: torch.Tensor):
        (L, B, D), H = x.shape, W.shape[0] - x.shape[2] - 1
        ws, products = Workspace.take(L, B, H, D, x), StepProducts(W, H, B)
        recurrence(x, products, ws)
        ctx.lease, ctx.products = Lease(ws), products  # without a graph the lease ends with ctx, at once
        ctx.save_for_backward(x, W)  # no copies: they let backward recompute, and catch in-place edits
        return ws.hx[L, :, :H].clone()  # the workspace is reused: nothing returned may alias it

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor):
        x, W = ctx.saved_tensors
        (L, B, D), H = x.shape, W.shape[0] - x.shape[2] - 1
        ws = ctx.lease.ws
        if not ctx.lease.valid():  # a later call reused the buffers: recompute this graph's forward
            ws = Workspace(L, B, H, D, x)
            recurrence(x, ctx.products, ws)
        dh, dC, d_a = grad_h, ws.zeros, ws.d_a  # no gradient reaches 2c(L) but through h(L)
        for t in reversed(range(L)):
            dC = cell_backward(ws.steps[t], dh, dC, ws.d_rows[t], ws.scratch)
            if t:  # dL/dh(0) is not needed: h(0) = 0 is no input
                dh = ctx.products.backward(ws.d_rows[t])
        grad_W = ctx.products.weight_grad(ws.hx[:L].reshape(L * B, -1), d_a.reshape(L * B, -1))
        grad_x = d_a @ W[H : H + D].T if ctx.needs_input_grad[0] else None  # (L, B, D)
        ctx.lease.release()
        return grad_x, grad_W
