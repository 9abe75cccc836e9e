"""Features, scores and decisions do not depend on the order of a user's budgets and items."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budget_matcher.decisions import decide
from budget_matcher.features import FEATURE_NAMES, compute_features
from budget_matcher.rescoring import competitor_features
from flattened_data_points import FlattenedDataPoints
from predict import get_model

# Small pools, so that draws share vendors, amounts and dates: the ties a rank must not break
# by position (a colleague's ticket at the same fare on the same day).
_VENDORS = ["UNITED 0162", "United Airlines", "MARRIOTT SFO", "EXPEDIA*TRIP", None]
_TYPES = ["flight", "hotel", "car"]
_EXPENSE_TYPES = ["Airfare", "Hotel", "Change fee", "Taxi", None]
_AMOUNTS = ["300", "300.10", "150", "-300", "75", "0", None]
_DAYS = ["2025-03-02 00:00:00", "2025-03-10 00:00:00", "2025-03-12 09:30:00", None]
_STARTS = ["2025-03-10 08:00:00", "2025-03-17 08:00:00"]


@st.composite
def _budget(draw: st.DrawFn, key: int) -> dict[str, Any]:
    start = draw(st.sampled_from(_STARTS))
    cost = draw(st.sampled_from(["300", "150", None]))
    return {
        "budget_id": f"b{key}",
        "budget_type_budget": draw(st.sampled_from(_TYPES)),
        "budget_price_budget": cost,
        "actual_cost_budget": draw(st.sampled_from([cost, None])),
        "travel_vendor_receipts": draw(st.sampled_from(_VENDORS)),
        "start_datetime_trips": start,
        "end_datetime_trips": start.replace("08:00", "18:00").replace("-10 ", "-12 "),
        "generated_at_budget": draw(st.sampled_from(["2025-03-01 10:00:00", start])),
    }


@st.composite
def _item(draw: st.DrawFn, key: int) -> dict[str, Any]:
    return {
        "itemization_id": f"i{key}",
        "expensed_amount_itemization": draw(st.sampled_from(_AMOUNTS)),
        "expense_type_name_itemization": draw(st.sampled_from(_EXPENSE_TYPES)),
        "transaction_date_itemization": draw(st.sampled_from(_DAYS)),
        "vendor_name_expense": draw(st.sampled_from(_VENDORS)),
    }


@st.composite
def _user_and_shuffle(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    n_budgets, n_items = draw(st.integers(1, 5)), draw(st.integers(1, 8))
    budgets = [draw(_budget(k)) for k in range(n_budgets)]
    items = [draw(_item(k)) for k in range(n_items)]
    user = {"budgets": budgets, "all_user_expense_lineitems": items}
    shuffled = {
        "budgets": draw(st.permutations(budgets)),
        "all_user_expense_lineitems": draw(st.permutations(items)),
    }
    return user, shuffled


def _by_pair(payload: dict[str, Any]) -> dict[tuple[str, str], tuple[np.ndarray, float, bool]]:
    """Per (budget id, item id): the features, the served score and the decision."""
    pairs = FlattenedDataPoints(payload).all().pairs
    features = compute_features(pairs)
    model = get_model()
    scores = model.score_pairs(pairs, features)  # the trees, then the rescorer
    matched = decide(pairs, scores, model.threshold)
    keys = zip(pairs.budget_ids, pairs.itemization_ids, strict=True)
    return {key: (features[k], float(scores[k]), bool(matched[k])) for k, key in enumerate(keys)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_user_and_shuffle())
def test_features_scores_and_decisions_ignore_the_order_of_budgets_and_items(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    user, shuffled = case
    before, after = _by_pair(user), _by_pair(shuffled)
    assert before.keys() == after.keys()
    for key, (features, score, matched) in before.items():
        np.testing.assert_array_equal(features, after[key][0], err_msg=str(key))
        assert score == after[key][1]
        assert matched == after[key][2]


def _tied_scores(pairs: Any) -> np.ndarray:
    """A score per pair from its ids alone, from a pool of three values (so many tie)."""
    keys = zip(pairs.budget_ids, pairs.itemization_ids, strict=True)
    return np.array([(0.2, 0.9, 0.5)[zlib.crc32(f"{b}|{i}".encode()) % 3] for b, i in keys])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_user_and_shuffle())
def test_competitor_features_ignore_the_order_of_tied_scores(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    rows = []
    for payload in case:
        pairs = FlattenedDataPoints(payload).all().pairs
        features = competitor_features(pairs, _tied_scores(pairs), 0.5)
        keys = zip(pairs.budget_ids, pairs.itemization_ids, strict=True)
        rows.append({key: features[k] for k, key in enumerate(keys)})
    assert rows[0].keys() == rows[1].keys()
    for key, row in rows[0].items():
        np.testing.assert_array_equal(row, rows[1][key], err_msg=str(key))


def test_features_rank_equal_look_alikes_equally() -> None:
    budget = {
        "budget_id": "b1",
        "budget_type_budget": "flight",
        "budget_price_budget": "300",
        "travel_vendor_receipts": "United Airlines",
        "start_datetime_trips": "2025-03-10 08:00:00",
        "end_datetime_trips": "2025-03-12 18:00:00",
    }
    twin = {
        "expensed_amount_itemization": "300",
        "transaction_date_itemization": "2025-03-02 00:00:00",
        "vendor_name_expense": "UNITED 0162",
    }
    items = [{"itemization_id": "i1", **twin}, {"itemization_id": "i2", **twin}]
    pairs = FlattenedDataPoints({"budgets": [budget], "all_user_expense_lineitems": items}).all()
    ranks = compute_features(pairs.pairs)[:, FEATURE_NAMES.index("amount_rank_in_budget")]
    assert ranks.tolist() == [1.0, 1.0]  # identical twins: neither ranks second
