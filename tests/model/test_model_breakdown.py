"""Per-knob breakdown, confident mistakes with reasons, reliability; the evaluate report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from bem.model.breakdown import (
    ALL,
    NO_KNOB,
    PairTruth,
    confident_mistakes,
    knob_breakdown,
    reliability,
)
from bem.model.cli import evaluate_command
from budget_matcher.features import compute_features
from flattened_data_points import FlattenedDataPoints


def test_reliability_bins_and_ece_by_hand() -> None:
    labels = np.array([0, 0, 1, 1, 1])
    scores = np.array([0.05, 0.15, 0.95, 0.95, 0.85])
    table = reliability(labels, scores, bins=10)
    assert [row["bin"] for row in table["bins"]] == [
        "[0.0, 0.1)",
        "[0.1, 0.2)",
        "[0.8, 0.9)",
        "[0.9, 1.0]",
    ]
    # |0.05-0| + |0.15-0| + |0.85-1| + 2·|0.95-1|, each weighted 1/5
    assert table["ece"] == pytest.approx((0.05 + 0.15 + 0.15 + 0.1) / 5)


def test_knob_breakdown_rows_cover_their_pairs() -> None:
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.2, 0.1])
    truth = PairTruth(
        [
            frozenset(),
            frozenset({"commuter"}),
            frozenset({"commuter", "late_posting"}),
            frozenset(),
        ],
        ["flight", "companion", "flight", "trip_meal"],
        ["b1", None, "b2", None],
    )
    matched = scores >= 0.5
    rows = {row["knob"]: row for row in knob_breakdown(labels, scores, 0.5, matched, truth)}
    assert list(rows) == [ALL, NO_KNOB, "commuter", "late_posting"]
    assert rows[ALL]["pairs"] == 4 and rows[ALL]["recall"] == 0.5
    assert rows[NO_KNOB]["pr_auc"] == 1.0 and rows[NO_KNOB]["pairs"] == 2
    assert rows["commuter"]["false_positives"] == 1 and rows["commuter"]["recall"] == 0.0
    assert rows["late_posting"]["positives"] == 1


def _budget(budget_id: str) -> dict[str, str]:
    return {
        "budget_id": budget_id,
        "budget_type_budget": "flight",
        "actual_cost_budget": "300",
        "travel_vendor_receipts": "United Airlines",
        "start_datetime_trips": "2025-03-10 08:00:00",
        "end_datetime_trips": "2025-03-12 18:00:00",
        "generated_at_budget": "2025-03-01 10:00:00",
    }


def test_confident_mistakes_most_confident_first_with_reasons() -> None:
    items = [
        {"itemization_id": "ticket", "expensed_amount_itemization": "300",
         "expense_type_name_itemization": "Airfare", "vendor_name_expense": "UNITED",
         "transaction_date_itemization": "2025-03-01"},
        {"itemization_id": "meal", "expensed_amount_itemization": "25",
         "expense_type_name_itemization": "Meals", "vendor_name_expense": "CHIPOTLE",
         "transaction_date_itemization": "2025-03-11"},
    ]  # fmt: skip
    pairs = FlattenedDataPoints({"budgets": [_budget("b1")], "all_user_expense_lineitems": items})
    candidate = pairs.all().pairs
    features = compute_features(candidate)
    labels = np.array([1, 0])
    scores = np.array([0.1, 0.7])  # both wrong: the ticket missed, the meal taken
    matched = scores >= 0.5
    truth = PairTruth(
        [frozenset({"late_posting"}), frozenset()], ["flight", "trip_meal"], ["b1", None]
    )
    rows = confident_mistakes(candidate, features, labels, scores, matched, 0.5, truth)
    assert [(row["kind"], row["itemization_id"]) for row in rows] == [
        ("fn", "ticket"),
        ("fp", "meal"),
    ]
    assert rows[0]["reason"].startswith("flight; knobs late_posting")
    assert "expense type of another group" in rows[1]["reason"]
    assert rows[0]["item_date"] == "2025-03-01" and rows[0]["budget_cost"] == 300.0
    json.dumps(rows)
    assert (
        confident_mistakes(candidate, features, labels, scores, matched, 0.5, limit=1)[0]["kind"]
        == "fn"
    )


@pytest.mark.slow
def test_evaluate_report_has_decisions_knobs_mistakes_and_reliability(
    tmp_path, quick_model_dir
) -> None:
    args = ["--model-dir", str(quick_model_dir), "--form", "sklearn", "--synth-users", "30"]
    args += ["--seed", "78", "--report-dir", str(tmp_path), "--name", "full"]
    result = CliRunner().invoke(evaluate_command, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "full.json").read_text())
    assert report["matched"]["items_given_twice"] == 0
    assert report["matched_pairwise"]["recall"] >= report["matched"]["recall"]
    knobs = {row["knob"] for row in report["by_knob"]}
    assert {ALL, "commuter", "late_posting", "sparse"} <= knobs
    assert 0 < len(report["mistakes"]) <= 20 and all(row["reason"] for row in report["mistakes"])
    assert report["reliability"]["bins"] and 0 <= report["reliability"]["ece"] < 0.2
    assert (tmp_path / "full_reliability.png").read_bytes()[:4] == b"\x89PNG"
    text = (tmp_path / "full.md").read_text()
    assert "| per user (served) |" in text and "Reliability (ECE" in text
