"""The session every PyTorch trainer starts: device, seed, run folder, bf16 autocast, ``torchrun`` ranks.

    @dataclass(frozen=True)
    class MyConfig(RuntimeConfig):                # the trainer's own fields, then these flags
        out: str = out_option("runs/mine")
    config = typed(MyConfig, parser_for(MyConfig).parse_args())
    session = start_session(config)               # config.json gets every field and ENV_KEYS
    model = prepare_model(session, build_model())
    result = fit(session, model, optimizer, get_batch, loss_fn, evaluate, max_steps=.., eval_freq=..)  # cs324.loop

Run folder: ``config.json`` (every resolved flag, package and torch versions, the machine),
``metrics.jsonl`` (one record per evaluation), ``last.pt`` (written atomically every
``--ckpt_every`` steps and at every evaluation), ``best.pt`` (best validation accuracy).
Under ``torchrun`` each rank trains on its slice of every global batch, gradients
are averaged by ``DistributedDataParallel``, and only rank 0 writes files.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import platform
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

import cs324
from cs324 import runfolder
from cs324.cli import TrainingError, UsageError, cli, decay, nonnegative_int, seed
from cs324.config import as_dict, option
from cs324.runfolder import load_checkpoint, read_metrics, save_checkpoint

__all__ = ["TrainingError", "UsageError", "cli", "load_checkpoint", "read_metrics", "save_checkpoint"]

# Flags that steer a run without changing what it computes: they may differ on resume.
RUN_CONTROL_KEYS = {
    "resume",
    "quiet",
    "max_steps",
    "eval_freq",
    "ckpt_every",
    "device",
    "out",
    "overwrite",
    "dry_run",
    "compile",
    "tensorboard",
}
# What a run records about where it ran (config.json): never compared on resume or against HEAD.
ENV_KEYS = (
    "cs324_version",
    "torch_version",
    "python",
    "device_resolved",
    "world_size",
    "amp_active",
    "threads",
    "cpu",
    "cpu_native_bf16",
)
DRY_RUN_STEPS = 4  # --dry_run: this many steps, an evaluation every other one


@dataclass(frozen=True)
class RuntimeConfig:
    """runtime: where and how a run trains, shared by every PyTorch trainer (the README documents them once)"""

    device: str = option("auto", "auto picks CUDA when present (default: auto)", choices=["auto", "cpu", "cuda"])
    seed: int = option(0, "seed of weights, data order, dropout (default: 0)", type=seed)
    out: str = option("runs/run", "run folder", metavar="DIR")  # each trainer sets its own default
    resume: bool = option(False, "continue from DIR/last.pt", action="store_true")
    overwrite: bool = option(False, "start afresh even if DIR already holds a checkpoint", action="store_true")
    ckpt_every: int = option(
        0, "write last.pt every N steps; 0: at every evaluation (default: 0)", type=nonnegative_int, metavar="N"
    )
    quiet: bool = option(False, "no progress bar or per-eval lines", action="store_true")
    dry_run: bool = option(
        False,
        f"dry run, seconds: {DRY_RUN_STEPS} steps, a small evaluation: the whole pipeline checked",
        aliases=("--dry-run",),
        action="store_true",
    )
    amp: bool = option(False, "bf16 autocast (CUDA, or CPUs with native bf16)", action=argparse.BooleanOptionalAction)
    compile: bool = option(False, "try torch.compile; falls back with a notice", action="store_true")
    tensorboard: bool = option(
        False,
        "also write TensorBoard event files beside metrics.jsonl (tensorboard --logdir runs)",
        action="store_true",
    )
    ema: float = option(
        0.0,
        "score (and keep as best.pt) an exponential moving average of the weights, this decay per step; "
        "0.999 averages over roughly the last 1,000 steps (default: 0 = off). Under a schedule that anneals the "
        "rate to 0 the average can end below the weights (docs/experiments.md)",
        type=decay,
        metavar="DECAY",
    )


def out_option(default: str):
    """The ``--out`` field of a trainer's config, with the trainer's own default folder."""
    return option(default, f"run folder (default: {default})", metavar="DIR")


# --------------------------------------------------------------------------- session


@dataclass
class Session:
    """What ``start_session`` resolved: where and how this process trains."""

    device: torch.device
    seed: int
    out: Path | None
    resume: bool = False
    quiet: bool = False
    amp: bool = False
    compile: bool = False
    ckpt_every: int = 0
    tensorboard: bool = False
    ema: float = 0.0  # decay of the moving average of the weights that evaluations score; 0 = off
    rank: int = 0
    world_size: int = 1
    config: dict = field(default_factory=dict)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def log(self, message: str) -> None:
        if self.is_main:
            print(message, file=sys.stderr, flush=True)

    def shard(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's share of a global batch, on the device."""
        if self.distributed:
            inputs, targets = inputs[self.rank :: self.world_size], targets[self.rank :: self.world_size]
        return inputs.to(self.device, non_blocking=True), targets.to(self.device, non_blocking=True)

    def autocast(self) -> contextlib.AbstractContextManager:
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)


