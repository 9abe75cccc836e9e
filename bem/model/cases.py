"""The labelling policy's decided cases, one row each: does the model get them right?

For each case of `bem.synth.policy.CASES`, on synthetic users (the generator tags every line):
its lines that belong (pairs of a `belongs` tag with their own budget): how many, the share
scoring at or above the threshold, the share `matched`; its lines that do not belong (items of
an `apart` tag): how many, the share `matched` to any budget (a false match).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bem.model.breakdown import PairTruth
from bem.synth.policy import CASES


def case_breakdown(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    matched: np.ndarray,
    item_index: np.ndarray,
    truth: PairTruth,
) -> list[dict[str, Any]]:
    """One row per decided case that the data hold lines of."""
    tags = np.asarray(truth.tags, dtype=object)
    rows = []
    for case in CASES:
        belongs = np.isin(tags, list(case.belongs)) & (labels == 1)
        apart = np.isin(tags, list(case.apart))
        apart_items = np.unique(item_index[apart])
        if not belongs.any() and apart_items.size == 0:
            continue
        matched_items = np.unique(item_index[apart & matched])
        rows.append(
            {
                "case": case.case,
                "knobs": list(case.knobs),
                "belonging_pairs": int(belongs.sum()),
                "recall_at_threshold": _share(scores[belongs] >= threshold),
                "matched_recall": _share(matched[belongs]),
                "apart_items": int(apart_items.size),
                "apart_matched": (
                    round(matched_items.size / apart_items.size, 4) if apart_items.size else None
                ),
            }
        )
    return rows


def _share(flags: np.ndarray) -> float | None:
    return round(float(flags.mean()), 4) if flags.size else None


def case_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The rows as a Markdown table."""
    lines = [
        "",
        "| decided case | lines that belong | recall at the threshold | matched | lines that do "
        "not belong | falsely matched |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['case']} | {row['belonging_pairs']} | {_text(row['recall_at_threshold'])} | "
            f"{_text(row['matched_recall'])} | {row['apart_items']} | "
            f"{_text(row['apart_matched'])} |"
        )
    return lines


def _text(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
