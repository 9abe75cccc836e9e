"""Flattening payloads into candidate pairs and per-record errors."""

from __future__ import annotations

import copy
from typing import Any

from flattened_data_points import FlattenedDataPoints


def _user(user_id: str, n_budgets: int, n_items: int, seed: dict[str, Any]) -> dict[str, Any]:
    budget, item = seed["budgets"][0], seed["all_user_expense_lineitems"][0]
    return {
        "user_id": user_id,
        "budgets": [dict(budget, budget_id=f"{user_id}-b{k}") for k in range(n_budgets)],
        "all_user_expense_lineitems": [
            dict(item, itemization_id=f"{user_id}-i{k}") for k in range(n_items)
        ],
    }


def test_flatten_seed_gives_one_pair(seed_payload: dict[str, Any]) -> None:
    batch = FlattenedDataPoints(seed_payload).all()
    assert len(batch.pairs) == 1
    assert batch.pairs.budget_ids == ["309366"]
    assert batch.pairs.itemization_ids == ["4659496"]
    assert batch.error_items == []
    assert batch.n_users == 1


def test_flatten_batch_pairs_never_cross_users(seed_payload: dict[str, Any]) -> None:
    users = [_user("a", 2, 3, seed_payload), _user("b", 1, 4, seed_payload)]
    batch = FlattenedDataPoints({"users": users}).all()
    assert len(batch.pairs) == 2 * 3 + 1 * 4
    for user, budget, item in zip(
        batch.pairs.user_ids, batch.pairs.budget_ids, batch.pairs.itemization_ids, strict=True
    ):
        assert budget.startswith(f"{user}-") and item.startswith(f"{user}-")
    assert FlattenedDataPoints(users).all().pairs.budget_ids == batch.pairs.budget_ids


def test_flatten_missing_values_are_scored_not_errors(seed_payload: dict[str, Any]) -> None:
    for field in ("actual_cost_budget", "start_datetime_trips", "travel_vendor_receipts"):
        seed_payload["budgets"][0][field] = None
    del seed_payload["all_user_expense_lineitems"][0]["vendor_name_expense"]
    batch = FlattenedDataPoints(seed_payload).all()
    assert len(batch.pairs) == 1 and batch.error_items == []


def test_flatten_invalid_value_reports_each_pair_of_the_record(seed_payload: dict) -> None:
    item = seed_payload["all_user_expense_lineitems"][0]
    seed_payload["all_user_expense_lineitems"].append(dict(item, itemization_id="2"))
    seed_payload["budgets"][0]["actual_cost_budget"] = "abc"
    batch = FlattenedDataPoints(seed_payload).all()
    assert len(batch.pairs) == 0
    assert [e["itemization_id"] for e in batch.error_items] == ["4659496", "2"]
    assert {e["error"]["field"] for e in batch.error_items} == {"actual_cost_budget"}
    assert all(e["score"] is None and e["budget_id"] == "309366" for e in batch.error_items)


def test_flatten_duplicate_ids_first_wins(seed_payload: dict[str, Any]) -> None:
    duplicate = copy.deepcopy(seed_payload["budgets"][0])
    duplicate["budget_price_budget"] = "999"
    seed_payload["budgets"].append(duplicate)
    first = FlattenedDataPoints(copy.deepcopy(seed_payload)).all()
    again = FlattenedDataPoints(seed_payload).all()
    assert len(first.pairs) == 1
    assert first.pairs.budgets.number("budget_price_budget").tolist() == [140.0]
    assert [e["error"]["code"] for e in first.error_items] == ["duplicate_id"]
    assert first.error_items == again.error_items


def test_flatten_a_value_read_once_per_call_is_reported_for_every_user(seed_payload: dict) -> None:
    users = [_user(name, 2, 2, seed_payload) for name in ("a", "b")]
    for user in users:  # the same unreadable text in both users, a number in the second
        user["budgets"][0]["actual_cost_budget"] = "abc"
    users[1]["budgets"][1]["budget_price_budget"] = 12
    batch = FlattenedDataPoints({"users": users}).all()
    assert len(batch.pairs) == 2 * 2
    assert batch.pairs.budgets.number("budget_price_budget").tolist() == [140.0, 12.0]
    errors = [(e["user_id"], e["budget_id"], e["error"]["field"]) for e in batch.error_items]
    assert errors == [(name, f"{name}-b0", "actual_cost_budget") for name in "aabb"]


def test_flatten_unreadable_payloads_become_error_items() -> None:
    cases = [None, 3, "text", [], {}, {"budgets": "x"}, {"users": 5}, [1, 2]]
    for payload in cases:
        batch = FlattenedDataPoints(payload).all()
        assert len(batch.pairs) == 0
        for error in batch.error_items:
            assert error["score"] is None and error["error"]["code"]


def test_flatten_records_without_ids_are_reported_once(seed_payload: dict[str, Any]) -> None:
    seed_payload["all_user_expense_lineitems"].append({"expensed_amount_itemization": "3"})
    seed_payload["budgets"].append("not a record")
    batch = FlattenedDataPoints(seed_payload).all()
    assert len(batch.pairs) == 1
    codes = sorted(e["error"]["code"] for e in batch.error_items)
    assert codes == ["invalid_record", "missing_id"]


def test_flatten_caps_pairs_per_user(seed_payload: dict[str, Any]) -> None:
    user = _user("big", 30, 40, seed_payload)
    batch = FlattenedDataPoints({"users": [user]}, max_pairs_per_user=1000).all()
    assert len(batch.pairs) == 0
    assert batch.error_items[0]["error"]["code"] == "too_many_pairs"


def test_flatten_seed_fixture_is_the_contract_example(seed_payload: dict[str, Any]) -> None:
    from budget_matcher.contract import SEED_EXAMPLE

    assert seed_payload == SEED_EXAMPLE
