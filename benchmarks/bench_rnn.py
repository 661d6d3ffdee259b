"""Part III speed: the hand-written loops against torch.nn.RNN / nn.LSTM of the same size.

    python benchmarks/bench_rnn.py --out results/benchmarks     # about a minute: writes results/benchmarks/<cpu>/rnn.md

One training step (forward, cross-entropy on the last step, backward, RMSprop) at
batch 128, hidden 128, T=20 (19 input digits), measured in one run on every device
present; ratios > 1 mean the hand-written loop is slower than cuDNN/ATen's fused RNN.
Each step's GFLOP/s (its matrix products: forward, and twice that for the backward) is
set against the fp32 matmul rate measured in the same run at the same thread count: the
machine's own limit. Each hand-written loop is timed in alternation with its torch.nn
counterpart, and its ratio is the median of 15 rounds' ratios (``machine.paired_seconds``).
Tables go to a folder named by the CPU model and the instruction set torch dispatches (one
per kind of machine).

torch.compile is measured on the LSTM's step-by-step path (``return_hidden=True``, one
autograd node a step): the training path's packed oneDNN weights are rebuilt every call,
and inductor refuses them ("weight must be a graph constant").
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn as nn
from machine import cpu_folder, machine_facts, matmul_gflops, paired_seconds

from cs324.rnn.lstm import LSTM
from cs324.rnn.vanilla_rnn import VanillaRNN


class TorchRecurrent(nn.Module):
    """nn.RNN / nn.LSTM plus a linear head on the last step: the user's alternative."""

    def __init__(self, cell: type[nn.RNNBase], input_dim: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.rnn = cell(input_dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class StepByStep(nn.Module):
    """The LSTM through its step-by-step path, compiled by torch.compile (compiled at its first call)."""

    def __init__(self, model: LSTM) -> None:
        super().__init__()
        self.model = model
        self.compiled = torch.compile(lambda x: self.model(x, return_hidden=True)[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.compiled(x)


PAIRS = (("VanillaRNN", "nn.RNN"), ("LSTM (ours)", "nn.LSTM"), ("LSTM (ours), step by step, torch.compile", "nn.LSTM"))


def training_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)

    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def step_gflop(gates: int, batch: int, hidden: int, length: int, input_dim: int, classes: int = 10) -> float:
    """Matrix-product work of one training step: 2 FLOP a multiply-add, forward once and backward twice."""
    forward = 2 * batch * (length * gates * hidden * (input_dim + hidden) + hidden * classes)
    return 3 * forward / 1e9


def measure(device: str, threads: int | None, batch=128, hidden=128, length=19, input_dim=1) -> dict:
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.randn(batch, length, input_dim, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    repeats = 100 if device == "cuda" else 20
    models = {
        "VanillaRNN": VanillaRNN(length, input_dim, hidden, 10),
        "nn.RNN": TorchRecurrent(nn.RNN, input_dim, hidden, 10),
        "LSTM (ours)": LSTM(length, input_dim, hidden, 10),
        "LSTM (ours), step by step, torch.compile": StepByStep(LSTM(length, input_dim, hidden, 10)),
        "nn.LSTM": TorchRecurrent(nn.LSTM, input_dim, hidden, 10),
    }
    steps = {name: training_step(m.to(device), x, y) for name, m in models.items()}
    times, ratios = {}, {}
    for ours, reference in PAIRS:  # timed in alternation; a reference timed twice keeps its first figure
        times[ours], t_reference, ratios[ours] = paired_seconds(steps[ours], steps[reference], calls=repeats, rounds=15)
        times.setdefault(reference, t_reference)
    times = {name: times[name] for name in models}  # the table's order
    work = {name: step_gflop(4 if "LSTM" in name else 1, batch, hidden, length, input_dim) for name in models}
    return {
        "device": device,
        "threads": torch.get_num_threads(),
        "matmul_fp32_gflops": matmul_gflops(torch.float32) if device == "cpu" else None,
        "s_per_step": times,
        "sequences_per_s": {name: batch / t for name, t in times.items()},
        "gflops": {name: work[name] / t for name, t in times.items()},
        "ratios": ratios,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/benchmarks")
    parser.add_argument("--name", default="rnn", help="file stem of the output (default: rnn)")
    args = parser.parse_args()
    rows = [measure("cpu", 1), measure("cpu", 2)]
    if torch.cuda.is_available():
        rows.append(measure("cuda", None))
    report = {**machine_facts(), "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    report["rows"] = rows
    out = Path(args.out) / cpu_folder()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"Training step, batch 128, hidden 128, T=20 (19 inputs), RMSprop. CPU: {report['cpu']} "
        f"({report['isa']}), torch {report['torch']}.",
        "",
        "| device | threads | model | ms/step | sequences/s | GFLOP/s | share of fp32 matmul | ratio to torch.nn |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for name in r["s_per_step"]:
            share = f"{r['gflops'][name] / r['matmul_fp32_gflops']:.0%}" if r["matmul_fp32_gflops"] else "-"
            ratio = f"{r['ratios'][name]:.2f}" if name in r["ratios"] else "1"
            lines.append(
                f"| {r['device']} | {r['threads']} | {name} | {r['s_per_step'][name] * 1e3:.2f} | "
                f"{r['sequences_per_s'][name]:,.0f} | {r['gflops'][name]:.1f} | {share} | {ratio} |"
            )
    rates = "; ".join(
        f"{r['threads']} thread(s) {r['matmul_fp32_gflops']:.0f}" for r in rows if r["matmul_fp32_gflops"]
    )
    lines += ["", f"fp32 matmul 2048^3, same run: {rates} GFLOP/s."]
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    (out / f"COMMAND_{args.name}.txt").write_text(
        f"python benchmarks/bench_rnn.py --out {args.out} --name {args.name}\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
