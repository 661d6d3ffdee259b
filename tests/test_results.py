"""Committed results are what the README shows, and they meet the issues' bars."""

import csv
from pathlib import Path

from conftest import ROOT


def readme_tables() -> dict:
    """{marker name: (README block, committed file)} for every table marker in the README."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "experiments/update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (ROOT / "README.md").read_text()
    found = {}
    for name, path in module.TABLES.items():
        match = module.marker(name).search(text)
        if match:
            found[name] = (match.group(2), ROOT / path)
    return found


def test_readme_shows_every_committed_table():
    tables = readme_tables()
    assert {"part1_compare", "part2_cnn", "part3_rnn"} <= set(tables)
    for name, (block, path) in tables.items():
        if path.exists():
            assert block == path.read_text(), f"README {name} != {path}: run experiments/update_readme.py"


def test_part1_comparison_meets_the_bar():
    rows = list(csv.DictReader(open(ROOT / "results/part1_compare/table.csv")))
    assert {r["strategy"] for r in rows} == {"sgd", "batch", "minibatch"}
    assert len({r["dataset"] for r in rows}) >= 4
    for r in rows:
        assert float(r["max_param_diff"]) < 1e-10
        if r["dataset"] == "moons":
            assert float(r["numpy_test_acc"]) >= 0.97 and float(r["torch_test_acc"]) >= 0.97


def test_cifar_mlp_best_meets_the_bar():
    """Issue 4's floor: at least 65% test accuracy (model selected on validation), within 60 minutes on the CPU."""
    import json

    import pytest

    run = ROOT / "results/part1_cifar_mlp/best"
    if not (run / "metrics.jsonl").exists():
        pytest.skip("the best MLP has not been run yet")
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    config = json.loads((run / "config.json").read_text())
    chosen = max((r for r in records if "val_acc" in r), key=lambda r: r["val_acc"])
    assert chosen["test_acc"] >= 0.65
    assert records[-1]["wall_time"] <= 3600 and config["device_resolved"] == "cpu"


def chosen(run: Path) -> tuple[dict, dict]:
    """(the evaluation with the best validation accuracy, the run's config)."""
    import json

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    config = json.loads((run / "config.json").read_text())
    return max((r for r in records if "val_acc" in r), key=lambda r: r["val_acc"]), config


def same_config(a: dict, b: dict, ignored: set[str]) -> bool:
    return {k: v for k, v in a.items() if k not in ignored} == {k: v for k, v in b.items() if k not in ignored}


def test_cifar_mlp_best_reruns_from_a_clean_clone_within_one_point():
    """Issue 4's check: the README command rerun from a clean clone, same seed, lands within 1 point of `best`."""
    import pytest

    folder = ROOT / "results/part1_cifar_mlp"
    if not (folder / "rerun_clean_clone/metrics.jsonl").exists():
        pytest.skip("the clean-clone rerun has not been committed yet")
    (best, best_config), (rerun, rerun_config) = chosen(folder / "best"), chosen(folder / "rerun_clean_clone")
    assert same_config(best_config, rerun_config, {"out", "threads", "overwrite"})  # where, and on how many threads
    assert abs(rerun["test_acc"] - best["test_acc"]) <= 0.01 and abs(rerun["val_acc"] - best["val_acc"]) <= 0.01


def test_cnn_spec_run_reruns_on_the_cpu_from_a_clean_clone():
    """Issue 5's check: the README's 5,000-step spec command from a clean clone, on this CPU, lands within
    3 points of the committed GPU run (different device and, before the seeding fix, a different init)."""
    import json

    import pytest

    folder = ROOT / "results/part2_cnn"
    if not (folder / "spec_adam_lr1e-4_cpu_clone/metrics.jsonl").exists():
        pytest.skip("the clean-clone CPU rerun has not been committed yet")
    _, gpu_config = chosen(folder / "spec_adam_lr1e-4")
    _, cpu_config = chosen(folder / "spec_adam_lr1e-4_cpu_clone")
    where = {"out", "threads", "overwrite", "quiet", "device_resolved", "torch_version", "amp_active", "python"}
    assert same_config(gpu_config, cpu_config, where | {"eval_limit"}) and not cpu_config["eval_limit"]
    assert cpu_config["device_resolved"] == "cpu"
    last = lambda run: json.loads((folder / run / "metrics.jsonl").read_text().splitlines()[-1])
    gpu, cpu = last("spec_adam_lr1e-4"), last("spec_adam_lr1e-4_cpu_clone")
    assert cpu["step"] == gpu["step"] == 5000
    assert abs(cpu["test_acc"] - gpu["test_acc"]) <= 0.03 and abs(cpu["val_acc"] - gpu["val_acc"]) <= 0.03


