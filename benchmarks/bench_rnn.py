"""Part III speed: the hand-written loops against torch.nn.RNN / nn.LSTM of the same size.

    python benchmarks/bench_rnn.py --out results/benchmarks     # about a minute

One training step (forward, cross-entropy on the last step, backward, RMSprop) at
batch 128, hidden 128, T=20 (19 input digits), measured in one run on every device
present; ratios > 1 mean the hand-written loop is slower than cuDNN/ATen's fused RNN.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
import torch.nn as nn

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


def time_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, repeats: int) -> float:
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)

    def step():
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    if x.is_cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        step()
    if x.is_cuda:
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / repeats


def measure(device: str, threads: int | None, batch=128, hidden=128, length=19, input_dim=1) -> dict:
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.randn(batch, length, input_dim, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    repeats = 200 if device == "cuda" else 40
    models = {
        "VanillaRNN": VanillaRNN(length, input_dim, hidden, 10),
        "nn.RNN": TorchRecurrent(nn.RNN, input_dim, hidden, 10),
        "LSTM (ours)": LSTM(length, input_dim, hidden, 10),
        "nn.LSTM": TorchRecurrent(nn.LSTM, input_dim, hidden, 10),
    }
    times = {name: time_step(m.to(device), x, y, repeats) for name, m in models.items()}
    return {
        "device": device,
        "threads": torch.get_num_threads(),
        "s_per_step": times,
        "rnn_ratio": times["VanillaRNN"] / times["nn.RNN"],
        "lstm_ratio": times["LSTM (ours)"] / times["nn.LSTM"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/benchmarks")
    parser.add_argument("--name", default="rnn", help="file stem of the output (default: rnn)")
    args = parser.parse_args()
    rows = [measure("cpu", 1), measure("cpu", 2)]
    if torch.cuda.is_available():
        rows.append(measure("cuda", None))
    report = {
        "platform": platform.platform(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "rows": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "Training step, batch 128, hidden 128, T=20 (19 inputs), RMSprop:",
        "",
        "| device | threads | VanillaRNN | nn.RNN | ratio | LSTM (ours) | nn.LSTM | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        t = r["s_per_step"]
        lines.append(
            f"| {r['device']} | {r['threads']} | {t['VanillaRNN'] * 1e3:.2f} ms | {t['nn.RNN'] * 1e3:.2f} ms | "
            f"{r['rnn_ratio']:.2f} | {t['LSTM (ours)'] * 1e3:.2f} ms | {t['nn.LSTM'] * 1e3:.2f} ms | "
            f"{r['lstm_ratio']:.2f} |"
        )
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    (out / f"COMMAND_{args.name}.txt").write_text(
        f"python benchmarks/bench_rnn.py --out {args.out} --name {args.name}\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