def return_freed_memory(threshold: int = 1 << 20) -> bool:
    """Have glibc serve blocks of ``threshold`` bytes and more from mmap, so that freeing one returns it to the OS.

    By default glibc raises its mmap threshold each time such a block is freed, and blocks of that size then come
    from the heap, which fragments: a T=90 RNN run held 5+ GB of freed memory after a few minutes, and two sweep
    workers drove a 24 GB machine into thrashing; with this it stays under 1 GB. Left to the default for the
    CIFAR trainers, whose large per-step tensors would each cost an mmap. False where libc is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc.mallopt(-3, threshold) == 1  # -3: M_MMAP_THRESHOLD (malloc.h)
    except (OSError, AttributeError):
        return False


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cpu_supports_bf16() -> bool:
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # older torch: assume bf16 is emulated and slow
        return False


def cpu_has_amx() -> bool:
    """Whether the CPU has AMX tiles (Intel Sapphire Rapids and later): its bf16 matmuls run several times faster
    than AVX-512 BF16 ones, and some layers take another path there."""
    return bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())


def bf16_native(device: torch.device) -> bool:
    """Whether bf16 autocast runs natively on ``device`` (``--amp`` is ignored where it would be emulated)."""
    return device.type == "cuda" or cpu_supports_bf16()


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``): timings depend on it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def use_cuda(device: str) -> bool:
    """``--device auto|cpu|cuda`` -> whether to run on CUDA; ``cuda`` without CUDA is a ``UsageError``."""
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but CUDA is not available here")
    return device == "cuda" or (device == "auto" and torch.cuda.is_available())


def environment(device: torch.device, world_size: int, amp: bool) -> dict:
    """The ``ENV_KEYS`` of this process: where a run ran, recorded beside its flags."""
    env = dict(
        cs324_version=cs324.__version__,
        torch_version=torch.__version__,
        python=platform.python_version(),
        device_resolved=str(device),
        world_size=world_size,
        amp_active=amp,
        threads=torch.get_num_threads(),
        cpu=cpu_model(),
        cpu_native_bf16=cpu_supports_bf16(),
    )
    assert tuple(env) == ENV_KEYS
    return env


def budget(max_steps: int, eval_freq: int, dry_run: bool) -> tuple[int, int]:
    """(steps, evaluation interval) of a run: the flags', or a few steps under ``--dry_run``."""
    if dry_run:
        return min(max_steps, DRY_RUN_STEPS), 2
    return max_steps, eval_freq


def start_session(args: RuntimeConfig, config: dict | None = None) -> Session:
    """Resolve device, distributed rank, seed and run folder; write ``config.json``."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = use_cuda(args.device)
    if cuda:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")

    amp = args.amp
    if amp and not bf16_native(device):
        if rank == 0:
            print("notice: this CPU lacks native bf16; --amp is ignored", file=sys.stderr)
        amp = False

    out = Path(args.out) if args.out else None
    resume = args.resume
    config = dict(config if config is not None else as_dict(args)) | environment(device, world_size, amp)
    if out is not None and rank == 0:
        runfolder.prepare(out, resume=resume, overwrite=args.overwrite)
    seed_everything(args.seed)
    return Session(
        device=device,
        seed=args.seed,
        out=out,
        resume=resume,
        quiet=args.quiet,
        amp=amp,
        compile=args.compile,
        ckpt_every=args.ckpt_every,
        tensorboard=args.tensorboard,
        ema=args.ema,
        rank=rank,
        world_size=world_size,
        config=config,
    )


def prepare_model(session: Session, model: nn.Module, *, channels_last: bool = False) -> nn.Module:
    """Move to the device; channels-last memory layout for convolutions (``fit`` compiles, if asked)."""
    model = model.to(session.device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def cleanup(session: Session) -> None:
    """End the session: leave the process group, give up the run folder."""
    if session.out is not None and session.is_main:
        runfolder.release(session.out)
    if session.distributed and dist.is_initialized():
        dist.destroy_process_group()