def test_cnn_best_recipe_cpu_run_is_the_recipe_only_shortened():
    """Issue 5's CPU run: the best recipe with fewer steps, on the CPU, finished. (It was sized for 90 minutes
    and took longer; the README and notebook say so, from its wall_time.)"""
    import json

    import pytest

    folder = ROOT / "results/part2_cnn"
    if not (folder / "best_cpu_90min/metrics.jsonl").exists():
        pytest.skip("the 90-minute CPU run has not been committed yet")
    _, gpu_config = chosen(folder / "best")
    best, cpu_config = chosen(folder / "best_cpu_90min")
    shortened = {"max_steps", "eval_freq"}
    where = {"out", "threads", "overwrite", "resume", "quiet", "device", "device_resolved", "torch_version"}
    where |= {"amp_active"}
    # eval_limit came after the GPU run (absent there = 0 = score everything)
    assert same_config(gpu_config, cpu_config, shortened | where | {"python", "eval_limit"})
    assert not cpu_config["eval_limit"]
    last = json.loads((folder / "best_cpu_90min/metrics.jsonl").read_text().splitlines()[-1])
    assert cpu_config["device_resolved"] == "cpu" and cpu_config["max_steps"] < gpu_config["max_steps"]
    assert last["step"] == cpu_config["max_steps"] and 0 < best["test_acc"] <= 1


def test_cnn_cpu_recipe_run_is_the_recipe_within_90_minutes():
    """Issue 5's CPU recipe (--recipe best_cpu): run as committed, finished, on the CPU, within 90 minutes.
    (Its accuracy is below the issue's 92% floor; the README and notebook say so from these files.)"""
    import json

    import pytest

    from cs324.cnn.cnn_train import RECIPES

    run = ROOT / "results/part2_cnn/best_cpu"
    if not (run / "metrics.jsonl").exists():
        pytest.skip("the CPU recipe's run has not been committed yet")
    best, config = chosen(run)
    recipe = json.loads(json.dumps(RECIPES["best_cpu"]))  # tuples -> lists, as in config.json
    assert {k: config[k] for k in recipe} == recipe and config["recipe"] == "best_cpu"
    assert config["device_resolved"] == "cpu" and not config["eval_limit"]
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == config["max_steps"] and last["wall_time"] <= 90 * 60
    assert 0.8 < best["val_acc"] < 1 and 0.8 < best["test_acc"] < 1


def test_cnn_whitening_only_cpu_run_is_the_recipe_plus_whitening_within_90_minutes():
    """The CPU recipe's ingredients apart: the best recipe + --whiten alone (no resizing), sized for 90 minutes."""
    import json

    import pytest

    run = ROOT / "results/part2_cnn/best_whiten"
    if not (run / "metrics.jsonl").exists():
        pytest.skip("the whitening-only CPU run has not been committed yet")
    _, gpu_config = chosen(ROOT / "results/part2_cnn/best")
    best, config = chosen(run)
    where = {"out", "threads", "overwrite", "resume", "quiet", "device", "device_resolved", "torch_version"}
    where |= {"amp_active", "python", "eval_limit", "max_steps", "eval_freq", "whiten", "progressive"}
    assert same_config(gpu_config, config, where) and config["recipe"] == "best"
    assert config["whiten"] is True and config["progressive"] == [] and not config["eval_limit"]
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert config["device_resolved"] == "cpu" and last["step"] == config["max_steps"]
    assert last["wall_time"] <= 90 * 60 and 0.8 < best["val_acc"] < 1


