"""Quick checks that the code of every part works where it is unpacked (about a minute on a CPU).

    python -m cs324.selfcheck

Part I: the NumPy and PyTorch MLPs agree step by step in float64; Part II: the reduced VGG
has the course's 9,231,114 parameters and shapes; Part III: palindromes are palindromes, the
hand-written RNN matches ``torch.nn.RNN``, and a few hundred steps learn T=5.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from cs324.cli import ArgumentParser, add_dry_run


def check_part1() -> str:
    from cs324.data.toy import make_toy
    from cs324.mlp import pytorch_train_mlp, train_mlp_numpy
    from cs324.mlp.mlp_numpy import MLP as NumpyMLP
    from cs324.mlp.pytorch_mlp import MLP as TorchMLP

    data = make_toy("moons")
    np_model = NumpyMLP(2, [20], 2, seed=0)
    torch_model = TorchMLP.from_numpy(np_model)
    hist = train_mlp_numpy.train(np_model, data, learning_rate=0.1, max_steps=50, eval_freq=25, batch_size=32)
    config = pytorch_train_mlp.build_parser().parse_args(
        ["--learning_rate", "0.1", "--max_steps", "50", "--eval_freq", "25", "--device", "cpu", "--quiet", "--out", ""]
    )
    _, result = pytorch_train_mlp.train(config, model=torch_model, data=data)
    diff = float(np.max(np.abs(np.array(hist.step_losses) - np.array(result.step_losses))))
    assert diff < 1e-10, f"NumPy and PyTorch losses differ by {diff}"
    return f"Part I: NumPy and PyTorch MLP losses agree to {diff:.1e} over 50 steps"


def check_part2() -> str:
    from cs324.cnn.cnn_model import CNN

    model = CNN(3, 10)
    n = model.num_params()
    assert n == 9_231_114, f"CNN has {n} parameters"
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    return f"Part II: CNN has {n:,} parameters, logits (2, 10)"


def check_part3(dry_run: bool = False) -> str:
    from cs324.rnn import train as rnn_train
    from cs324.rnn.dataset import PalindromeDataset
    from cs324.rnn.vanilla_rnn import VanillaRNN

    data = PalindromeDataset(4, 1000)
    assert len(data) == 1000 and np.array_equal(data.digits, data.digits[:, ::-1])
    model = VanillaRNN(4, 1, 8, 10).double()
    ref = torch.nn.RNN(1, 8, batch_first=True).double()
    with torch.no_grad():
        ref.weight_ih_l0.copy_(model.W_hx.T)
        ref.weight_hh_l0.copy_(model.W_hh.T)
        ref.bias_ih_l0.copy_(model.b_h)
        ref.bias_hh_l0.zero_()
    x = torch.randn(3, 4, 1, dtype=torch.float64)
    expected = ref(x)[0][:, -1] @ model.W_ph + model.b_o
    assert torch.allclose(model(x), expected, atol=1e-10), "VanillaRNN differs from nn.RNN"
    config = rnn_train.build_parser().parse_args(
        ["--input_length", "4", "--max_steps", "400", "--one_hot", "--device", "cpu", "--quiet", "--out", ""]
        + (["--dry_run"] if dry_run else [])
    )
    _, result = rnn_train.main(config)
    best = max(r["val_acc"] for r in result.records)
    assert dry_run or best > 0.9, f"T=5 reached only {best:.2f}"
    return f"Part III: palindromes ok, VanillaRNN == nn.RNN, T=5 validation accuracy {best:.3f}"


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    add_dry_run(parser, "Part III trains 4 steps instead of learning T=5")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    for check in (check_part1, check_part2, lambda: check_part3(args.dry_run)):
        print(check(), flush=True)
    import cs324

    print(f"all checks passed in {time.perf_counter() - t0:.0f} s (cs324 from {cs324.__file__})")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"CHECK FAILED: {e}", file=sys.stderr)
        raise SystemExit(1) from None
