"""docs/model.md's section on users from an independent generator quotes the committed
summary of `bench/independent_feeds.py` (docs/model/independent_feeds.json), and that summary
is of the histories the generator writes today."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SUMMARY = json.loads((REPO_ROOT / "docs" / "model" / "independent_feeds.json").read_text())
SECTION = (
    (REPO_ROOT / "docs" / "model.md")
    .read_text()
    .split("## Users from an independent generator")[1]
    .split("\n## ")[0]
)
FIGURES = ("pr_auc", "precision_at_recall_0.90", "precision", "recall")


def _numbers(cells: list[str]) -> list[float]:
    return [float(n.replace(",", "")) for c in cells for n in re.findall(r"-?[\d,]*\.?\d+", c)]


def _pooled(noise: float, key: str) -> dict[str, dict[str, int]]:
    pooled: dict[str, dict[str, int]] = {}
    for run in SUMMARY["runs"]:
        if run["noise"] == noise:
            for name, group in run[key].items():
                total = pooled.setdefault(name, dict.fromkeys(group, 0))
                for field, count in group.items():
                    total[field] += count
    return pooled


def _rows(first_cell: str) -> list[list[str]]:
    rows = []
    for line in SECTION.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(first_cell, cells[0]):
            rows.append(cells)
    return rows


def test_the_runs_table_quotes_the_summary() -> None:
    rows = _rows(r"\d+")
    assert len(rows) == len(SUMMARY["runs"]) == 4
    for cells in rows:
        seed, noise = int(cells[0]), float(cells[1].lstrip("×"))
        run: dict[str, Any] = next(
            r for r in SUMMARY["runs"] if r["seed"] == seed and r["noise"] == noise
        )
        expected = [seed, noise, run["users"], run["pairs"], run["matches"]]
        for key in FIGURES:
            expected += [run["figures"][key], *run["intervals"][key]]
        expected += [run["decided"]["precision"], run["decided"]["recall"]]
        expected += [run["baseline"]["pr_auc"]]
        assert _numbers(cells) == pytest.approx(expected, abs=0.00051), cells


def test_the_behaviour_tables_quote_the_pooled_summary() -> None:
    ones, harsher = _pooled(1.0, "behaviours"), _pooled(1.5, "behaviours")
    rows = _rows(r"`\w+`.*")
    assert len(rows) >= 15
    for cells in rows:
        name = cells[0].split("`")[1]
        one, other = ones[name], harsher[name]
        if one["belonging"]:
            expected = [
                one["belonging"],
                one["found"] / one["belonging"],
                one["misplaced"],
                other["found"] / other["belonging"],
            ]
        else:
            expected = [
                one["lines"],
                one["falsely"],
                one["falsely"] / one["lines"],
                other["falsely"],
                other["falsely"] / other["lines"],
            ]
        assert _numbers(cells[1:]) == pytest.approx(expected, abs=0.00051), cells


def test_the_summary_is_of_the_histories_the_generator_writes_today(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    from feedgen.history import travellers, write_history

    run = SUMMARY["runs"][0]
    path = tmp_path / "history.csv"
    write_history(path, travellers(SUMMARY["users"], run["seed"], run["noise"]))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == run["history_sha256"]