def test_cnn_ema_cpu_run_is_the_whitening_run_plus_ema_only():
    """A controlled test of --ema on this CPU: best_whiten's exact config and seed plus --ema 0.998, within
    90 minutes. Same seed, so both start from the same weights: their step-0 evaluations are identical."""
    import pytest

    from cs324.runtime import read_metrics

    run, base = ROOT / "results/part2_cnn/best_whiten_ema", ROOT / "results/part2_cnn/best_whiten"
    if not (run / "metrics.jsonl").exists():
        pytest.skip("the EMA CPU run has not been committed yet")
    (best, config), (_, base_config) = chosen(run), chosen(base)
    assert config.pop("ema") == 0.998 and "ema" not in base_config  # best_whiten predates the flag (= off)
    where = {"out", "threads", "python", "torch_version"}
    assert same_config(base_config, config, where) and config["device_resolved"] == "cpu"
    records, base_records = read_metrics(run), read_metrics(base)
    assert [r["step"] for r in records] == [r["step"] for r in base_records]
    first, base_first = records[0], base_records[0]
    assert first["step"] == 0
    assert all(first[k] == base_first[k] for k in ("val_loss", "val_acc", "test_loss", "test_acc"))
    assert records[-1]["step"] == config["max_steps"] and records[-1]["wall_time"] <= 90 * 60
    assert 0.8 < best["val_acc"] < 1
    # Bit-identical training (the average only changes what is scored), and the README's reading of the run:
    # the average is ahead while the rate is high, behind at the last evaluation, which both runs select.
    assert [r.get("train_loss") for r in records] == [r.get("train_loss") for r in base_records]
    ahead = [e["val_acc"] > b["val_acc"] for e, b in zip(records[1:], base_records[1:])]
    assert all(ahead[:-1]) and not ahead[-1] and best["step"] == config["max_steps"]


def test_cnn_short_budget_augmentation_cpu_run_is_the_recipe_with_airbench_augmentation():
    """The best recipe with the augmentation airbench sizes for ~10 epochs (2 px shifts, alternating flip), on
    this CPU within 90 minutes: the GPU run's config but for those two flags and the step budget."""
    import json

    import pytest

    from cs324.cnn.cnn_train import RECIPES
    from cs324.runtime import read_metrics

    run = ROOT / "results/part2_cnn/best_pad2_altflip"
    if not (run / "metrics.jsonl").exists():
        pytest.skip("the short-budget augmentation CPU run has not been committed yet")

    (best, config), (_, gpu_config) = chosen(run), chosen(ROOT / "results/part2_cnn/best")
    recipe = RECIPES["best_cpu_light_aug"]  # the recipe that reruns it
    assert {k: config[k] for k in recipe} == recipe
    assert (config.pop("crop_pad"), config.pop("alternate_flip")) == (2, True)
    assert config.pop("ema") == 0 and config.pop("whiten") is False and config.pop("progressive") == []
    where = {"out", "threads", "overwrite", "resume", "quiet", "device", "device_resolved", "torch_version"}
    where |= {"amp_active", "python", "max_steps", "eval_freq", "eval_limit"}
    assert same_config(gpu_config, config, where) and config["recipe"] == "best" and not config["eval_limit"]
    last = read_metrics(run)[-1]
    assert config["device_resolved"] == "cpu" and last["step"] == config["max_steps"]
    assert last["wall_time"] <= 90 * 60 and 0.8 < best["val_acc"] < 1
    # The README's reading: the CPU runs under-fit (final training accuracy within 2.5 points of validation; the
    # GPU run's 6 above), and this one has the best validation accuracy of them, with and without TTA.
    # (the fp32 CPU runs: the machine without native bf16; best_cpu_bf16 has its own test)
    cpu_runs = [
        "best_cpu",
        "best_cpu_90min",
        "best_whiten",
        "best_whiten_ema",
        "best_pad2_altflip",
        "best_pad2_altflip_whiten",
    ]
    for name in cpu_runs:
        gap = (
            read_metrics(ROOT / "results/part2_cnn" / name)[-1]["train_acc"]
            - chosen(ROOT / "results/part2_cnn" / name)[0]["val_acc"]
        )
        assert abs(gap) < 0.025, name
    gpu_gap = (
        read_metrics(ROOT / "results/part2_cnn/best")[-1]["train_acc"]
        - chosen(ROOT / "results/part2_cnn/best")[0]["val_acc"]
    )
    assert gpu_gap > 0.05
    assert best["val_acc"] == max(chosen(ROOT / "results/part2_cnn" / name)[0]["val_acc"] for name in cpu_runs)
    tta = {p.parent.name: json.loads(p.read_text())["val_acc"] for p in (ROOT / "results/part2_cnn").glob("*/tta.json")}
    assert max((name for name in tta if name in cpu_runs), key=tta.get) == "best_pad2_altflip"


