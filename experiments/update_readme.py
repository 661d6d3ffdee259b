"""Copy the committed result tables into README.md between their markers (never typed by hand).

    python experiments/update_readme.py      # <!-- table:NAME --> ... <!-- /table:NAME -->
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLES = {
    "part1_compare": "results/part1_compare/table.md",
    "part2_cnn": "results/part2_cnn/table.md",
    "part3_rnn": "results/part3_rnn/summary.md",
}

readme = (ROOT / "README.md").read_text()
for name, path in TABLES.items():
    pattern = re.compile(rf"(<!-- table:{name} -->\n).*?(<!-- /table:{name} -->)", re.S)
    if pattern.search(readme) and (ROOT / path).exists():
        readme = pattern.sub(lambda m, p=path: m.group(1) + (ROOT / p).read_text() + m.group(2), readme)
(ROOT / "README.md").write_text(readme)
print("README tables updated")
