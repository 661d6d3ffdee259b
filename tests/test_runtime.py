"""The shared training runtime, exercised through the PyTorch MLP trainer."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import ROOT, run_main, run_module

TRAINER = "cs324.mlp.pytorch_train_mlp"
BASE = [
    "--max_steps",
    "400",
    "--eval_freq",
    "50",
    "--optimizer",
    "adam",
    "--learning_rate",
    "0.01",
    "--dnn_hidden_units",
    "32,32",
    "--quiet",
    "--device",
    "cpu",
]


def metrics(run: Path, drop_time: bool = True) -> list[dict]:
    recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    if drop_time:
        for r in recs:
            r.pop("wall_time"), r.pop("samples_per_s")
    return recs


def weights(run: Path) -> dict:
    return torch.load(run / "last.pt", weights_only=False)["model"]


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_run_folder_contents_and_determinism(tmp_path):
    for name in ("a", "b"):
        r = run_main(TRAINER, *BASE, "--out", str(tmp_path / name))
        assert r.returncode == 0, r.stderr
    a, b = tmp_path / "a", tmp_path / "b"
    config = json.loads((a / "config.json").read_text())
    assert config["learning_rate"] == 0.01 and config["dnn_hidden_units"] == [32, 32]
    assert config["torch_version"] == torch.__version__ and "cs324_version" in config
    recs = metrics(a, drop_time=False)
    assert [r["step"] for r in recs] == list(range(0, 401, 50))
    for key in ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "wall_time", "samples_per_s"):
        assert key in recs[-1], key
    assert recs[-1]["test_acc"] > 0.9
    assert metrics(a) == metrics(b)
    assert same_weights(weights(a), weights(b))
    ckpt = torch.load(a / "last.pt", weights_only=False)
    assert {"model", "optimizer", "rng", "step", "config"} <= ckpt.keys() and ckpt["step"] == 400


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    args = [*BASE[:1], "3000", *BASE[2:], "--ckpt_every", "100"]
    assert run_module(TRAINER, *args, "--out", str(full)).returncode == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", TRAINER, *args, "--out", str(killed)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline:  # kill once a mid-run checkpoint exists
        if (killed / "last.pt").exists() and len(metrics(killed)) >= 3:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    step_at_kill = torch.load(killed / "last.pt", weights_only=False)["step"]
    assert 0 < step_at_kill < 3000, "the run must be killed mid-way"
    r = run_module(TRAINER, *args, "--out", str(killed), "--resume")
    assert r.returncode == 0, r.stderr
    assert same_weights(weights(full), weights(killed))
    assert metrics(full) == metrics(killed)
    walls = [r["wall_time"] for r in metrics(killed, drop_time=False)]
    assert walls == sorted(walls), "wall_time continues across the resume (training time, pause excluded)"
    # metrics.jsonl rounds wall_time to the millisecond (which can round up past the checkpoint's): compare there
    assert round(torch.load(killed / "last.pt", weights_only=False)["wall_time"], 3) >= walls[-1]


@pytest.mark.slow
def test_ctrl_c_saves_and_resume_completes(tmp_path):
    run = tmp_path / "run"
    args = [*BASE[:1], "100000", *BASE[2:]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", TRAINER, *args, "--out", str(run)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (run / "last.pt").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    step = torch.load(run / "last.pt", weights_only=False)["step"]
    assert 0 < step < 100000


@pytest.mark.slow
def test_nan_loss_stops_with_step_and_keeps_last_good_checkpoint(tmp_path):
    run = tmp_path / "run"
    r = run_main(
        TRAINER,
        "--learning_rate",
        "1e30",
        "--max_steps",
        "50",
        "--eval_freq",
        "100",
        "--ckpt_every",
        "1",
        "--quiet",
        "--device",
        "cpu",
        "--out",
        str(run),
    )
    assert r.returncode == 1
    assert "at step" in r.stderr and "Traceback" not in r.stderr
    bad_step = int(r.stderr.split("at step")[1].split(";")[0])
    ckpt = torch.load(run / "last.pt", weights_only=False)
    assert ckpt["step"] == bad_step - 1


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["missing", "corrupt", "other_config"])
def test_bad_resume_is_one_line_exit_2_and_destroys_nothing(tmp_path, problem):
    run = tmp_path / "run"
    args = ["--max_steps", "20", "--eval_freq", "10", "--quiet", "--device", "cpu", "--out", str(run)]
    if problem != "missing":
        assert run_main(TRAINER, *args).returncode == 0
    if problem == "corrupt":
        (run / "last.pt").write_bytes(b"not a checkpoint")
    before = {p.name: sha(p) for p in run.glob("*")} if run.exists() else {}
    extra = ["--dnn_hidden_units", "7"] if problem == "other_config" else []
    r = run_main(TRAINER, *args, *extra, "--resume")
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    after = {p.name: sha(p) for p in run.glob("*")} if run.exists() else {}
    assert before == after


@pytest.mark.slow
def test_existing_run_is_not_overwritten_without_flag(tmp_path):
    args = ["--max_steps", "20", "--eval_freq", "10", "--quiet", "--device", "cpu", "--out", str(tmp_path)]
    assert run_main(TRAINER, *args).returncode == 0
    before = sha(tmp_path / "last.pt")
    r = run_main(TRAINER, *args)
    assert r.returncode == 2 and "--resume" in r.stderr
    assert sha(tmp_path / "last.pt") == before
    assert run_main(TRAINER, *args, "--overwrite").returncode == 0


@pytest.mark.slow
def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run_main(TRAINER, "--max_steps", "5", "--out", str(blocker / "sub"))
    assert r.returncode == 2 and "not writable" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_without_cuda(tmp_path):
    r = run_main(TRAINER, "--device", "cuda", "--out", str(tmp_path / "r"))
    assert r.returncode == 2 and "CUDA" in r.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_amp_runs_bf16_autocast_on_a_cpu_with_native_bf16(tmp_path):
    from cs324.runtime import cpu_supports_bf16

    if not cpu_supports_bf16():
        pytest.skip("this CPU has no native bf16 (AVX-512 BF16 or AMX): --amp is ignored here, autocast never runs")
    r = run_main(
        TRAINER,
        *"--max_steps 30 --eval_freq 10 --dtype float32 --amp --device cpu --quiet".split(),
        "--out",
        str(tmp_path),
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "config.json").read_text())["amp_active"] is True
    assert metrics(tmp_path)[-1]["test_acc"] > 0.5


def test_amp_is_ignored_with_a_notice_on_a_cpu_without_native_bf16(tmp_path):
    from cs324.runtime import cpu_supports_bf16

    if cpu_supports_bf16():
        pytest.skip("this CPU has native bf16: --amp runs autocast (the test above)")
    r = run_main(TRAINER, *"--max_steps 4 --eval_freq 2 --amp --device cpu --quiet".split(), "--out", str(tmp_path))
    assert r.returncode == 0 and "lacks native bf16" in r.stderr
    assert json.loads((tmp_path / "config.json").read_text())["amp_active"] is False


@pytest.mark.slow
def test_distributed_two_ranks_match_single_process(tmp_path):
    """torchrun, 2 CPU ranks on loopback (gloo): same weights on both, same as 1 process."""
    script = ROOT / "tests" / "ddp_worker.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "tests")}
    single = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "single")], env=env, capture_output=True, text=True, timeout=300
    )
    assert single.returncode == 0, single.stderr
    ddp = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_addr=127.0.0.1",
            "--master_port=29533",
            str(script),
            str(tmp_path / "ddp"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    ref = torch.load(tmp_path / "single" / "rank0.pt")
    rank0 = torch.load(tmp_path / "ddp" / "rank0.pt")
    rank1 = torch.load(tmp_path / "ddp" / "rank1.pt")
    for k in ref:
        assert torch.equal(rank0[k], rank1[k]), k
        assert (rank0[k] - ref[k]).abs().max() < 1e-5, k
    assert (ref["layers.0.weight"] - torch.load(tmp_path / "single" / "init.pt")["layers.0.weight"]).abs().max() > 1e-3
    # only rank 0 wrote the run folder
    assert (tmp_path / "ddp" / "run" / "metrics.jsonl").exists()


@pytest.mark.slow
def test_compile_flag_runs_the_compiled_model_where_torch_compile_works(tmp_path):
    try:
        torch.compile(lambda t: t * 2 + 1)(torch.ones(3))
    except Exception as e:  # no C compiler, unsupported Python, ...
        pytest.skip(f"torch.compile does not work on this machine ({type(e).__name__}); the eager fallback runs")
    r = run_module(
        TRAINER,
        *"--max_steps 20 --eval_freq 10 --compile --device cpu --quiet --dtype float32".split(),
        "--out",
        str(tmp_path),
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "running eagerly" not in r.stderr  # the compiled model trained: no fallback notice
    assert metrics(tmp_path)[-1]["step"] == 20


def test_ema_is_what_evaluation_scores_and_best_pt_holds(tmp_path):
    """One weight, gradient 1, SGD lr 1: w_k = w_0 - k. The average follows AveragedModel's rule (its first
    update copies w_1, then e_k = d e_(k-1) + (1 - d) w_k), every evaluation sees it, best.pt keeps it."""
    from cs324.loop import fit
    from cs324.runtime import RuntimeConfig, start_session

    args = RuntimeConfig(device="cpu", out=str(tmp_path / "run"), quiet=True, ema=0.5)
    session = start_session(args)
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(10.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    batch = lambda step: (torch.zeros(1, 1), torch.zeros(1, dtype=torch.long))
    loss_fn = lambda logits, targets: model.weight.sum() + 0 * logits.sum()
    seen = []

    def evaluate(m):
        seen.append(m.weight.item())
        return {"val_acc": -m.weight.item()}  # 'best' = the smallest average: the last one

    result = fit(session, model, optimizer, batch, loss_fn, evaluate, max_steps=4, eval_freq=2)
    raw = [10.0 - k for k in range(5)]
    expected = [raw[0], raw[1]]
    for k in (2, 3, 4):
        expected.append(0.5 * expected[-1] + 0.5 * raw[k])
    assert seen == [expected[0], expected[2], expected[4]] and model.weight.item() == raw[4]
    assert result.scored_model is not model and result.scored_model.weight.item() == expected[4]
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=False)
    last = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert best["model"]["weight"].item() == expected[4] and last["model"]["weight"].item() == raw[4]
    assert last["ema"]["module.weight"].item() == expected[4] and last["ema"]["n_averaged"].item() == 4


@pytest.mark.slow
def test_ema_resumes_the_same_average(tmp_path):
    """Interrupted (here: 2 of 4 steps, then --resume) = uninterrupted, average included; a bad decay is one line."""
    r = run_main(TRAINER, *BASE[:1], "4", *BASE[2:], "--ema", "0.9", "--out", str(tmp_path / "full"))
    assert r.returncode == 0, r.stderr
    base = [*BASE[:1], "2", *BASE[2:], "--ema", "0.9", "--out", str(tmp_path / "cut")]
    assert run_main(TRAINER, *base).returncode == 0
    r = run_main(TRAINER, *BASE[:1], "4", *BASE[2:], "--ema", "0.9", "--out", str(tmp_path / "cut"), "--resume")
    assert r.returncode == 0, r.stderr
    full, cut = (torch.load(tmp_path / n / "last.pt", weights_only=False) for n in ("full", "cut"))
    assert same_weights(full["ema"], cut["ema"]) and same_weights(full["model"], cut["model"])
    final = lambda run: {k: metrics(run)[-1][k] for k in ("step", "test_loss", "test_acc")}  # scored on the average
    assert final(tmp_path / "full") == final(tmp_path / "cut")
    r = run_main(TRAINER, *BASE, "--ema", "1.5", "--out", str(tmp_path / "bad"))
    assert r.returncode == 2 and "[0, 1)" in r.stderr and "Traceback" not in r.stderr


def test_tensorboard_events_hold_every_record_scalar(tmp_path):
    """--tensorboard writes the records of metrics.jsonl as TensorBoard scalars (read back from the event file)."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    r = run_main(TRAINER, *BASE[:1], "40", *BASE[2:3], "20", *BASE[4:], "--tensorboard", "--out", str(run))
    assert r.returncode == 0, r.stderr
    events = EventAccumulator(str(run)).Reload()
    records = metrics(run, drop_time=False)
    for key in ("test_acc", "test_loss", "train_loss", "lr", "samples_per_s"):
        scalars = {e.step: e.value for e in events.Scalars(key)}
        expected = {r["step"]: r[key] for r in records if key in r and r[key] is not None}
        assert scalars.keys() == expected.keys() and all(
            abs(scalars[s] - v) <= 1e-6 * max(1, abs(v)) for s, v in expected.items()
        ), key