def test_whitening_on_the_light_augmentation_leads_mid_run_and_ends_level():
    """best_pad2_altflip_whiten: best_pad2_altflip's recipe and seed plus --whiten (README: the whitened layer leads
    at the mid-run evaluation, and validation ends level with the run without it, so the recipe keeps it off)."""
    import pytest

    from cs324.runtime import read_metrics

    run, base = ROOT / "results/part2_cnn/best_pad2_altflip_whiten", ROOT / "results/part2_cnn/best_pad2_altflip"
    if not (run / "metrics.jsonl").exists():
        pytest.skip("the whitening-on-light-augmentation CPU run has not been committed yet")
    (_, config), (_, base_config) = chosen(run), chosen(base)
    assert config.pop("whiten") is True and base_config.pop("whiten") is False
    assert config["recipe"] == "best_cpu_light_aug" and config["device_resolved"] == "cpu"
    assert same_config(base_config, config, {"out", "resume", "ckpt_every", "recipe", "torch_version", "python"})
    with_white, without = read_metrics(run), read_metrics(base)
    assert [m["step"] for m in with_white] == [m["step"] for m in without] == [0, 1800, 3600]
    assert with_white[1]["val_acc"] > without[1]["val_acc"] + 0.005  # ahead mid-run
    assert abs(with_white[-1]["val_acc"] - without[-1]["val_acc"]) < 0.002  # level at the end


def test_cnn_best_recipe_on_a_cpu_with_native_bf16_reaches_the_floor_within_90_minutes():
    """best_cpu_bf16: the GPU run's recipe (bf16 autocast, which that CPU runs natively) at 10,000 steps of 128
    instead of 8,800, on 2 CPU cores within 90 minutes. README: the issue's 92% floor is met there, on the test
    split at the validation-chosen step and with the validation-chosen test-time scheme; at 28 epochs the
    recipe over-fits as the GPU run does (training accuracy ends > 5 points above validation)."""
    import json

    import pytest

    from cs324.cnn.cnn_train import RECIPES
    from cs324.runtime import read_metrics

    run = ROOT / "results/part2_cnn/best_cpu_bf16"
    if not (run / "metrics.jsonl").exists():
        pytest.skip("the bf16 CPU run has not been committed yet")
    (best, config), (_, gpu_config) = chosen(run), chosen(ROOT / "results/part2_cnn/best")
    assert config["device_resolved"] == "cpu" and config["amp_active"] is True and config["amp"] is True
    # flags added after the GPU run, all at their off value here
    assert (config.pop("ema"), config.pop("whiten"), config.pop("progressive")) == (0, False, [])
    assert (config.pop("crop_pad"), config.pop("alternate_flip")) == (4, False)
    where = {"out", "threads", "overwrite", "resume", "quiet", "device", "device_resolved", "torch_version"}
    where |= {"amp_active", "python", "ckpt_every", "max_steps", "eval_freq", "eval_limit"}
    assert same_config(gpu_config, config, where) and config["recipe"] == "best" and not config["eval_limit"]
    assert (config["max_steps"], config["eval_freq"]) == (10000, 1000)
    assert {k: config[k] for k in RECIPES["best_cpu_bf16"]} == RECIPES["best_cpu_bf16"]  # the recipe that reruns it
    metrics = read_metrics(run)
    last = metrics[-1]
    assert last["step"] == 10000 and last["wall_time"] <= 90 * 60
    gpu_best = chosen(ROOT / "results/part2_cnn/best")[0]
    assert (
        best["test_acc"] >= 0.92 and best["val_acc"] > gpu_best["val_acc"] and best["test_acc"] > gpu_best["test_acc"]
    )
    assert last["wall_time"] <= 65 * 60  # "in about an hour"
    tta = json.loads((run / "tta.json").read_text())
    assert tta["bf16_autocast"] is True and tta["val_acc"] > best["val_acc"] and tta["test_acc"] > best["test_acc"]
    assert last["train_acc"] - best["val_acc"] > 0.05


