"""The learning loop's figures in docs/monitoring.md are the ones `bench/bench_loop.py` wrote
(its `--out` JSON, kept in docs/loop/): the compare tables, the threshold by recall floor, the
learning curve and the queue against random labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bem.loop.curve import markdown_table

REPO_ROOT = Path(__file__).resolve().parents[2]
FIGURES = REPO_ROOT / "docs" / "loop"
HEADING = "### The learning loop: figures"


def _section() -> str:
    """The figures section of docs/monitoring.md, with the typographic minus as `-`."""
    text = (REPO_ROOT / "docs" / "monitoring.md").read_text()
    start = text.index(HEADING)
    end = text.index("\n## ", start)
    return text[start:end].replace("−", "-")


def _figures(name: str) -> dict[str, Any]:
    return dict(json.loads((FIGURES / f"{name}.json").read_text()))


def _interval(entry: dict[str, Any]) -> str:
    low, high = entry["interval"]
    return f"{entry['value']:+.4f} [{low:+.4f}, {high:+.4f}]"


def _cells(figures: dict[str, Any], keys: tuple[str, ...]) -> str:
    return "| " + " | ".join(f"{figures[key]:.4f}" for key in keys) + " |"


@pytest.mark.parametrize("name", ["compare", "compare_prior"])
def test_docs_loop_compare_rows_are_the_bench_figures(name: str) -> None:
    section, report = _section(), _figures(name)["compare"]
    for role in ("champion", "challenger"):
        row = _cells(report[role], ("pr_auc", "precision", "recall", "threshold"))
        assert row in section, (name, role, row)
    difference = report["difference"]
    row = (f"| **{_interval(difference['pr_auc'])}** | {_interval(difference['precision'])} | "
           f"{_interval(difference['recall'])} |")  # fmt: skip
    assert row in section, (name, row)
    window = report["window"]
    assert f"{window['pairs']:,} pairs, {window['positives']:,} matches" in section
    for floor in report["floors"]:
        row = _cells(floor, ("threshold", "cv_precision", "cv_recall", "precision", "recall"))
        assert row in section, (name, floor)


def test_docs_loop_curve_is_the_bench_table() -> None:
    section = _section()
    for line in markdown_table(_figures("curve")["curve"]):
        assert line in section, line


def test_docs_loop_queue_figures_are_the_bench_figures() -> None:
    section, queue = _section(), _figures("queue")["queue"]
    assert f"{queue['base_only']:.4f}" in section
    for name in ("queue", "random"):
        entry = queue[name]
        cell = f"| {entry['pairs']:,} | {entry['positives']:,} | {entry['pr_auc']:.4f} |"
        assert cell in section, (name, cell)
