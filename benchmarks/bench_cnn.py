"""Part II speed on this machine: training images/s of the reduced VGG, as a share of matmul peak.

    python benchmarks/bench_cnn.py --out results/benchmarks     # minutes: writes results/benchmarks/<cpu>/cnn.md

Measured in one run: torch.matmul GFLOP/s (fp32 and bf16, 2048^3) and training steps
(forward, cross-entropy, backward, SGD with momentum) of the reduced VGG for several
settings, in interleaved rounds (medians reported), and inference-mode evaluation.
FLOPs per training image = 3 x 2 x MACs of the forward pass (from the model summary):
forward, and backward for inputs and weights.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn as nn
from machine import cpu_folder, machine_facts, matmul_gflops

from cs324.cnn.cnn_model import CNN
from cs324.summary import layer_table, totals


class TrainStep:
    """One setting's training step (forward, cross-entropy, backward, SGD with momentum), built and
    warmed up once, so that it can be timed in several rounds interleaved with the other settings."""

    def __init__(
        self,
        batch: int,
        channels_last: bool,
        bf16: bool,
        compile: bool = False,
        threads: int | None = None,
        size: int = 32,
    ) -> None:
        torch.manual_seed(0)
        self.batch, self.bf16, self.threads = batch, bf16, threads
        self.model = CNN(3, 10)
        self.x = torch.randn(batch, 3, size, size)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
            self.x = self.x.contiguous(memory_format=torch.channels_last)
        self.y = torch.randint(0, 10, (batch,))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.forward = torch.compile(self.model) if compile else self.model
        self.images_per_s(steps=2)  # torch.compile compiles at the first call (and may recompile once)

    def step(self) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            loss = nn.functional.cross_entropy(self.forward(self.x), self.y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def images_per_s(self, steps: int) -> float:
        default_threads = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step()
        seconds = time.perf_counter() - t0
        torch.set_num_threads(default_threads)
        return self.batch * steps / seconds


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
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (median reported)")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per setting per round")
    args = parser.parse_args()
    flops = {32: 3 * 2 * totals(layer_table(CNN(3, 10), (1, 3, 32, 32)))["macs"]}
    flops_per_image = flops[32]
    native_bf16 = machine_facts()["cpu_native_bf16"]
    peak16 = matmul_gflops(torch.bfloat16)
    settings = [  # name, batch, channels-last, bf16 autocast, torch.compile, threads (None: default), image side
        ("fp32 NCHW, batch 128 (plain)", 128, False, False, False, None, 32),
        ("fp32 channels-last, batch 128", 128, True, False, False, None, 32),
        ("bf16 autocast channels-last, batch 128", 128, True, True, False, None, 32),
        ("fp32 channels-last, batch 256", 256, True, False, False, None, 32),
        ("fp32 channels-last + torch.compile, batch 128", 128, True, False, True, None, 32),
        ("fp32 channels-last, batch 128, 1 thread", 128, True, False, False, 1, 32),
        ("bf16 autocast channels-last, batch 256", 256, True, True, False, None, 32),
    ]
    if not native_bf16:  # emulated bf16 runs at a few images/s: it would take the benchmark's whole time, and
        settings = [s for s in settings if not s[3]]  # the trainer keeps fp32 here anyway (--amp is ignored)
    # This machine's speed drifts by tens of percent within minutes (shared host), so every setting is
    # timed in each of --rounds rounds, interleaved with the others and with the matmul rate, and the
    # median is reported: a drift then hits all settings alike instead of whichever ran during it.
    steppers = [
        TrainStep(batch, cl, bf16, compiled, threads, size) for _, batch, cl, bf16, compiled, threads, size in settings
    ]
    per_round, peaks32 = [[] for _ in settings], []
    for _ in range(args.rounds):
        peaks32.append(matmul_gflops(torch.float32))
        for times, stepper in zip(per_round, steppers):
            times.append(stepper.images_per_s(args.steps))
    peak32 = statistics.median(peaks32)
    rows = []
    for (name, *_, size), times in zip(settings, per_round):
        ips = statistics.median(times)
        rows.append(
            {"setting": name, "size": size, "images_per_s": ips, "gflops": ips * flops[size] / 1e9, "rounds": times}
        )
    base = rows[0]["images_per_s"]
    report = {
        **machine_facts(),
        "matmul_gflops_fp32": peak32,
        "matmul_gflops_fp32_rounds": peaks32,
        "matmul_gflops_bf16": peak16,
        "train_flops_per_image": flops_per_image,
        "rows": rows,
        "eval_images_per_s": eval_images_per_s(),
    }
    out = Path(args.out) / cpu_folder()  # one folder per kind of CPU
    out.mkdir(parents=True, exist_ok=True)
    (out / "cnn.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"torch.matmul 2048^3, same run (median of {args.rounds} rounds interleaved with the {args.rounds} x "
        f"{args.steps} timed steps of each setting): fp32 {peak32:.0f} GFLOP/s, bf16 {peak16:.0f} GFLOP/s "
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
    best = max((r for r in rows if r["size"] == 32), key=lambda r: r["images_per_s"])
    ceiling = peak32 / rows[0]["gflops"]
    lines += [
        "",
        f"Fastest: {best['setting']}, {best['images_per_s'] / base:.2f}x the plain step. If a training step ran at "
        f"100% of the fp32 matmul rate it would be {ceiling:.2f}x the plain step: the ceiling for fp32 here "
        f"(bf16 native: {report['cpu_native_bf16']}).",
    ]
    if native_bf16:
        bf16 = max((r for r in rows if r["setting"].startswith("bf16")), key=lambda r: r["images_per_s"])
        lines += [
            "",
            f"bf16 autocast at its fastest ({bf16['setting']}): {bf16['images_per_s'] / base:.2f}x the plain step, "
            f"{bf16['gflops'] / peak16:.0%} of the bf16 matmul rate.",
        ]
    else:
        lines += [
            "",
            f"bf16 autocast not timed: this CPU has no native bf16 (the bf16 matmul above is emulated, "
            f"{peak16 / peak32:.2f}x fp32), and the trainer keeps fp32 here (--amp is ignored).",
        ]
    lines += ["", f"Evaluation (inference mode, channels-last, batch 500): {report['eval_images_per_s']:.0f} images/s."]
    (out / "cnn.md").write_text("\n".join(lines) + "\n")
    (out / "COMMAND_cnn.txt").write_text(f"python benchmarks/bench_cnn.py --out {args.out}\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