def test_bf16_autocast_on_the_cpu_keeps_the_accuracy_at_over_twice_the_speed():
    """README: best_pad2_altflip_bf16 is best_pad2_altflip's command and seed in bf16 on the bf16 machine
    (validation within half a point, under a third of the time), and that machine's benchmark measures bf16
    autocast at more than 2x the plain fp32 step in one run (the issue's speed aim)."""
    import json

    import pytest

    run, base = ROOT / "results/part2_cnn/best_pad2_altflip_bf16", ROOT / "results/part2_cnn/best_pad2_altflip"
    bench_path = ROOT / "results/benchmarks/cpu_bf16/cnn.json"
    if not (run / "metrics.jsonl").exists() or not bench_path.exists():
        pytest.skip("the bf16 CPU comparison has not been committed yet")
    (best16, config), (best32, base_config) = chosen(run), chosen(base)
    assert (config.pop("amp_active"), base_config.pop("amp_active")) == (True, False)
    assert config["recipe"] == "best_cpu_light_aug" and config["device_resolved"] == "cpu"
    where = {"out", "resume", "ckpt_every", "recipe", "torch_version", "python", "cpu", "cpu_native_bf16"}
    assert same_config(base_config, config, where)
    assert best16["step"] == best32["step"] == 3600 and abs(best16["val_acc"] - best32["val_acc"]) < 0.005
    assert best16["wall_time"] < best32["wall_time"] / 3
    bench = json.loads(bench_path.read_text())
    rows = {r["setting"]: r["images_per_s"] for r in bench["rows"]}
    assert bench["cpu_native_bf16"] is True
    assert rows["bf16 autocast channels-last, batch 128"] > 2 * rows["fp32 NCHW, batch 128 (plain)"]


def test_label_smoothing_off_leads_mid_run_and_ends_level_on_the_bf16_cpu():
    """best_pad2_altflip_bf16_ls0: best_pad2_altflip_bf16's command and seed plus --label_smoothing 0 (README: ahead
    at the mid-run evaluation, level at the end, a little lower on both splits with test-time translations)."""
    import json

    import pytest

    from cs324.runtime import read_metrics

    run, base = ROOT / "results/part2_cnn/best_pad2_altflip_bf16_ls0", ROOT / "results/part2_cnn/best_pad2_altflip_bf16"
    if not (run / "metrics.jsonl").exists():
        pytest.skip("the label-smoothing test has not been committed yet")
    (_, config), (_, base_config) = chosen(run), chosen(base)
    assert (config.pop("label_smoothing"), base_config.pop("label_smoothing")) == (0.0, 0.1)
    assert config["amp_active"] is True and base_config["amp_active"] is True
    assert same_config(base_config, config, {"out"})
    without, with_ls = read_metrics(run), read_metrics(base)
    assert [m["step"] for m in without] == [m["step"] for m in with_ls] == [0, 1800, 3600]
    assert without[1]["val_acc"] > with_ls[1]["val_acc"] + 0.005  # ahead mid-run
    assert abs(without[-1]["val_acc"] - with_ls[-1]["val_acc"]) < 0.002  # level at the end
    tta, base_tta = (json.loads((r / "tta.json").read_text()) for r in (run, base))
    assert tta["val_acc"] < base_tta["val_acc"] and tta["test_acc"] < base_tta["test_acc"]


