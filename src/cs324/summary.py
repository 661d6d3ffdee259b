"""A model summary shared by every part: layer, input and output shapes, parameters, MACs.

    rows = layer_table(CNN(3, 10), (1, 3, 32, 32))
    print(markdown(rows))

Built on ``torchinfo`` (it traces the real forward pass), flattened to the leaf layers.
MACs follow one convention in every table of this project: one multiply-accumulate per weight per
output position (``weight_macs``). Bias additions, activations and normalisation are not counted
(torchinfo's own ``mult_adds`` adds the bias, so a Linear 2->20 would read 60 instead of 40).
"""

from __future__ import annotations

import math

import torch.nn as nn


def weight_macs(module: nn.Module, output: list[int]) -> int:
    """Multiply-accumulates of a layer's weights for one forward pass producing ``output``."""
    if isinstance(module, nn.Linear):
        return module.weight.numel() * math.prod(output[:-1])
    if isinstance(module, nn.modules.conv._ConvNd):
        return module.weight.numel() * math.prod(output[:1] + output[2:])
    return 0


def torch_layer_name(module: nn.Module) -> str:
    """The torch.nn layer a module is: a subclass that only changes how it is computed (``Conv3x3``) reads as
    the layer it computes (``Conv2d``)."""
    layers = (c for c in type(module).__mro__ if c.__module__.startswith("torch.nn") and c is not nn.Module)
    return next(layers, type(module)).__name__


def layer_table(model: nn.Module, input_size: tuple[int, ...], depth: int = 3) -> list[dict]:
    """One row per leaf layer: name, type, input shape, output shape, parameters, MACs."""
    from torchinfo import summary

    stats = summary(
        model,
        input_size=input_size,
        depth=depth,
        verbose=0,
        device="cpu",
        col_names=("input_size", "output_size", "num_params", "mult_adds"),
    )
    rows = []
    for info in stats.summary_list:
        if info.children and info.depth < depth:  # containers: their leaves are listed instead
            continue
        if info.is_recursive:
            continue
        rows.append(
            {
                "layer": torch_layer_name(info.module),
                "var_name": info.var_name,
                "input": list(info.input_size),
                "output": list(info.output_size),
                "params": int(info.num_params) if info.depth == depth or not info.children else 0,
                "macs": weight_macs(info.module, list(info.output_size)),
            }
        )
    return rows


def totals(rows: list[dict]) -> dict:
    return {"params": sum(r["params"] for r in rows), "macs": sum(r["macs"] for r in rows)}


def markdown(rows: list[dict]) -> str:
    lines = ["| # | layer | input | output | parameters | MACs |", "|---|---|---|---|---|---|"]
    for i, r in enumerate(rows, 1):
        lines.append(
            f"| {i} | {r['layer']} | {'x'.join(map(str, r['input']))} | {'x'.join(map(str, r['output']))} | "
            f"{r['params']:,} | {r['macs']:,} |"
        )
    t = totals(rows)
    lines.append(f"| | **total** | | | **{t['params']:,}** | **{t['macs']:,}** |")
    return "\n".join(lines) + "\n"
