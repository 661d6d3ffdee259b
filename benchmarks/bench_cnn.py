"""Part II speed on this machine: training images/s of the reduced VGG, as a share of matmul peak.

    python benchmarks/bench_cnn.py --out results/benchmarks     # about 3 minutes on 2 cores

Measured in one run: torch.matmul GFLOP/s (fp32 and bf16, 2048^3), then training steps
(forward, cross-entropy, backward, SGD with momentum) of the reduced VGG for several
settings, and inference-mode evaluation. FLOPs per training image = 3 x 2 x MACs of
the forward pass (from the model summary): forward, and backward for inputs and weights.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn as nn
from machine import machine_facts, matmul_gflops

from cs324.cnn.cnn_model import CNN
from cs324.summary import layer_table, totals


def train_images_per_s(
    batch: int, channels_last: bool, bf16: bool, compile: bool = False, threads: int | None = None, steps: int = 8
) -> float:
    torch.manual_seed(0)
    default_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    model = CNN(3, 10)
    x = torch.randn(batch, 3, 32, 32)
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    forward = torch.compile(model) if compile else model

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = nn.functional.cross_entropy(forward(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    step()  # torch.compile compiles at the first call (and may recompile once); neither is timed
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - t0
    torch.set_num_threads(default_threads)
    return batch * steps / seconds


def eval_images_per_s(batch: int = 500, repeats: int = 3) -> float:
    model = CNN(3, 10).eval().to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        model(x)
        t0 = time.perf_counter()
        for _ in range(repeats):
            model(x)
    return batch * repeats / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/benchmarks")
    args = parser.parse_args()
    macs = totals(layer_table(CNN(3, 10), (1, 3, 32, 32)))["macs"]
    flops_per_image = 3 * 2 * macs
    peak32, peak16 = matmul_gflops(torch.float32), matmul_gflops(torch.bfloat16)
    settings = [  # name, batch, channels-last, bf16 autocast, torch.compile, threads (None: default)
        ("fp32 NCHW, batch 128 (plain)", 128, False, False, False, None),
        ("fp32 channels-last, batch 128", 128, True, False, False, None),
        ("bf16 autocast channels-last, batch 128", 128, True, True, False, None),
        ("fp32 channels-last, batch 256", 256, True, False, False, None),
        ("fp32 channels-last + torch.compile, batch 128", 128, True, False, True, None),
        ("fp32 channels-last, batch 128, 1 thread", 128, True, False, False, 1),
    ]
    rows = []
    for name, batch, cl, bf16, compiled, threads in settings:
        ips = train_images_per_s(batch, cl, bf16, compiled, threads)
        rows.append({"setting": name, "images_per_s": ips, "gflops": ips * flops_per_image / 1e9})
    base = rows[0]["images_per_s"]
    report = {
        **machine_facts(),
        "matmul_gflops_fp32": peak32,
        "matmul_gflops_bf16": peak16,
        "train_flops_per_image": flops_per_image,
        "rows": rows,
        "eval_images_per_s": eval_images_per_s(),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cnn.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"torch.matmul 2048^3, same run: fp32 {peak32:.0f} GFLOP/s, bf16 {peak16:.0f} GFLOP/s "
        f"(native bf16: {report['cpu_native_bf16']}); {report['threads']} threads; "
        f"{flops_per_image / 1e9:.2f} GFLOP per training image.",
        "",
        "| setting | train images/s | vs plain | GFLOP/s | share of fp32 matmul |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['setting']} | {r['images_per_s']:.0f} | {r['images_per_s'] / base:.2f}x | "
            f"{r['gflops']:.0f} | {r['gflops'] / peak32:.0%} |"
        )
    best = max(rows, key=lambda r: r["images_per_s"])
    ceiling = peak32 / rows[0]["gflops"]
    lines += [
        "",
        f"Fastest: {best['setting']}, {best['images_per_s'] / base:.2f}x the plain step. If a training step ran at "
        f"100% of the fp32 matmul rate it would be {ceiling:.2f}x the plain step: the ceiling for fp32 here "
        f"(bf16 native: {report['cpu_native_bf16']}).",
    ]
    lines += ["", f"Evaluation (inference mode, channels-last, batch 500): {report['eval_images_per_s']:.0f} images/s."]
    (out / "cnn.md").write_text("\n".join(lines) + "\n")
    (out / "COMMAND_cnn.txt").write_text(f"python benchmarks/bench_cnn.py --out {args.out}\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
