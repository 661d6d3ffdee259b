"""Copy the committed result tables into README.md between their markers (never typed by hand).

python experiments/update_readme.py      # <!-- table:NAME --> ... <!-- /table:NAME -->
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLES = {
    "part1_compare": "results/part1_compare/table.md",
    "part1_cifar_mlp": "results/part1_cifar_mlp/table.md",
    "bench_cifar_mlp": "results/benchmarks/cifar_mlp.md",
    "part2_cnn": "results/part2_cnn/table.md",
    "part2_cnn_spec": "results/part2_cnn_spec/table.md",
    "bench_cnn": "results/benchmarks/cnn.md",
    "bench_cnn_bf16": "results/benchmarks/cpu_bf16/cnn.md",
    "part2_cnn_tta": "results/part2_cnn/tta.md",
    "part2_cnn_ablation": "results/part2_cnn_ablation/ablation.md",
    "part2_cnn_ablation_cpu_bf16": "results/part2_cnn_ablation_cpu_bf16/ablation.md",
    "part3_rnn": "results/part3_rnn/summary.md",
    "part3_rnn_goals": "results/part3_rnn_goals/summary.md",
    "part3_rnn_t100": "results/part3_rnn_t100/summary.md",
}


def marker(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- table:{name} -->\n)(.*?)(<!-- /table:{name} -->)", re.S)


def main() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, path in TABLES.items():
        if marker(name).search(readme) and (ROOT / path).exists():
            readme = marker(name).sub(lambda m, p=path: m.group(1) + (ROOT / p).read_text() + m.group(3), readme)
    (ROOT / "README.md").write_text(readme)
    print("README tables updated")


if __name__ == "__main__":
    main()
