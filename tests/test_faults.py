"""Every fault a clean error: one line on stderr, exit 2 (1 for a run that cannot go on), no traceback, and the
files in --out unchanged. One test per class of fault, through the commands' entry points."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT, run_main, run_module

from cs324 import report, runfolder, submission
from cs324.cnn import ablation, cnn_train, tta
from cs324.mlp import cifar_mlp, pytorch_train_mlp, train_mlp_numpy
from cs324.rnn import sweep
from cs324.rnn import train as rnn_train

TOY = ["--max_steps", "40", "--eval_freq", "10", "--quiet"]


def snapshot(folder):
    """Every file under ``folder`` with its bytes (None when the folder does not exist)."""
    if not folder.exists():
        return None
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def fails_cleanly(main, argv, capsys, code=2, contains=""):
    """Run a command's ``main``; assert the exit code and one line on stderr; return that line."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == code, err
    lines = [line for line in err if not line.startswith("notice:")]
    assert len(lines) == 1 and "Traceback" not in lines[0], err
    assert contains in lines[0], lines[0]
    return lines[0]


def with_existing_folder(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("a user's file\n")
    return out


# --------------------------------------------------------------------------- values: seeds, ranges, NaN, sizes

TRAINERS = [pytorch_train_mlp.main, train_mlp_numpy.main, rnn_train.run, cifar_mlp.main, cnn_train.main]


@pytest.mark.parametrize("main", TRAINERS, ids=lambda m: m.__module__)
@pytest.mark.parametrize("value", ["-5", "99999999999999999999"])
def test_seed_out_of_range_is_refused_before_anything_is_written(main, value, tmp_path, capsys):
    out = with_existing_folder(tmp_path)
    before = snapshot(out)
    argv = ["--seed", value] if main is train_mlp_numpy.main else ["--seed", value, "--out", str(out)]
    fails_cleanly(main, argv, capsys, contains="--seed")
    assert snapshot(out) == before


@pytest.mark.parametrize(
    "main,argv,contains",
    [
        (cifar_mlp.main, ["--dropout", "1.5"], "--dropout"),
        (cifar_mlp.main, ["--weight_decay", "-1"], "--weight_decay"),
        (cifar_mlp.main, ["--label_smoothing", "nan"], "--label_smoothing"),
        (cifar_mlp.main, ["--momentum", "nan"], "--momentum"),
        (cifar_mlp.main, ["--warmup", "5"], "--warmup"),
        (cifar_mlp.main, ["--crop_pad", "100000"], "--crop_pad"),
        (pytorch_train_mlp.main, ["--learning_rate", "inf"], "--learning_rate"),
        (train_mlp_numpy.main, ["--noise", "nan"], "--noise"),
    ],
)
def test_out_of_range_values_are_refused(main, argv, contains, tmp_path, capsys):
    out = with_existing_folder(tmp_path)
    before = snapshot(out)
    fails_cleanly(
        main, [*argv, "--out", str(out)] if main is not train_mlp_numpy.main else argv, capsys, contains=contains
    )
    assert snapshot(out) == before


@pytest.mark.parametrize(
    "main,argv",
    [
        (pytorch_train_mlp.main, ["--dnn_hidden_units", "10000000000"]),
        (train_mlp_numpy.main, ["--dnn_hidden_units", "10000000000"]),
        (cifar_mlp.main, ["--hidden", "10000000"]),
        (rnn_train.run, ["--num_hidden", "10000000"]),
        (rnn_train.run, ["--input_length", "1000000"]),
        (rnn_train.run, ["--input_length", "1000000", "--data_size", "10"]),
    ],
)
def test_sizes_beyond_memory_are_refused_with_the_size(main, argv, tmp_path, capsys):
    out = tmp_path / "never"
    argv = argv if main is train_mlp_numpy.main else [*argv, "--out", str(out)]
    line = fails_cleanly(main, argv, capsys, contains="GiB")
    assert "more than this machine's" in line
    assert not out.exists()


@pytest.mark.parametrize("data_size", ["1", "2"])
def test_an_empty_palindrome_split_is_refused(data_size, tmp_path, capsys):
    out = tmp_path / "never"
    fails_cleanly(
        rnn_train.run, ["--input_length", "4", "--data_size", data_size, "--out", str(out)], capsys, contains="empty"
    )
    assert not out.exists()


# --------------------------------------------------------------------------- data and failed starts


@pytest.fixture
def empty_cifar(tmp_path):
    folder = tmp_path / "empty_data"
    folder.mkdir()
    none = np.zeros((0, 32, 32, 3), np.uint8)
    np.savez(
        folder / "cifar10.npz",
        x_train=none,
        y_train=np.zeros(0, np.int64),
        x_test=none,
        y_test=np.zeros(0, np.int64),
        classes=np.array(list("abcdefghij")),
    )
    return folder


def test_a_failed_start_names_the_data_file_and_leaves_the_folder_as_it_was(empty_cifar, tmp_path, capsys):
    out = with_existing_folder(tmp_path)
    before = snapshot(out)
    line = fails_cleanly(cifar_mlp.main, ["--data_dir", str(empty_cifar), "--out", str(out)], capsys)
    assert str(empty_cifar / "cifar10.npz") in line
    assert snapshot(out) == before
    fresh = tmp_path / "fresh"
    fails_cleanly(cifar_mlp.main, ["--data_dir", str(empty_cifar), "--out", str(fresh)], capsys)
    assert not fresh.exists()  # a folder created for a run that never started is removed


def test_validation_size_beyond_the_data_leaves_the_folder_as_it_was(cifar10_dir, tmp_path, capsys):
    out = with_existing_folder(tmp_path)
    before = snapshot(out)
    line = fails_cleanly(
        cifar_mlp.main,
        ["--data_dir", str(cifar10_dir), "--val_size", "100000", "--out", str(out)],
        capsys,
        contains="--val_size",
    )
    assert "cifar10.npz" in line
    assert snapshot(out) == before


# --------------------------------------------------------------------------- output folders of every command


def _out_commands(out):
    return {
        "sweep": (sweep.main, ["--lengths", "5", "--variants", "rnn_best", "--seeds", "0", "--out", out]),
        "ablation": (ablation.main, ["--out", out, "--max_steps", "2"]),
        "submission": (submission.main, ["--student_number", "12345678", "--out", out]),
        "report": (report.main, ["--out", out]),
        "trainer": (pytorch_train_mlp.main, [*TOY, "--out", out]),
    }


@pytest.mark.parametrize("command", ["sweep", "ablation", "submission", "report", "trainer"])
@pytest.mark.parametrize("kind", ["a file", "under a file"])
def test_out_that_cannot_be_a_folder_is_one_line(command, kind, tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder\n")
    out = blocker if kind == "a file" else blocker / "sub"
    main, argv = _out_commands(str(out))[command]
    fails_cleanly(main, argv, capsys, contains=str(blocker))
    assert blocker.read_text() == "not a folder\n"


def test_report_from_a_missing_results_folder_is_refused(tmp_path, capsys):
    fails_cleanly(
        report.main, ["--results", str(tmp_path / "nope"), "--out", str(tmp_path / "rep")], capsys, contains="--results"
    )
    assert not (tmp_path / "rep").exists()


def test_student_number_must_be_ascii_digits(tmp_path, capsys):
    fails_cleanly(submission.main, ["--student_number", "١٢٣٤٥٦٧٨", "--out", str(tmp_path)], capsys, contains="ASCII")
    assert list(tmp_path.iterdir()) == []


def test_make_submission_takes_an_out_folder(tmp_path):
    dry = subprocess.run(
        ["make", "-n", "submission", "STUDENT_NUMBER=12345678", f"OUT={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    line = next(x for x in dry.stdout.splitlines() if "cs324.submission" in x)
    assert f'--out "{tmp_path}"' in line
    default = subprocess.run(
        ["make", "-n", "submission", "STUDENT_NUMBER=12345678"], cwd=ROOT, capture_output=True, text=True
    )
    assert '--out "."' in default.stdout


def test_corrupt_tta_json_names_the_file(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "tta.json").write_text('{"sch')
    fails_cleanly(tta.main, ["--table", str(tmp_path)], capsys, contains=str(tmp_path / "a" / "tta.json"))
    assert not (tmp_path / "tta.md").exists()


# --------------------------------------------------------------------------- the sweep: checked up front, fails fast


@pytest.mark.parametrize(
    "argv",
    [
        ["--lengths", "0"],
        ["--lengths", "-5"],
        ["--max_steps", "0"],
        ["--eval_freq", "0"],
        ["--data_size", "-1"],
        ["--seeds", "-1"],
        ["--data_size", "1"],
    ],
    ids=lambda a: " ".join(a),
)
def test_sweep_checks_every_job_before_writing_or_starting_workers(argv, tmp_path, capsys):
    out = tmp_path / "o"
    base = {
        "--lengths": "5",
        "--variants": "rnn_best",
        "--seeds": "0",
        "--max_steps": "2",
        "--eval_freq": "2",
        "--data_size": "100",
    }
    base[argv[0]] = argv[1]
    fails_cleanly(sweep.main, [*sum(base.items(), ()), "--out", str(out)], capsys)
    assert not out.exists()


@pytest.mark.slow
def test_a_failing_worker_fails_the_sweep(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA: the worker's failure is --device cuda")
    out = tmp_path / "o"
    argv = "--lengths 5 --variants rnn_best --seeds 0 --max_steps 2 --eval_freq 2 --data_size 100 --workers 2"
    proc = run_module("cs324.rnn.sweep", *argv.split(), "--device", "cuda", "--out", str(out), timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "sweep stopped" in lines[0] and "CUDA" in lines[0]
    assert sweep.read_rows(out / "sweep.csv") == []  # header only: no row for the failed job


@pytest.mark.slow
def test_sweep_drops_a_torn_row_and_never_duplicates(tmp_path):
    out = tmp_path / "o"
    args = "--lengths 5 --variants rnn_best --seeds 0 1 --max_steps 20 --eval_freq 10 --data_size 200 --workers 1"
    args = [*args.split(), "--device", "cpu", "--patience", "0", "--out", str(out)]
    sweep.main(args)
    rows = sweep.read_rows(out / "sweep.csv")
    assert sorted((r["variant"], r["T"], r["seed"]) for r in rows) == [("rnn_best", "5", "0"), ("rnn_best", "5", "1")]
    text = (out / "sweep.csv").read_text()
    (out / "sweep.csv").write_text(text.rstrip("\n").rsplit("\n", 1)[0] + "\nrnn_best,5,1,0.5")  # a kill mid-row
    sweep.main(args)  # reruns the torn job only
    again = sweep.read_rows(out / "sweep.csv")
    assert [(r["T"], r["seed"]) for r in again].count(("5", "1")) == 1 and len(again) == 2
    rerun = lambda rs: {k: v for k, v in next(r for r in rs if r["seed"] == "1").items() if k != "seconds"}
    assert rerun(again) == rerun(rows)  # the same job gives the same row
    assert (out / "COMMAND.txt").read_text().count("\n") == 1  # the same command is recorded once


@pytest.mark.slow
def test_sweep_rows_do_not_depend_on_the_workers(tmp_path):
    """Two workers, a fresh process per job, give the rows one process gives (all but the timing)."""
    args = "--lengths 5 --variants rnn_best --seeds 0 1 2 --max_steps 20 --eval_freq 10 --data_size 200 --device cpu"
    rows = {}
    for workers in ("1", "2"):
        sweep.main([*args.split(), "--workers", workers, "--out", str(tmp_path / workers)])
        rows[workers] = sorted(
            ({k: v for k, v in r.items() if k != "seconds"} for r in sweep.read_rows(tmp_path / workers / "sweep.csv")),
            key=lambda r: r["seed"],
        )
    assert rows["1"] == rows["2"] and [r["seed"] for r in rows["2"]] == ["0", "1", "2"]


# --------------------------------------------------------------------------- the run folder: one owner, no torn files


def start_in_background(out, *args, wait_for):
    """A toy-MLP run in its own process; returns once ``out/wait_for`` exists."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cs324.mlp.pytorch_train_mlp", *args, "--quiet", "--out", str(out)],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not (out / wait_for).exists() and time.time() < deadline:
        time.sleep(0.05)
    return proc


@pytest.mark.slow
def test_a_second_run_on_a_folder_in_use_is_refused_and_the_first_finishes_cleanly(tmp_path):
    out = tmp_path / "conc"
    # seconds long, while the second command (in this process: no start-up to wait for) is refused at once
    first = start_in_background(
        out, "--max_steps", "10000", "--eval_freq", "2000", "--seed", "0", wait_for="config.json"
    )
    second = run_main("cs324.mlp.pytorch_train_mlp", *TOY, "--seed", "1", "--overwrite", "--out", str(out))
    first.wait(timeout=300)
    assert second.returncode == 2 and len(second.stderr.strip().splitlines()) == 1, second.stderr
    assert f"process {first.pid}" in second.stderr
    assert first.returncode == 0, first.stderr.read()
    import torch

    config = json.loads((out / "config.json").read_text())
    ckpt = torch.load(out / "last.pt", weights_only=False)
    steps = [r["step"] for r in runfolder.read_metrics(out)]
    assert config["seed"] == ckpt["config"]["seed"] == 0
    assert steps == sorted(set(steps)) and steps[-1] == 10000  # one run's records, once each
    assert not (out / runfolder.LOCK_NAME).exists()  # given up at the end


def test_a_stale_lock_is_taken_over(tmp_path, capsys):
    out = tmp_path / "stale"
    out.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (out / runfolder.LOCK_NAME).write_text(f"{gone.pid} somehost\n")  # a run killed with SIGKILL left this
    pytorch_train_mlp.main([*TOY, "--out", str(out)])
    assert runfolder.read_metrics(out)[-1]["step"] == 40
    assert not (out / runfolder.LOCK_NAME).exists()


@pytest.mark.slow
def test_folder_made_unwritable_mid_run_is_one_line_and_resume_finishes(tmp_path):
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    out = tmp_path / "imm"
    run = start_in_background(out, "--max_steps", "5000", "--eval_freq", "100", wait_for="last.pt")
    if subprocess.run(["chattr", "+i", str(out)], capture_output=True).returncode != 0:
        run.send_signal(signal.SIGKILL)
        run.wait()
        pytest.skip("this file system does not support chattr +i (as root, chmod does not stop writes)")
    try:
        err = run.communicate(timeout=300)[1]
    finally:
        subprocess.run(["chattr", "-i", str(out)])
    lines = err.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1 and "Operation not permitted" in lines[0], err
    resumed = run_main(
        "cs324.mlp.pytorch_train_mlp",
        "--max_steps",
        "5000",
        "--eval_freq",
        "100",
        "--quiet",
        "--out",
        str(out),
        "--resume",
    )
    assert resumed.returncode == 0, resumed.stderr
    assert runfolder.read_metrics(out)[-1]["step"] == 5000


def test_a_kill_during_a_metrics_write_then_resume_matches_an_uninterrupted_run(tmp_path, monkeypatch, capsys):
    argv = ["--max_steps", "100", "--eval_freq", "10", "--ckpt_every", "20", "--quiet", "--seed", "3"]
    pytorch_train_mlp.main([*argv, "--out", str(tmp_path / "whole")])

    append, calls = runfolder.append_record, []

    def dies_mid_write(out, record):  # the 7th record (step 60) is half written when the process dies
        calls.append(record["step"])
        if len(calls) == 7:
            with open(out / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record)[:25])
            raise SystemExit(137)
        append(out, record)

    monkeypatch.setattr(runfolder, "append_record", dies_mid_write)
    with pytest.raises(SystemExit):
        pytorch_train_mlp.main([*argv, "--out", str(tmp_path / "cut")])
    monkeypatch.setattr(runfolder, "append_record", append)
    assert not (tmp_path / "cut" / "metrics.jsonl").read_text().endswith("\n")  # the torn line is there
    pytorch_train_mlp.main([*argv, "--out", str(tmp_path / "cut"), "--resume"])
    assert "dropped the torn last line" in capsys.readouterr().err
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("wall_time", "samples_per_s")} for r in rs]
    assert strip(runfolder.read_metrics(tmp_path / "cut")) == strip(runfolder.read_metrics(tmp_path / "whole"))


def test_a_torn_line_before_the_last_is_a_clean_error(tmp_path, capsys):
    out = tmp_path / "run"
    pytorch_train_mlp.main([*TOY, "--out", str(out)])
    lines = (out / "metrics.jsonl").read_text().splitlines()
    lines[1] = lines[1][:10]
    (out / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    before = snapshot(out)
    fails_cleanly(pytorch_train_mlp.main, [*TOY, "--out", str(out), "--resume"], capsys, contains="metrics.jsonl:2")
    assert snapshot(out) == before


def test_debug_shows_the_traceback(tmp_path):
    proc = run_module(
        "cs324.rnn.train", "--input_length", "4", "--data_size", "1", "--out", str(tmp_path / "x"), "--debug"
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "UsageError" in proc.stderr
