"""Features of a pair among its competitors (budget_matcher.context_features)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from budget_matcher.features import FEATURE_NAMES, compute_features
from flattened_data_points import FlattenedDataPoints


def _budget(budget_id: str, start: str, end: str, cost: str = "300") -> dict[str, Any]:
    return {
        "budget_id": budget_id,
        "budget_type_budget": "flight",
        "budget_price_budget": cost,
        "actual_cost_budget": cost,
        "travel_vendor_receipts": "United Airlines",
        "start_datetime_trips": start,
        "end_datetime_trips": end,
        "generated_at_budget": start,
    }


def _item(item_id: str, amount: str, day: str, vendor: str, kind: str = "Airfare") -> dict:
    return {
        "itemization_id": item_id,
        "expensed_amount_itemization": amount,
        "expense_type_name_itemization": kind,
        "transaction_date_itemization": day,
        "vendor_name_expense": vendor,
    }


def _features(budgets: list[dict], items: list[dict]) -> tuple[dict[str, np.ndarray], list]:
    pairs = FlattenedDataPoints({"budgets": budgets, "all_user_expense_lineitems": items}).all()
    matrix = compute_features(pairs.pairs)
    keys = list(zip(pairs.pairs.budget_ids, pairs.pairs.itemization_ids, strict=True))
    return {name: matrix[:, k] for k, name in enumerate(FEATURE_NAMES)}, keys


def test_timing_gap_is_zero_for_the_closest_week_of_a_commuter() -> None:
    weeks = [
        _budget("w1", "2025-03-03 08:00:00", "2025-03-05 18:00:00"),
        _budget("w2", "2025-03-10 08:00:00", "2025-03-12 18:00:00"),
    ]
    items = [_item("i1", "300", "2025-03-10 00:00:00", "UNITED")]
    columns, keys = _features(weeks, items)
    gap = dict(zip(keys, columns["timing_gap_to_best_in_item"], strict=True))
    assert gap[("w2", "i1")] == 0.0
    # w1 ended 4 d 6 h before the charge; w2 starts 8 h after it
    assert gap[("w1", "i1")] == pytest.approx((4 + 6 / 24) - 8 / 24)
    amount_gap = columns["amount_gap_to_best_in_item"]
    assert np.allclose(amount_gap, 0.0)  # same cost: the amount tells them apart not at all


def test_detail_kind_agency_and_opposite_charge() -> None:
    budgets = [_budget("b1", "2025-03-10 08:00:00", "2025-03-12 18:00:00")]
    items = [
        _item("room", "150", "2025-03-10 00:00:00", "HILTON", "Room Rate"),
        _item("tax", "20", "2025-03-10 00:00:00", "HILTON", "Room Tax"),
        _item("fx", "3", "2025-03-10 00:00:00", "FOREIGN TRANSACTION FEE", "Bank Fees"),
        _item("bar", "9", "2025-03-10 00:00:00", "HILTON", "Minibar"),
        _item("charge", "300", "2025-03-02 00:00:00", "EXPEDIA*UNITED", "Airfare"),
        _item("credit", "-300", "2025-03-09 00:00:00", "Expedia*United", "Airfare"),
        _item("other", "12", "2025-03-09 00:00:00", "UBER", "Taxi"),
    ]
    columns, keys = _features(budgets, items)
    by_item = {item: k for k, (_, item) in enumerate(keys)}
    kind = columns["item_detail_kind"]
    assert [kind[by_item[i]] for i in ("room", "tax", "fx", "bar", "other")] == [1, 2, 3, 4, 0]
    agency = columns["vendor_is_agency"]
    assert agency[by_item["charge"]] == 1.0 and agency[by_item["other"]] == 0.0
    opposite = columns["item_has_opposite_charge"]
    assert opposite[by_item["charge"]] == opposite[by_item["credit"]] == 1.0
    assert opposite[by_item["room"]] == 0.0


def test_opposite_charge_never_pairs_two_users() -> None:
    def user(name: str, amount: str) -> dict[str, Any]:
        return {
            "user_id": name,
            "budgets": [_budget(f"b-{name}", "2025-03-10 08:00:00", "2025-03-12 18:00:00")],
            "all_user_expense_lineitems": [_item(f"i-{name}", amount, "2025-03-02", "UNITED")],
        }

    batch = FlattenedDataPoints({"users": [user("a", "300"), user("b", "-300")]}).all()
    matrix = compute_features(batch.pairs)
    assert matrix[:, FEATURE_NAMES.index("item_has_opposite_charge")].tolist() == [0.0, 0.0]
    # two users of the same id, or of none, in one call are two users all the same
    for name in ("a", None):
        twins = [user("a", "300"), user("a", "-300")]
        for twin in twins:
            twin["user_id"] = name
        matrix = compute_features(FlattenedDataPoints({"users": twins}).all().pairs)
        assert matrix[:, FEATURE_NAMES.index("item_has_opposite_charge")].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("huge", ["1e307", "-1e307", "1.7e308"])
def test_opposite_charge_ignores_amounts_whose_cents_overflow(huge: str) -> None:
    budgets = [_budget("b1", "2025-03-10 08:00:00", "2025-03-12 18:00:00")]
    items = [
        _item("huge", huge, "2025-03-10 00:00:00", "HILTON", "Room Rate"),
        _item("room", "150", "2025-03-10 00:00:00", "HILTON", "Room Rate"),
    ]
    columns, keys = _features(budgets, items)
    by_item = {item: k for k, (_, item) in enumerate(keys)}
    opposite = columns["item_has_opposite_charge"]
    assert np.isnan(opposite[by_item["huge"]]) or opposite[by_item["huge"]] == 0.0
    assert opposite[by_item["room"]] == 0.0