@pytest.mark.parametrize(
    "module, args",
    [
        ("cs324.mlp.pytorch_train_mlp", []),
        ("cs324.rnn.train", ["--input_length", "4"]),
        ("cs324.mlp.cifar_mlp", ["--hidden", "8", "--val_size", "50"]),
        ("cs324.cnn.cnn_train", ["--val_size", "50"]),
    ],
)
def test_tensorboard_works_on_every_pytorch_trainer(module, args, tmp_path):
    """Each trainer's dry run with --tensorboard leaves events whose accuracy scalars are its metrics.jsonl's."""
    pytest.importorskip("tensorboard")
    import numpy as np
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from test_cifar import fake_arrays

    np.savez_compressed(tmp_path / "cifar10.npz", classes=np.array([f"c{i}" for i in range(10)]), **fake_arrays())
    data = ["--data_dir", str(tmp_path)] if "cifar_mlp" in module or "cnn" in module else []
    run = tmp_path / "run"
    function = "run" if module == "cs324.rnn.train" else "main"
    r = run_main(
        module, *args, *data, "--dry_run", "--device", "cpu", "--tensorboard", "--out", str(run), function=function
    )
    assert r.returncode == 0, r.stderr
    events = EventAccumulator(str(run)).Reload()
    records = metrics(run, drop_time=False)
    key = next(k for k in ("val_acc", "test_acc") if k in records[-1])
    assert {e.step: round(e.value, 6) for e in events.Scalars(key)} == {r["step"]: round(r[key], 6) for r in records}


def test_return_freed_memory_sets_glibcs_mmap_threshold():
    """On glibc, mallopt takes the fixed threshold (it returns 1); elsewhere the call is a no-op returning False."""
    import platform

    from cs324.runtime import return_freed_memory

    if platform.libc_ver()[0] != "glibc":
        assert return_freed_memory() is False
        pytest.skip("not glibc: nothing to set")
    assert return_freed_memory() is True