def test_committed_tta_tables_choose_on_validation():
    """Every committed tta.json (python -m cs324.cnn.tta RUN): its 'flip' row re-scores the checkpoint as
    training did, and the reported test accuracy is the one of the scheme with the best validation accuracy."""
    import json

    import pytest

    tables = sorted((ROOT / "results/part2_cnn").glob("*/tta.json"))
    if not tables:
        pytest.skip("no TTA table committed yet")
    for path in tables:
        table = json.loads(path.read_text())
        schemes = table["schemes"]
        best, _ = chosen(path.parent)
        assert table["checkpoint"] == "best.pt" and table["step"] == best["step"]
        assert abs(schemes["flip"]["val_acc"] - best["val_acc"]) <= 0.002, path
        assert abs(schemes["flip"]["test_acc"] - best["test_acc"]) <= 0.002, path
        top = max(s["val_acc"] for s in schemes.values())
        assert table["val_acc"] == top == schemes[table["selected_on_val"]]["val_acc"]
        assert table["test_acc"] == schemes[table["selected_on_val"]]["test_acc"] and table["n_test"] == 1000


def test_cnn_ablation_on_the_bf16_cpu_is_the_best_recipe_shortened_one_ingredient_at_a_time():
    """results/part2_cnn_ablation_cpu_bf16: every variant of --recipe best ran its 1,500 steps on the bf16 CPU,
    its config the full recipe's changed only where the variant's flags say, and the committed table, chart
    and command are what the metrics and the ablation command give."""
    import json

    import pytest

    from cs324.cnn.ablation import ONLY_FOR, VARIANTS, summarise, table_markdown
    from cs324.runtime import read_metrics

    folder = ROOT / "results/part2_cnn_ablation_cpu_bf16"
    if not (folder / "ablation.json").exists():
        pytest.skip("the CPU ablation has not finished yet")
    command = "python -m cs324.cnn.ablation --out results/part2_cnn_ablation_cpu_bf16 --recipe best "
    command += "--max_steps 1500 --eval_freq 300 --device cpu"
    assert (folder / "COMMAND.txt").read_text().splitlines() == [command]
    variants = [v for v in VARIANTS if ONLY_FOR.get(v, "best") == "best"]
    config = {v: json.loads((folder / v / "config.json").read_text()) for v in variants}
    full = config["full"]
    assert (full["recipe"], full["max_steps"], full["seed"], full["eval_limit"]) == ("best", 1500, 0, 0)
    assert full["amp_active"] is True and full["cpu_native_bf16"] is True and full["device_resolved"] == "cpu"
    for v in variants:
        assert read_metrics(folder / v)[-1]["step"] == 1500, v
        changed = {k for k in full if config[v][k] != full[k]} - {"out", "overwrite", "resume"}
        flags = {f.removeprefix("--").removeprefix("no-") for f in VARIANTS[v][1] if f.startswith("--")}
        assert changed <= flags and (changed or v == "full"), (v, changed)
    rows = summarise(folder, variants)
    assert rows == json.loads((folder / "ablation.json").read_text())
    assert (folder / "ablation.md").read_text() == table_markdown(rows, 1000, 5000)
    assert (folder / "ablation.png").stat().st_size > 0


def test_cnn_ablation_on_the_bf16_cpu_readings():
    """README bullets under the CPU ablation table (1,500 steps of the best recipe, validation decides)."""
    import json

    import pytest

    from cs324.cnn.ablation import noise_band

    folder = ROOT / "results/part2_cnn_ablation_cpu_bf16"
    if not (folder / "ablation.json").exists():
        pytest.skip("the CPU ablation has not finished yet")
    rows = {r["variant"]: r for r in json.loads((folder / "ablation.json").read_text())}
    full, band = rows["full"], noise_band(rows["full"]["val_acc"], 5000)
    # the schedule matters most; the EMA costs at the end of a short one-cycle run
    assert rows["no_schedule"]["delta_val"] < -3 * band and rows["none"]["delta_val"] < -3 * band
    assert -3 * band <= rows["plus_ema"]["delta_val"] < -band
    assert rows["plus_ema"]["final_train_acc"] == full["final_train_acc"]  # the same training, scored averaged
    # augmentation costs at four epochs: the full recipe under-fits, the un-augmented run fits furthest
    for v in ("no_crop", "no_augment"):
        assert rows[v]["delta_val"] > band and rows[v]["delta_test"] > 0, v
    assert full["final_train_acc"] < full["val_acc"]
    assert rows["no_augment"]["final_train_acc"] == max(r["final_train_acc"] for r in rows.values())
    assert 0 < rows["short_budget_aug"]["delta_val"] <= band and rows["short_budget_aug"]["delta_val"] < min(
        rows["no_crop"]["delta_val"], rows["no_augment"]["delta_val"]
    )
    for v in ("no_label_smoothing", "no_weight_decay", "adam", "no_tta"):
        assert abs(rows[v]["delta_val"]) <= band, v


