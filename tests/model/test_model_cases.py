"""The labelling policy's decided cases in the evaluation report."""

from __future__ import annotations

import numpy as np

from bem.model.breakdown import PairTruth
from bem.model.cases import case_breakdown, case_lines


def test_case_breakdown_counts_belonging_lines_and_false_matches() -> None:
    # item 0: a cabin upgrade on its budget (pair 0) and another budget (pair 1);
    # item 1: a seat fee (apart) matched on pair 2; item 2: a seat fee never matched.
    tags = ["cabin_upgrade", "cabin_upgrade", "seat_fee", "seat_fee", "room"]
    truth = PairTruth([frozenset()] * 5, tags, [None] * 5)
    labels = np.array([1, 0, 0, 0, 1])
    scores = np.array([0.4, 0.2, 0.9, 0.1, 0.95])
    matched = np.array([False, False, True, False, True])
    items = np.array([0, 0, 1, 2, 3])
    rows = case_breakdown(labels, scores, 0.5, matched, items, truth)
    upgrade = next(r for r in rows if "cabin upgrade" in r["case"])
    assert upgrade["belonging_pairs"] == 1
    assert upgrade["recall_at_threshold"] == 0.0 and upgrade["matched_recall"] == 0.0
    assert upgrade["apart_items"] == 2 and upgrade["apart_matched"] == 0.5
    assert all("rail seat" not in r["case"] for r in rows)  # no lines of that case
    assert any("| 1 | 0.000 | 0.000 | 2 | 0.500 |" in line for line in case_lines(rows))
