"""The report's closing sections: published numbers beside ours, the exploratory runs (appendix A)
and the speed benchmarks (appendix B), and the one helper that quotes a result's command."""

from __future__ import annotations

import sys
from pathlib import Path

from cs324.document import ROOT, Heading, Para, Table, md_table


def published(results: Path) -> list:
    import csv

    from cs324.results import mean_std, run_folders, seed_summary, summarise_run

    path = ROOT / "docs/published.csv"
    rows = [list(r.values()) for r in csv.DictReader(open(path))]
    head = [*next(csv.reader(open(path)))]
    ours = (
        ("Part I Task 3", "part1_cifar_mlp_plain", "ours: plain MLP (headline)"),
        ("Part I Task 3", "part1_cifar_mlp_best", "ours: best MLP (headline)"),
        ("Part II", "part2_cnn_spec", "ours: reduced VGG, spec run (headline)"),
        ("Part II", "part2_cnn_best", "ours: reduced VGG, best recipe (headline)"),
    )
    for part, folder, name in ours:
        runs = [summarise_run(r) for r in run_folders(results / folder)] if (results / folder).is_dir() else []
        if runs:
            m = seed_summary(runs)
            rows.append(
                [
                    part,
                    name,
                    mean_std(m["test_mean"], m["test_std"], m["n"]),
                    f"{runs[0]['epochs']:.1f} epochs",
                    f"results/{folder}, {m['n_test'][0]:,} test images",
                ]
            )
    rows.sort(key=lambda r: r[0])
    return [
        Heading("4. Against published numbers"),
        Para(
            "Published test accuracies for the same kinds of model (docs/published.csv, each with its source) beside "
            "ours, with the number of epochs each was trained for."
        ),
        Table(head, rows, "CIFAR-10 test accuracy, published and ours"),
    ]


def exploratory(results: Path, shown: set[str] = frozenset()) -> list[tuple[str, str]]:
    """(folder under results/, why it is not a headline result): the manifest's other entries, then the archive."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("manifest", ROOT / "experiments/manifest.py")
    manifest = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("manifest", manifest)  # its dataclasses look their module up there
    spec.loader.exec_module(manifest)
    out = [
        (e.name, "a supporting run at this commit, not a headline result")
        for e in manifest.ENTRIES
        if not e.headline and e.name not in shown | {"benchmarks"}
    ]
    archive = results / "archive/README.md"
    commits: dict[str, list[str]] = {}  # top-level archived folder -> the commits that made its runs
    if archive.exists():
        for line in archive.read_text().splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if line.startswith("| `") and len(cells) >= 2:
                commits.setdefault(cells[0].strip("`").split("/")[0], []).append(cells[1])
    for folder, made in commits.items():
        made = list(dict.fromkeys(made))  # each commit once, in the order of the runs
        out.append((f"archive/{folder}", f"archived, made at commit{'s' * (len(made) > 1)} {', '.join(made)}"))
    return out


def appendix_exploratory(results: Path, shown: set[str] = frozenset()) -> list:
    """Exploratory and superseded runs: one seed, some on the first 1,000 test images only."""
    blocks = [
        Heading("Appendix A. Exploratory and superseded runs"),
        Para(
            "Not headline results: one seed each, and the CIFAR-10 ones scored on the first 1,000 test images "
            f"(the standard error of one accuracy near 90% is then {100 * (0.9 * 0.1 / 1000) ** 0.5:.2f} points). "
            "They are cited in the analysis only as such."
        ),
    ]
    for folder, why in exploratory(results, shown):
        f = results / folder
        table = next((f / n for n in ("table.md", "summary.md", "ablation.md") if (f / n).exists()), None)
        if table:
            blocks += [Para(f"{folder}: {why}. Command: {commands(f)}."), md_table(table, folder)]
    return blocks


def appendix_speed(results: Path) -> list:
    bench = results / "benchmarks"
    blocks = [Heading("Appendix B. Speed")]
    for folder in sorted([bench, *(p for p in bench.glob("*") if p.is_dir())]) if bench.is_dir() else []:
        for name in ("mlp", "cifar_mlp", "cnn", "rnn"):
            if (folder / f"{name}.md").exists():
                where = folder.name if folder != bench else "an earlier machine"
                blocks += [
                    Para(f"{name} on {where} (command: {commands(folder, f'COMMAND_{name}.txt')}):"),
                    md_table(folder / f"{name}.md", f"{name}, {where}"),
                ]
    return blocks if len(blocks) > 1 else []


def commands(folder: Path, name: str = "COMMAND.txt") -> str:
    """The command lines recorded beside a result (comments dropped)."""
    f = folder / name
    if not f.exists():
        return "see experiments/manifest.py"
    return " | ".join(line.strip() for line in f.read_text().splitlines() if line.strip() and not line.startswith("#"))