def test_cnn_ablation_seed_alone_moves_the_full_recipe_within_the_band():
    """README: the full recipe with seed 1 (same command otherwise) lands within the noise band of seed 0, but
    by more than a third of its width, enough to carry short_budget_aug (near the band's edge) across it."""
    import json

    import pytest

    from cs324.cnn.ablation import noise_band

    folder = ROOT / "results/part2_cnn_ablation_cpu_bf16"
    if not (folder / "seed1" / "ablation.json").exists():
        pytest.skip("the seed-1 rerun has not been committed yet")
    command = "python -m cs324.cnn.ablation --out results/part2_cnn_ablation_cpu_bf16/seed1 --recipe best "
    command += "--max_steps 1500 --eval_freq 300 --device cpu --seed 1 --variants full"
    assert (folder / "seed1" / "COMMAND.txt").read_text().splitlines() == [command]
    configs = [json.loads((f / "full" / "config.json").read_text()) for f in (folder, folder / "seed1")]
    assert {k for k in configs[0] if configs[0][k] != configs[1][k]} == {"seed", "out"}
    seed0 = next(r for r in json.loads((folder / "ablation.json").read_text()) if r["variant"] == "full")
    seed1 = next(r for r in json.loads((folder / "seed1" / "ablation.json").read_text()) if r["variant"] == "full")
    band = noise_band(seed0["val_acc"], 5000)
    assert band / 3 < abs(seed1["val_acc"] - seed0["val_acc"]) <= band
    short = next(r for r in json.loads((folder / "ablation.json").read_text()) if r["variant"] == "short_budget_aug")
    assert abs(short["delta_val"] - band) < abs(seed1["val_acc"] - seed0["val_acc"])  # the seed can carry it across


PART3_SWEEPS = ["part3_rnn_success", "part3_rnn_t100", "part3_rnn_t20"]


def test_part3_sweeps_hold_one_row_per_job_and_their_commands():
    from cs324.rnn.sweep import read_rows

    for name in PART3_SWEEPS:
        folder = ROOT / "results" / name
        rows = read_rows(folder / "sweep.csv")
        keys = [(r["variant"], r["T"], r["seed"]) for r in rows]
        assert rows and len(keys) == len(set(keys)), name
        assert (folder / "COMMAND.txt").read_text().startswith("python -m cs324.rnn.sweep")


def test_part3_success_and_t100_tables_are_rebuilt_from_their_rows():
    from cs324.rnn import analysis, success

    folder = ROOT / "results/part3_rnn_success"
    rows = analysis.load_sweep(folder)
    table = success.success_table(rows)
    parity = {v: success.parity_test(p) for v, p in table.items()}
    n_val = "20% of the distinct palindromes drawn (--data_size), never seen in training"
    assert (folder / "success.md").read_text() == success.markdown(table, parity, n_val)
    t100 = ROOT / "results/part3_rnn_t100"
    t100_rows = analysis.load_sweep(t100)
    assert (t100 / "summary.md").read_text() == analysis.summary_markdown(analysis.summarise(t100_rows), t100_rows)


def test_part3_gradients_come_from_the_kept_runs():
    import json

    measured = json.loads((ROOT / "results/part3_rnn_gradients/gradients.json").read_text())
    runs = {
        p.name for name in ("part3_rnn_t100", "part3_rnn_t20") for p in (ROOT / "results" / name / "runs").iterdir()
    }
    assert measured and {m["run"] for m in measured} <= runs
    for m in measured:
        assert len(m["grad_norm_initial"]) == len(m["grad_norm_trained"]) == m["T"] - 1
