"""Launched by test_runtime under torchrun (or alone): trains the toy MLP, saves each rank's weights."""

import os
import sys
from pathlib import Path

import torch

from cs324.mlp import pytorch_train_mlp

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
config = pytorch_train_mlp.build_parser().parse_args(
    [
        "--max_steps",
        "60",
        "--eval_freq",
        "30",
        "--batch_size",
        "32",
        "--learning_rate",
        "0.1",
        "--dtype",
        "float32",
        "--device",
        "cpu",
        "--quiet",
        "--seed",
        "5",
        "--out",
        str(out / "run"),
        "--overwrite",
    ]
)
torch.manual_seed(5)
model = pytorch_train_mlp.MLP(2, [16], 2)
torch.save(model.state_dict(), out / "init.pt")
model, _ = pytorch_train_mlp.train(config, model=model)
rank = int(os.environ.get("RANK", "0"))
torch.save(model.state_dict(), out / f"rank{rank}.pt")
