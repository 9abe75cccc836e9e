"""Features of a charge among the user's other charges (budget_matcher.feed_features)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from budget_matcher.features import FEATURE_NAMES, compute_features
from flattened_data_points import FlattenedDataPoints

# A budget of March 10–12 with United, booked on March 1; tests override what they vary.
_TRIP = {
    "travel_vendor_receipts": "United Airlines",
    "start_datetime_trips": "2025-03-10 08:00:00",
    "end_datetime_trips": "2025-03-12 18:00:00",
    "generated_at_budget": "2025-03-01 10:00:00",
}


def _budget(budget_id: str, kind: str = "flight", cost: str = "300") -> dict[str, Any]:
    prices = {"budget_price_budget": cost, "actual_cost_budget": cost}
    return {"budget_id": budget_id, "budget_type_budget": kind, **prices, **_TRIP}


def _item(item_id: str, amount: str, day: str, kind: str = "Airfare") -> dict[str, Any]:
    return {
        "itemization_id": item_id,
        "expensed_amount_itemization": amount,
        "expense_type_name_itemization": kind,
        "transaction_date_itemization": day,
        "vendor_name_expense": "UNITED 0162",
    }


def _columns(budgets: list[dict], items: list[dict]) -> dict[tuple[str, str, str], float]:
    """Per (feature, budget id, item id): the value."""
    pairs = FlattenedDataPoints({"budgets": budgets, "all_user_expense_lineitems": items}).all()
    matrix = compute_features(pairs.pairs)
    keys = list(zip(pairs.pairs.budget_ids, pairs.pairs.itemization_ids, strict=True))
    return {
        (name, *key): float(matrix[row, k])
        for k, name in enumerate(FEATURE_NAMES)
        for row, key in enumerate(keys)
    }


def test_twins_count_same_vendor_same_amount_within_three_days() -> None:
    items = [
        _item("i1", "300.00", "2025-03-02 00:00:00"),
        _item("i2", "300.20", "2025-03-04 00:00:00"),  # a colleague's ticket, two days later
        _item("i3", "300.00", "2025-03-09 00:00:00"),  # a week later: not a twin
        _item("i4", "-300.00", "2025-03-03 00:00:00"),  # a credit: the other sign
    ]
    values = _columns([_budget("b1")], items)
    twins = [values[("item_same_vendor_twins", "b1", f"i{k}")] for k in range(1, 5)]
    assert twins == [1.0, 1.0, 0.0, 0.0]


def test_late_window_sum_reaches_a_folio_posted_weeks_after_checkout() -> None:
    budget = _budget("b1", "hotel", "300")
    items = [
        _item("i1", "150", "2025-03-12 00:00:00", "Hotel"),
        _item("i2", "150", "2025-03-26 00:00:00", "Hotel"),  # 14 days after checkout
    ]
    values = _columns([budget], items)
    assert values[("vendor_window_sum_log_ratio", "b1", "i2")] == pytest.approx(
        np.log1p(150) - np.log1p(300)
    )
    assert values[("vendor_window_late_sum_log_ratio", "b1", "i2")] == pytest.approx(0.0)


def test_budget_type_others_sees_the_ticket_beside_a_change_line() -> None:
    items = [
        _item("i1", "300", "2025-03-02 00:00:00"),
        _item("i2", "150", "2025-03-05 00:00:00", "Airfare"),  # a change line, typed Airfare
        _item("i3", "20", "2025-03-05 00:00:00", "Taxi"),  # another type group: not counted
    ]
    values = _columns([_budget("b1")], items)
    assert values[("budget_type_others_log_ratio", "b1", "i2")] == pytest.approx(0.0)
    assert values[("budget_type_others_log_ratio", "b1", "i1")] == pytest.approx(
        np.log1p(150) - np.log1p(300)
    )
    assert values[("budget_type_others_log_ratio", "b1", "i3")] == pytest.approx(
        np.log1p(450) - np.log1p(300)
    )


def test_twins_never_pair_two_users_even_of_the_same_id() -> None:
    for name in ("a", None):
        users = [
            {
                "user_id": name,
                "budgets": [_budget(f"b{k}")],
                "all_user_expense_lineitems": [_item(f"i{k}", "300", "2025-03-02 00:00:00")],
            }
            for k in range(2)
        ]
        matrix = compute_features(FlattenedDataPoints({"users": users}).all().pairs)
        assert matrix[:, FEATURE_NAMES.index("item_same_vendor_twins")].tolist() == [0.0, 0.0]


def test_day_sum_adds_up_what_the_vendor_posted_that_day() -> None:
    # a week's folio posted in one batch on March 17, inside the next week's stay
    last_week = {**_budget("b1", "hotel", "450"), "start_datetime_trips": "2025-03-10 15:00:00"}
    this_week = {
        **_budget("b2", "hotel", "600"),
        "start_datetime_trips": "2025-03-17 15:00:00",
        "end_datetime_trips": "2025-03-20 11:00:00",
    }
    items = [
        _item("i1", "200", "2025-03-17 00:00:00", "Room Rate"),
        _item("i2", "200", "2025-03-17 23:30:00", "Room Rate"),
        _item("i3", "50", "2025-03-17 00:00:00", "Room Tax"),
        _item("i4", "150", "2025-03-18 00:00:00", "Room Rate"),  # a night of this week
        {**_item("i5", "30", "2025-03-17 00:00:00", "Taxi"), "vendor_name_expense": "YELLOW CAB"},
    ]
    values = _columns([last_week, this_week], items)
    batch = np.log1p(450.0)
    assert values[("vendor_day_sum_log_ratio", "b1", "i1")] == pytest.approx(batch - np.log1p(450))
    assert values[("vendor_day_sum_log_ratio", "b2", "i2")] == pytest.approx(batch - np.log1p(600))
    assert values[("vendor_day_sum_log_ratio", "b2", "i4")] == pytest.approx(
        np.log1p(150) - np.log1p(600)
    )
    assert values[("vendor_day_sum_log_ratio", "b1", "i5")] == pytest.approx(
        np.log1p(30) - np.log1p(450)
    )


def test_day_sum_is_unknown_without_a_date() -> None:
    values = _columns([_budget("b1")], [_item("i1", "300", "")])
    assert np.isnan(values[("vendor_day_sum_log_ratio", "b1", "i1")])
