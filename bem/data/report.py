"""What reading a history found, for a terminal (`report_lines`) or as JSON (`summary`), and
which features each missing optional column costs (`features_lost`)."""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np

from bem.data.check import History
from bem.data.shapes import PAIRS, RECORDS
from budget_matcher import contract

SHAPES = {
    PAIRS: "pairs (one row per candidate pair)",
    RECORDS: "records (a row with both sides is a reconciled pair; budget-only and "
    "charge-only rows fill each user's candidate pairs, unlisted pairs are no match)",
    "tables": "tables (budgets, items and links; unlisted pairs are no match)",
}


@functools.cache
def features_lost(column: str) -> tuple[str, ...]:
    """The features that are missing for every pair when `column` is absent: measured on the
    seed example by the runtime's own feature function."""
    from budget_matcher.features import FEATURE_NAMES, compute_features
    from flattened_data_points import FlattenedDataPoints

    def features(payload: dict[str, Any]) -> np.ndarray:
        pairs = FlattenedDataPoints(payload).all().pairs
        return np.asarray(compute_features(pairs))

    full = features(contract.SEED_EXAMPLE)
    without = copy.deepcopy(contract.SEED_EXAMPLE)
    for key in (contract.BUDGETS_KEY, contract.LINE_ITEMS_KEY):
        for record in without[key]:
            record.pop(column, None)
    reduced = features(without)
    lost = np.isnan(reduced).all(axis=0) & ~np.isnan(full).all(axis=0)
    return tuple(name for name, gone in zip(FEATURE_NAMES, lost, strict=True) if gone)


def _missing(history: History) -> list[str]:
    present = set().union(*(part.plan.present for part in history.parts))
    return [name for name in history.columns.missing_optional if name not in present]


def summary(history: History) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {
        "file": str(history.path),
        "shape": history.shape,
        "read": "; ".join(
            (f"{part.name}: " if part.name else "") + part.source.describe(part.n_rows)
            for part in history.parts
        ),
        "columns": [list(pair) for part in history.parts for pair in part.plan.rename],
        "missing_optional": {name: list(features_lost(name)) for name in _missing(history)},
        "ignored": sorted({c for part in history.parts for c in part.plan.ignored}),
        "dates": history.date_order,
        "decimal": history.decimal,
        "rows": history.n_rows,
        "readable_rows": history.n_readable,
        "unreadable_rows": history.n_unreadable,
        "excluded_pairs": history.n_excluded_pairs,
        "classes": {
            name: {"rows": n, "left_out": lost} for name, (n, lost) in history.classes.items()
        },
        "problems": [
            {"code": code, "field": name, **vars(problem)}
            for (code, name), problem in sorted(history.problems.items())
        ],
    }


def report_lines(history: History) -> list[str]:
    """The report as lines for a terminal."""
    out = []
    for part in history.parts:
        out.append(f"{part.source.path}: {part.source.describe(part.n_rows)}")
    out.append(f"shape: {SHAPES[history.shape]}")
    renamed = {(k, v) for part in history.parts for k, v in part.plan.rename if k != v}
    if renamed:
        ordered = [pair for pair in history.columns.rename if pair in renamed]
        ordered += sorted(renamed - set(ordered))
        out.append("mapped: " + ", ".join(f"{k} → {v}" for k, v in ordered))
    if history.date_order:
        how = "as given" if history.date_order_given else "read from the file"
        out.append(f"numeric dates: {history.date_order} ({how})")
    if history.decimal:
        how = "as given" if history.decimal_given else "read from the file"
        out.append(f"amounts: decimal {history.decimal} ({how})")
    for name in _missing(history):
        lost = features_lost(name)
        cost = f"costs {', '.join(lost)}" if lost else "costs no feature on its own"
        out.append(f"optional column absent: {name} ({cost})")
    ignored = sorted({c for part in history.parts for c in part.plan.ignored})
    if ignored:
        out.append("ignored columns: " + ", ".join(ignored))
    out.append(
        f"{history.n_readable} readable rows; {history.n_unreadable} unreadable "
        f"({history.invalid_share:.1%}) left out"
    )
    if history.n_unreadable:
        by_class = ", ".join(
            f"{name} {lost} of {rows}"
            for name, (rows, lost) in history.classes.items()
            if rows and name != "unreadable label"
        )
        unlabelled = history.classes["unreadable label"][0]
        extra = f"; {unlabelled} with an unreadable label" if unlabelled else ""
        out.append(f"left out by class: {by_class}{extra}")
    if history.n_excluded_pairs:
        out.append(
            f"{history.n_excluded_pairs} pairs of rows left out are excluded (never counted "
            "as no match)"
        )
    for (code, name), p in sorted(history.problems.items(), key=lambda kv: -kv[1].count):
        out.append(f"  {p.count:>6} {code} in {name}: e.g. {p.where} {p.value}: {p.message}")
    return out
