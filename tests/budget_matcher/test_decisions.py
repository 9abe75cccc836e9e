"""Per-user decisions: each line item to at most one budget, budgets within their cost."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from budget_matcher.decisions import best_per_item, decide
from budget_matcher.pairs import CandidatePairs
from flattened_data_points import FlattenedDataPoints


def _budget(budget_id: str, cost: str | None) -> dict[str, Any]:
    return {
        "budget_id": budget_id,
        "budget_type_budget": "flight",
        "budget_price_budget": cost,
        "actual_cost_budget": cost,
        "travel_vendor_receipts": "United Airlines",
        "start_datetime_trips": "2025-03-10 08:00:00",
        "end_datetime_trips": "2025-03-12 18:00:00",
        "generated_at_budget": "2025-03-01 10:00:00",
    }


def _item(item_id: str, amount: str) -> dict[str, Any]:
    return {
        "itemization_id": item_id,
        "expensed_amount_itemization": amount,
        "expense_type_name_itemization": "Airfare",
        "transaction_date_itemization": "2025-03-02 00:00:00",
        "vendor_name_expense": "UNITED 0162",
    }


def _pairs(budgets: list[dict[str, Any]], items: list[dict[str, Any]]) -> CandidatePairs:
    payload = {"budgets": budgets, "all_user_expense_lineitems": items}
    return FlattenedDataPoints(payload).all().pairs


def _matched(pairs: CandidatePairs, decided: np.ndarray) -> set[tuple[str, str]]:
    return {
        (b, i)
        for b, i, m in zip(pairs.budget_ids, pairs.itemization_ids, decided, strict=True)
        if m
    }


def test_decide_gives_each_item_to_its_best_budget_only() -> None:
    pairs = _pairs([_budget("b1", "300"), _budget("b2", "300")], [_item("i1", "300")])
    assert pairs.budget_ids == ["b1", "b2"]
    scores = np.array([0.7, 0.9])
    assert _matched(pairs, decide(pairs, scores, 0.5, "pairwise")) == {("b1", "i1"), ("b2", "i1")}
    assert _matched(pairs, decide(pairs, scores, 0.5)) == {("b2", "i1")}
    assert _matched(pairs, decide(pairs, scores, 0.95)) == set()


def test_decide_lets_a_budget_take_several_items() -> None:
    pairs = _pairs([_budget("b1", "300")], [_item("i1", "150"), _item("i2", "150")])
    decided = decide(pairs, np.array([0.8, 0.9]), 0.5)
    assert _matched(pairs, decided) == {("b1", "i1"), ("b1", "i2")}


def test_decide_capacity_stops_a_budget_past_its_cost() -> None:
    items = [_item("i1", "300"), _item("i2", "290"), _item("i3", "-300")]
    pairs = _pairs([_budget("b1", "300")], items)
    scores = np.array([0.9, 0.8, 0.7])
    assert _matched(pairs, decide(pairs, scores, 0.5, "capacity")) == {("b1", "i1"), ("b1", "i3")}
    assert len(_matched(pairs, decide(pairs, scores, 0.5, "best"))) == 3


def test_decide_capacity_without_cost_has_no_cap() -> None:
    pairs = _pairs([_budget("b1", None)], [_item("i1", "300"), _item("i2", "290")])
    assert decide(pairs, np.array([0.9, 0.8]), 0.5, "capacity").all()


def test_best_per_item_ties_go_to_the_lowest_tie_order_and_nan_never_wins() -> None:
    items = np.array([0, 0, 1, 1, 2])
    scores = np.array([0.5, 0.5, np.nan, 0.2, np.nan])
    tie_order = np.array([4, 3, 2, 1, 0])
    assert best_per_item(items, scores, tie_order).tolist() == [False, True, False, True, False]


def test_decide_ties_go_to_the_budget_whose_id_sorts_first_in_any_request_order() -> None:
    budgets = [_budget("b2", "300"), _budget("b1", "300"), _budget("b3", "300")]
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        pairs = _pairs([budgets[k] for k in order], [_item("i1", "300")])
        for method in ("best", "capacity"):
            assert _matched(pairs, decide(pairs, np.full(3, 0.9), 0.5, method)) == {("b1", "i1")}


def test_decide_capacity_takes_equal_scores_in_id_order() -> None:
    items = [_item("i2", "300"), _item("i1", "300")]
    for listed in (items, items[::-1]):
        pairs = _pairs([_budget("b1", "300")], listed)
        matched = decide(pairs, np.array([0.9, 0.9]), 0.5, "capacity")
        assert _matched(pairs, matched) == {("b1", "i1")}  # the first fits; 600 > 1.5 × 300


def test_decide_never_gives_an_item_to_two_budgets_on_random_scores() -> None:
    rng = np.random.default_rng(0)
    budgets = [_budget(f"b{k}", "200") for k in range(5)]
    items = [_item(f"i{k}", "100") for k in range(7)]
    pairs = _pairs(budgets, items)
    for method in ("best", "capacity", "assignment"):
        decided = decide(pairs, rng.random(len(pairs)), 0.2, method)
        per_item = np.bincount(pairs.item_index[decided], minlength=7)
        assert per_item.max() <= 1 and decided.any()


def test_decide_assignment_gives_each_look_alike_week_its_own_ticket() -> None:
    pairs = _pairs(
        [_budget("w1", "300"), _budget("w2", "300")], [_item("i1", "300"), _item("i2", "310")]
    )
    assert (pairs.budget_ids, pairs.itemization_ids) == (["w1", "w1", "w2", "w2"], ["i1", "i2"] * 2)
    scores = np.array([0.7, 0.8, 0.95, 0.9])  # both charges fit week 2 best
    assert _matched(pairs, decide(pairs, scores, 0.5)) == {("w2", "i1"), ("w2", "i2")}
    assert _matched(pairs, decide(pairs, scores, 0.5, "assignment")) == {("w2", "i1"), ("w1", "i2")}
    # the loser's next budget must reach the threshold too
    assert _matched(pairs, decide(pairs, scores, 0.85, "assignment")) == {("w2", "i1")}


def test_decide_assignment_lets_a_budget_keep_its_lines_beside_its_ticket() -> None:
    items = [_item("i1", "300"), _item("i2", "30"), _item("i3", "25"), _item("i4", "-300")]
    pairs = _pairs([_budget("b1", "300")], items)
    assert decide(pairs, np.array([0.9, 0.8, 0.7, 0.6]), 0.5, "assignment").all()


def test_decide_refuses_an_unknown_method() -> None:
    pairs = _pairs([_budget("b1", "1")], [_item("i1", "1")])
    with pytest.raises(ValueError, match="decision method"):
        decide(pairs, np.array([0.9]), 0.5, "magic")
