"""How matrix dimensions change through one training step, traced on the real models.

    rows = trace_torch(CNN(3, 10), torch.zeros(32, 3, 32, 32), torch.zeros(32, dtype=torch.long))
    rows = trace_numpy_mlp(MLP(2, [20], 2), batch=32)
    rows = trace_recurrent(VanillaRNN(4, 1, 128, 10), batch=128)

Each row: layer, forward input and output shapes, the shape of the gradient flowing back
into the layer's output (dL/dout) and out of it (dL/din), and its parameter gradients.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn


def _shape(t) -> str:
    if t is None:
        return "-"
    return "x".join(map(str, tuple(t.shape))) if len(t.shape) else "scalar"


def trace_torch(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> list[dict]:
    """Forward and backward shapes of every leaf module for one cross-entropy step."""
    rows: list[dict] = []
    index: dict[nn.Module, dict] = {}
    handles = []
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    for name, module in leaves:

        def forward_hook(mod, inp, out, name=name):
            row = {
                "layer": f"{name} ({type(mod).__name__})",
                "input": _shape(inp[0]),
                "output": _shape(out),
                "grad_output": "-",
                "grad_input": "-",
                "param_grads": "",
            }
            index[mod] = row
            rows.append(row)

        def backward_hook(mod, grad_in, grad_out):
            row = index[mod]
            row["grad_output"] = _shape(grad_out[0])
            row["grad_input"] = _shape(grad_in[0]) if grad_in and grad_in[0] is not None else "-"

        handles.append(module.register_forward_hook(forward_hook))
        handles.append(module.register_full_backward_hook(backward_hook))
    # backward hooks cannot watch in-place ops (ReLU(inplace=True)): switch them off meanwhile
    inplace = {m: m.inplace for _, m in leaves if getattr(m, "inplace", False)}
    for m in inplace:
        m.inplace = False
    inputs = inputs.clone().requires_grad_(True)  # so that the first layer reports dL/dinput too
    was_training = model.training
    model.train()
    try:
        loss = nn.functional.cross_entropy(model(inputs), targets)
        model.zero_grad(set_to_none=True)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
        for m, value in inplace.items():
            m.inplace = value
        model.train(was_training)
    for mod, row in index.items():
        row["param_grads"] = ", ".join(
            f"{n}: {_shape(p.grad)}" for n, p in mod.named_parameters() if p.grad is not None
        )
    return rows


def trace_numpy_mlp(model, batch: int = 32, seed: int = 0) -> list[dict]:
    """The same trace for the NumPy MLP, layer by layer (dL/dout of the softmax comes from the loss)."""
    from cs324.mlp.modules import CrossEntropy, Linear

    rng = np.random.default_rng(seed)
    n_in = model.linears[0].params["weight"].shape[0]
    n_out = model.linears[-1].params["weight"].shape[1]
    x = rng.standard_normal((batch, n_in))
    y = np.eye(n_out)[rng.integers(0, n_out, batch)]
    rows, activations = [], [x]
    for layer in model.layers:
        activations.append(layer.forward(activations[-1]))
        rows.append(
            {"layer": type(layer).__name__, "input": _shape(activations[-2]), "output": _shape(activations[-1])}
        )
    dout = CrossEntropy().backward(activations[-1], y)
    for row, layer in zip(reversed(rows), reversed(model.layers)):
        row["grad_output"] = _shape(dout)
        dout = layer.backward(dout)
        row["grad_input"] = _shape(dout)
        row["param_grads"] = (
            f"weight: {_shape(layer.grads['weight'])}, bias: {_shape(layer.grads['bias'])}"
            if isinstance(layer, Linear)
            else ""
        )
    return rows


def trace_recurrent(model: nn.Module, batch: int = 128) -> list[dict]:
    """Per time step (unrolled): h(t) forward, dL/dh(t) backward; then the parameter gradients."""
    steps = model.input_length
    input_dim = next(p for n, p in model.named_parameters() if n in ("W_hx", "W_x")).shape[0]
    x = torch.zeros(batch, steps, input_dim)
    x[..., 0] = 1.0
    y = torch.zeros(batch, dtype=torch.long)
    logits, hidden = model(x, return_hidden=True)
    for h in hidden:
        h.retain_grad()
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(logits, y).backward()
    rows = [
        {
            "layer": f"t={t + 1}",
            "input": f"x(t): {batch}x{input_dim}, h(t-1): {_shape(h)}",
            "output": f"h(t): {_shape(h)}",
            "grad_output": _shape(h.grad),
            "grad_input": "",
            "param_grads": "",
        }
        for t, h in enumerate(hidden)
    ]
    rows.append(
        {
            "layer": "output o(T) = W_ph h(T) + b",
            "input": _shape(hidden[-1]),
            "output": _shape(logits),
            "grad_output": f"{batch}x{logits.shape[1]}",
            "grad_input": _shape(hidden[-1].grad),
            "param_grads": ", ".join(f"{n}: {_shape(p.grad)}" for n, p in model.named_parameters()),
        }
    )
    return rows


def parameter_table(model: nn.Module) -> list[dict]:
    """Name, shape and count of every parameter (for models that hold raw parameters, like the RNNs)."""
    return [{"name": n, "shape": "x".join(map(str, p.shape)), "count": p.numel()} for n, p in model.named_parameters()]


def numpy_mlp_table(model) -> list[dict]:
    """Layer table of the NumPy MLP for one sample: shapes, parameter shapes and counts, MACs."""
    rows, width = [], model.linears[0].params["weight"].shape[0]
    for layer in model.layers:
        params = getattr(layer, "params", {})
        out = params["weight"].shape[1] if "weight" in params else width
        rows.append(
            {
                "layer": type(layer).__name__,
                "input": f"1x{width}",
                "output": f"1x{out}",
                "param_shapes": ", ".join(f"{k}: {_shape(v)}" for k, v in params.items()),
                "params": sum(v.size for v in params.values()),
                "macs": int(params["weight"].size) if "weight" in params else 0,
            }
        )
        width = out
    return rows


def recurrent_table(model: nn.Module) -> list[dict]:
    """Layer table of VanillaRNN / LSTM for one sequence of T-1 steps: what each product does per step."""
    steps, hidden = model.input_length, model.hidden_dim
    named = dict(model.named_parameters())
    w_in = named.get("W_hx", named.get("W_x"))
    w_rec = named.get("W_hh", named.get("W_h"))
    bias = named.get("b_h", named.get("b"))
    head_b = named.get("b_o", named.get("b_p"))
    gates = w_in.shape[1]  # H for the RNN, 4H for the LSTM
    in_dim, classes = w_in.shape[0], named["W_ph"].shape[1]
    return [
        {
            "layer": f"input projection x(t) W, {steps} steps",
            "input": f"{steps}x{in_dim}",
            "output": f"{steps}x{gates}",
            "param_shapes": f"{_shape(w_in)}, bias {_shape(bias)}",
            "params": w_in.numel() + bias.numel(),
            "macs": steps * w_in.numel(),
        },
        {
            "layer": f"recurrence h(t-1) W, {steps} steps",
            "input": f"1x{hidden}",
            "output": f"1x{gates}",
            "param_shapes": _shape(w_rec),
            "params": w_rec.numel(),
            "macs": steps * w_rec.numel(),
        },
        {
            "layer": "output o(T) = h(T) W_ph + b",
            "input": f"1x{hidden}",
            "output": f"1x{classes}",
            "param_shapes": f"{_shape(named['W_ph'])}, bias {_shape(head_b)}",
            "params": named["W_ph"].numel() + head_b.numel(),
            "macs": named["W_ph"].numel(),
        },
    ]
