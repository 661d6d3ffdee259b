"""Success rate against length: Wilson intervals, the parity test and the command that writes them."""

import csv

import pytest

from cs324.rnn import success
from cs324.rnn.sweep import FIELDS


@pytest.mark.parametrize(
    "k,n,lo,hi",
    [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (5, 10, 0.2366, 0.7634), (3, 3, 0.4385, 1.0)],
)
def test_wilson_interval_matches_the_textbook_values(k, n, lo, hi):
    got = success.wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def rows_from(outcomes: dict) -> list[dict]:
    """{T: [best_val_acc per seed]} -> sweep rows of one variant."""
    return [
        {"variant": "v", "T": T, "seed": s, "best_val_acc": acc}
        for T, accs in outcomes.items()
        for s, acc in enumerate(accs)
    ]


def test_success_table_counts_runs_at_or_above_99_percent():
    table = success.success_table(rows_from({5: [1.0, 0.99, 0.98], 9: [0.2, 0.3, 0.995]}))["v"]
    assert (table[5]["k"], table[5]["n"]) == (2, 3) and table[9]["k"] == 1
    assert table[5]["mean"] == pytest.approx((1.0 + 0.99 + 0.98) / 3)
    assert (table[5]["lo"], table[5]["hi"]) == success.wilson_interval(2, 3)


def test_parity_test_finds_a_planted_odd_effect_and_none_where_there_is_none():
    planted = {T: [1.0] * 9 + [0.2] if T % 2 else [1.0] + [0.2] * 9 for T in range(14, 24)}
    found = success.parity_test(success.success_table(rows_from(planted))["v"])
    assert found["p_value"] < 1e-6 and found["pooled"]["odd"]["k"] == 45 and found["pooled"]["even"]["k"] == 5
    flat = {T: [1.0] * 5 + [0.2] * 5 for T in range(14, 24)}
    assert success.parity_test(success.success_table(rows_from(flat))["v"])["p_value"] > 0.9


def test_the_command_writes_table_json_and_figure(tmp_path, capsys):
    with open(tmp_path / "sweep.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        for r in rows_from({5: [1.0, 1.0], 20: [0.3, 0.995]}):
            writer.writerow(
                {
                    **r,
                    "final_val_acc": r["best_val_acc"],
                    "best_step": 250,
                    "steps_run": 500,
                    "seconds": 1.0,
                    "device": "cpu",
                }
            )
    success.main([str(tmp_path)])
    assert "| v | 20 | 1/2 | 0.50 |" in (tmp_path / "success.md").read_text()
    assert (tmp_path / "success_vs_length.png").stat().st_size > 10_000
    with pytest.raises(SystemExit) as exc:
        success.main([str(tmp_path / "missing")])
    assert exc.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
