"""Part I speed: NumPy MLP vs PyTorch MLP vs scikit-learn, and the NumPy MLP's GFLOP/s.

    python benchmarks/bench_mlp.py --out results/benchmarks     # minutes: writes results/benchmarks/<cpu>/mlp.md

Measured in one run on the same machine: (1) seconds per training step (forward,
backward, SGD update; batch 32 and 256, float64) for the course's net (hidden 20)
and a wide one (512-512); (2) wall-clock seconds until the test accuracy on moons
first reaches 97% (evaluated every 25 steps; mini-batch 32, lr 0.1, hidden 20);
(3) NumPy matmul GFLOP/s, the machine's own limit, against the NumPy MLP's achieved
GFLOP/s. Ratios > 1 mean "slower than NumPy".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from machine import cpu_folder, machine_facts

from cs324.data.batches import batch_indices
from cs324.data.toy import make_toy, one_hot
from cs324.metrics import accuracy
from cs324.mlp.mlp_numpy import MLP as NumpyMLP
from cs324.mlp.modules import CrossEntropy
from cs324.mlp.pytorch_mlp import MLP as TorchMLP


def best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def matmul_gflops(n: int = 1024) -> float:
    a, b = np.random.rand(n, n), np.random.rand(n, n)
    a @ b
    return 2 * n**3 / best_of(lambda: a @ b) / 1e9


def step_flops(widths: list[int], batch: int) -> int:
    """Forward x@W plus backward dW = x.T@dout and dx = dout@W.T: 3 GEMMs per layer."""
    return sum(6 * batch * i * o for i, o in zip(widths[:-1], widths[1:]))


def time_steps(hidden: list[int], batch: int, steps: int = 200) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 2))
    y = one_hot(rng.integers(0, 2, batch), 2)
    np_model = NumpyMLP(2, hidden, 2, seed=0)
    ce = CrossEntropy()

    def numpy_steps():
        for _ in range(steps):
            p = np_model.forward(x)
            np_model.backward(ce.backward(p, y))
            np_model.sgd_step(1e-3)

    t_model = TorchMLP.from_numpy(np_model)
    opt = torch.optim.SGD(t_model.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.argmax(1))

    def torch_steps():
        for _ in range(steps):
            loss = F.cross_entropy(t_model(xt), yt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    from sklearn.neural_network import MLPClassifier

    sk = MLPClassifier(
        hidden_layer_sizes=tuple(hidden) or (1,),
        solver="sgd",
        batch_size=batch,
        momentum=0.0,
        learning_rate_init=1e-3,
        alpha=0.0,
    )
    labels = y.argmax(1)
    sk.partial_fit(x, labels, classes=[0, 1])

    def sklearn_steps():
        for _ in range(steps):
            sk.partial_fit(x, labels)  # one mini-batch of size `batch` = one step

    numpy_steps(), torch_steps()
    t_np, t_torch, t_sk = (best_of(f, 3) / steps for f in (numpy_steps, torch_steps, sklearn_steps))
    flops = step_flops([2, *hidden, 2], batch)
    return {
        "hidden": hidden,
        "batch": batch,
        "numpy_s_per_step": t_np,
        "torch_s_per_step": t_torch,
        "sklearn_s_per_step": t_sk,
        "torch_over_numpy": t_torch / t_np,
        "sklearn_over_numpy": t_sk / t_np,
        "numpy_gflops": flops / t_np / 1e9,
    }


def time_to_97(max_steps: int = 20000, check_every: int = 25, lr: float = 0.1) -> dict:
    data = make_toy("moons")
    out = {}
    # NumPy
    model, ce = NumpyMLP(2, [20], 2, seed=0), CrossEntropy()
    y1h = one_hot(data.y_train, 2)
    t0 = time.perf_counter()
    for step in range(max_steps):
        idx = batch_indices(step, data.n_train, 32, 0)
        p = model.forward(data.x_train[idx])
        model.backward(ce.backward(p, y1h[idx]))
        model.sgd_step(lr)
        if (step + 1) % check_every == 0 and accuracy(model.forward(data.x_test), data.y_test) >= 0.97:
            out["numpy"] = {"seconds": time.perf_counter() - t0, "steps": step + 1}
            break
    # PyTorch, the same weights and batches
    model = TorchMLP.from_numpy(NumpyMLP(2, [20], 2, seed=0))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xtr, ytr = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    xte, yte = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    t0 = time.perf_counter()
    for step in range(max_steps):
        idx = torch.from_numpy(batch_indices(step, data.n_train, 32, 0))
        loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % check_every == 0:
            with torch.no_grad():
                if accuracy(model(xte), yte) >= 0.97:
                    out["torch"] = {"seconds": time.perf_counter() - t0, "steps": step + 1}
                    break
    # scikit-learn: its own initialisation and shuffling; checked once an epoch (25 steps)
    from sklearn.neural_network import MLPClassifier

    sk = MLPClassifier(
        hidden_layer_sizes=(20,),
        solver="sgd",
        batch_size=32,
        momentum=0.0,
        learning_rate_init=lr,
        alpha=0.0,
        random_state=0,
        max_iter=1,
        warm_start=True,
        tol=0.0,
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in range(max_steps // 25):
            sk.fit(data.x_train, data.y_train)
            if sk.score(data.x_test, data.y_test) >= 0.97:
                out["sklearn"] = {"seconds": time.perf_counter() - t0, "steps": (epoch + 1) * 25}
                break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/benchmarks")
    args = parser.parse_args()
    out = Path(args.out) / cpu_folder()  # one folder per kind of CPU
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {
            **machine_facts(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "numpy": np.__version__,
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        },
        "numpy_matmul_gflops_float64": matmul_gflops(),
        "steps": [time_steps(h, b) for h in ([20], [512, 512]) for b in (32, 256)],
        "time_to_97_percent_moons": time_to_97(),
    }
    peak = report["numpy_matmul_gflops_float64"]
    for row in report["steps"]:
        row["numpy_share_of_matmul_peak"] = row["numpy_gflops"] / peak
    (out / "mlp.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"NumPy float64 matmul (1024^3), same run: {peak:.1f} GFLOP/s; "
        f"torch threads {report['machine']['torch_threads']}.",
        "",
        "| hidden | batch | NumPy s/step | PyTorch s/step | sklearn s/step | PyTorch/NumPy | sklearn/NumPy "
        "| NumPy GFLOP/s (share of matmul) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["steps"]:
        lines.append(
            f"| {'-'.join(map(str, r['hidden']))} | {r['batch']} | {r['numpy_s_per_step']:.2e} | "
            f"{r['torch_s_per_step']:.2e} | {r['sklearn_s_per_step']:.2e} | {r['torch_over_numpy']:.2f} | "
            f"{r['sklearn_over_numpy']:.2f} | {r['numpy_gflops']:.2f} ({r['numpy_share_of_matmul_peak']:.0%}) |"
        )
    lines += ["", "Time to 97% test accuracy on moons (noise 0.2, 200 test points), hidden 20, batch 32, lr 0.1:", ""]
    for impl, r in report["time_to_97_percent_moons"].items():
        lines.append(f"- {impl}: {r['seconds']:.3f} s ({r['steps']} steps)")
    (out / "mlp.md").write_text("\n".join(lines) + "\n")
    (out / "COMMAND_mlp.txt").write_text("OMP_NUM_THREADS=1 python benchmarks/bench_mlp.py --out results/benchmarks\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
