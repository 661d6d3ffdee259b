"""Write docs/experiments.md: what the experiments that lost taught, every number read from their metrics.

    python experiments/lessons.py            # rewrites docs/experiments.md from results/archive/

The code of these experiments was removed; it lived at commit ``CODE_COMMIT`` (``git show
CODE_COMMIT:src/cs324/cifar.py``). The runs stay in ``results/archive/`` (its README names the
commit that made each).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cs324.cnn.ablation import noise_band  # noqa: E402
from cs324.cnn.cnn_train import RECIPES  # noqa: E402
from cs324.results import summarise_run  # noqa: E402
from cs324.runtime import read_metrics  # noqa: E402

ARCHIVE = ROOT / "results/archive"
CPU = ARCHIVE / "part2_cnn_cpu"
MLP_WHITEN = ARCHIVE / "part1_mlp_whitening_probe"
MLP_WHITEN_COMMIT = "eb341bc"  # the commit holding the MLP's --whiten
MLP_AFFINE = ARCHIVE / "part1_mlp_affine_probe"
MLP_AFFINE_COMMIT = "4d83351"  # the commit holding --augment affine
DROPOUT02 = "results/part1_cifar_mlp_dropout02"  # the 140-epoch mirror-and-crop run at the probe's dropout
CODE_COMMIT = "0abca17"  # the last commit holding the code of whitening, progressive resizing, cutout, alt. flips


def run(name: str, folder: Path = CPU) -> dict:
    """Best validation accuracy, the test accuracy there, steps and minutes of one archived run."""
    row = summarise_run(folder / name)
    config = json.loads((folder / name / "config.json").read_text())
    row["n_val"], row["minutes"] = config["val_size"], row["wall_s"] / 60
    return row


def pct(acc: float) -> str:
    return f"{100 * acc:.1f}%"


def versus(a: dict, b: dict) -> str:
    """'a' against 'b' on validation, with the two-standard-error band of a difference."""
    diff = 100 * (a["best_val_acc"] - b["best_val_acc"])
    band = 100 * noise_band(b["best_val_acc"], b["n_val"])
    verdict = "within noise" if abs(diff) <= band else ("better" if diff > 0 else "worse")
    return f"{diff:+.1f} points on validation ({verdict}: two standard errors of a difference are ±{band:.1f})"


def describe(r: dict) -> str:
    return (
        f"validation {pct(r['best_val_acc'])} (test {pct(r['test_acc_at_best_val'])} on {r['n_test']:,} images) "
        f"after {r['steps']:,} steps in {r['minutes']:.0f} minutes"
    )


def paragraphs() -> list[tuple[str, str]]:
    plain, whiten, cpu = run("best_cpu_90min"), run("best_whiten"), run("best_cpu")
    probe = {name: run(name, CPU / "probe_300") for name in ("best", "best_whiten", "best_whiten_progressive")}
    light, light_whiten, ema = run("best_pad2_altflip"), run("best_pad2_altflip_whiten"), run("best_whiten_ema")
    bf16, bf16_ls0 = run("best_pad2_altflip_bf16"), run("best_pad2_altflip_bf16_ls0")
    rows = json.loads((ARCHIVE / "part2_cnn_ablation_cpu_bf16/ablation.json").read_text())
    ablation = {r["variant"]: r for r in rows}
    p = probe
    full = summarise_run(ARCHIVE / "part2_cnn_ablation_cpu_bf16/full")
    full_steps = json.loads((ARCHIVE / "part2_cnn_ablation_cpu_bf16/full/config.json").read_text())["max_steps"]
    share = full_steps / RECIPES["best"]["max_steps"]
    speed = {
        r["setting"]: r["images_per_s"]
        for r in json.loads((ARCHIVE / "benchmarks_cpu_unrecorded/cnn.json").read_text())["rows"]
    }
    cost16 = speed["fp32 channels-last, batch 128"] / speed["fp32 channels-last, batch 128, 16 px images"]
    ema_decay = json.loads((CPU / "best_whiten_ema/config.json").read_text())["ema"]
    mlp, mlp_white = run("best", MLP_WHITEN), run("best_whiten", MLP_WHITEN)
    eps = json.loads((MLP_WHITEN / "best_whiten/config.json").read_text())["whiten"]
    affine, affine_long = run("affine", MLP_AFFINE), run("affine_double", MLP_AFFINE)
    # mirror-and-crop seed 0 of the recipe the probe changed (dropout 0.2), at 70 epochs and at 140, same CPU and bf16
    crop, crop_long = run("full", ROOT / "results/part1_cifar_mlp_ablation"), run("seed0", ROOT / DROPOUT02)
    long_crop_there = next(  # the stopped run against mirror-and-crop at the same step of the same schedule
        r for r in read_metrics(ROOT / DROPOUT02 / "seed0") if "val_acc" in r and r["step"] == affine_long["steps"]
    )
    return [
        (
            "A whitened, frozen first layer",
            "The airbench trainers set the first convolution to the whitening basis of the training patches and "
            "freeze it. In a 300-step probe it took the best recipe's validation accuracy from "
            f"{pct(p['best']['best_val_acc'])} to {pct(p['best_whiten']['best_val_acc'])}. Over a full CPU budget "
            f"it did not pay: the best recipe with it reached {describe(whiten)}, without it {describe(plain)}; "
            f"{versus(whiten, plain)}. What wins the first epoch is not what wins the last.",
        ),
        (
            "Progressive resizing",
            f"Training on 16 px, then 24 px, then 32 px images (a 16 px step costs {cost16:.2f} of a full one on the "
            f"CPU of results/archive/benchmarks_cpu_unrecorded/cnn.md) lifted the 300-step probe further, to "
            f"{pct(p['best_whiten_progressive']['best_val_acc'])}. With whitening, over {cpu['steps']:,} steps: "
            f"{describe(cpu)}; {versus(cpu, plain)} against plain 32 px epochs.",
        ),
        (
            "Lighter augmentation for a short budget",
            "The airbench trainers, built for about 10 epochs, shift by up to 2 px (not 4) and mirror each image "
            f"in alternate epochs. On the best recipe: {describe(light)}; {versus(light, plain)}. Whitening on "
            f"top: {describe(light_whiten)}; {versus(light_whiten, light)}. Not worth a second way to augment.",
        ),
        (
            "Weight averaging (EMA)",
            f"Scoring an exponential moving average of the weights (decay {ema_decay}) of the whitened run: "
            f"{describe(ema)}; {versus(ema, whiten)}. Under a schedule that anneals the rate to 0 the last "
            "weights are already an average; the EMA lags behind them. The flag `--ema` stays.",
        ),
        (
            "Label smoothing on a short budget",
            f"Without label smoothing the light-augmentation run on a CPU with native bf16 reached "
            f"{describe(bf16_ls0)}, with it {describe(bf16)}; {versus(bf16_ls0, bf16)}.",
        ),
        (
            f"The ablation at {share:.0%} of the best recipe's length",
            f"Taken apart at {full_steps:,} steps ({full['epochs']:.1f} epochs), the full recipe reached validation "
            f"{pct(ablation['full']['val_acc'])}. Removing augmentation changed that by "
            f"{100 * ablation['no_augment']['delta_val']:+.1f} points and the crop alone by "
            f"{100 * ablation['no_crop']['delta_val']:+.1f}: at this length augmentation costs more fit than it "
            f"buys. The one-cycle schedule mattered most ({100 * ablation['no_schedule']['delta_val']:+.1f} without "
            f"it), and the skeleton's settings together cost {100 * ablation['none']['delta_val']:+.1f}. A full-"
            "length ablation needs a GPU.",
        ),
        (
            "ZCA whitening of the MLP's input",
            "Pixels are strongly correlated, so the first Linear layer of an MLP sees an ill-conditioned input; "
            "fully connected networks of the kernel literature gain from ZCA-whitened images. A frozen ZCA map "
            f"(regulariser {eps} of the mean eigenvalue) in front of the best MLP recipe, {mlp['epochs']:.0f}-epoch "
            f"probes side by side: {describe(mlp_white)}, without it {describe(mlp)}; {versus(mlp_white, mlp)}, "
            f"at {mlp_white['wall_s'] / mlp['wall_s']:.2f}x the time (the 3072x3072 map is a layer of its own). "
            "A likely cause: whitening amplifies the low-variance, high-frequency directions, which a 4 px crop "
            "changes most from one view of an image to the next. Only this short probe was run: a method that is "
            "behind and slower per step was not given the full budget. The code lived at commit "
            f"`{MLP_WHITEN_COMMIT}`.",
        ),
        (
            "Random affine deformations for the MLP",
            "Lin et al. (2015) took fully connected networks on CIFAR-10 from about 70% to 78% by training on "
            "deformed images. Mirror, then a random rotation (up to 10 degrees), scale (0.9-1.1) and shift (up to "
            "4 px), one `grid_sample` a batch, in place of mirror-and-crop in the best MLP recipe (seed 0, bf16 on "
            f"the CPU of its mirror-and-crop runs): at {affine['epochs']:.0f} epochs {describe(affine)} (one thread, "
            f"beside another run), with "
            f"mirror-and-crop {describe(crop)}; {versus(affine, crop)}. Training accuracy on the augmented batches "
            f"ended at {pct(affine['final_train_acc'])} against {pct(crop['final_train_acc'])}: deformations are "
            "barely harder to fit than shifts. The run over twice the schedule was stopped at epoch "
            f"{affine_long['epochs']:.0f} of {crop_long['epochs']:.0f}, where it read "
            f"{pct(affine_long['final_val_acc'])} on validation against {pct(long_crop_there['val_acc'])} for "
            "mirror-and-crop at the same step of the same schedule: no sign of a late lead. The kind of geometric "
            "augmentation is not what holds the MLP "
            f"back at this budget. The code lived at commit `{MLP_AFFINE_COMMIT}`.",
        ),
        (
            "Cutout",
            "A `flipcrop_cutout` augmentation (a 12 px square zeroed per image) was implemented but no committed "
            "run chose it; it was removed unused.",
        ),
    ]


def render() -> str:
    lines = [
        "# What the experiments that lost taught",
        "",
        "Generated by `python experiments/lessons.py` from the runs in `results/archive/` (one seed each; "
        "the number of test images is given with each figure; the validation split is 5,000 training images). "
        f"Their code was removed; unless a paragraph names another, it lived at commit `{CODE_COMMIT}`.",
        "",
    ]
    for title, text in paragraphs():
        lines += [f"## {title}", "", text, ""]
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    (ROOT / "docs/experiments.md").write_text(render())
    print("wrote docs/experiments.md")
