"""Scoring's second stage: competitor features, the artefact's checks, the regression's maths."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from budget_matcher.rescoring import (
    COMPETITOR_FEATURES,
    Rescorer,
    RescorerError,
    competitor_features,
)
from flattened_data_points import FlattenedDataPoints

COLUMN = {name: k for k, name in enumerate(COMPETITOR_FEATURES)}


def _pairs(n_budgets: int, n_items: int) -> Any:
    budgets = [
        {
            "budget_id": f"b{k}",
            "budget_type_budget": "hotel",
            "budget_price_budget": "400",
            "start_datetime_trips": "2025-03-10 08:00:00",
            "end_datetime_trips": "2025-03-12 18:00:00",
        }
        for k in range(n_budgets)
    ]
    items = [
        {"itemization_id": f"i{k}", "expensed_amount_itemization": "100"} for k in range(n_items)
    ]
    payload = {"budgets": budgets, "all_user_expense_lineitems": items}
    return FlattenedDataPoints(payload).all().pairs


def _column(rows: np.ndarray, pairs: Any, name: str) -> dict[tuple[str, str], float]:
    keys = zip(pairs.budget_ids, pairs.itemization_ids, strict=True)
    return {key: float(rows[k, COLUMN[name]]) for k, key in enumerate(keys)}


def test_competitor_features_see_the_item_and_the_budget() -> None:
    pairs = _pairs(2, 3)
    wanted = {("b0", "i0"): 0.9, ("b1", "i0"): 0.3, ("b0", "i1"): 0.9, ("b1", "i1"): 0.2}
    wanted |= {("b0", "i2"): 0.1, ("b1", "i2"): 0.6}
    keys = list(zip(pairs.budget_ids, pairs.itemization_ids, strict=True))
    scores = np.array([wanted[key] for key in keys])
    rows = competitor_features(pairs, scores, first_threshold=0.5)
    assert _column(rows, pairs, "item_best_other")[("b0", "i0")] == 0.3
    assert _column(rows, pairs, "item_best_other")[("b1", "i0")] == 0.9
    assert _column(rows, pairs, "item_margin")[("b0", "i0")] == pytest.approx(0.6)
    assert _column(rows, pairs, "item_rank")[("b1", "i0")] == 1
    # b0 holds i0 and i1 tied at 0.9: both rank first, each one's best other is the tie
    assert _column(rows, pairs, "budget_rank")[("b0", "i1")] == 0
    assert _column(rows, pairs, "budget_rank")[("b0", "i2")] == 2
    assert _column(rows, pairs, "budget_best")[("b1", "i1")] == 0.6
    assert _column(rows, pairs, "budget_load")[("b0", "i2")] == 2  # i0 and i1 reach 0.5
    # two lines of 100 against a cost of 400
    share = _column(rows, pairs, "budget_amount_share")[("b0", "i2")]
    assert share == pytest.approx(np.log1p(200) - np.log1p(400))
    assert _column(rows, pairs, "item_candidates")[("b0", "i2")] == 2
    assert _column(rows, pairs, "item_score_share")[("b1", "i2")] == pytest.approx(0.6 / 0.7)


def test_an_item_with_one_budget_has_no_competitor() -> None:
    pairs = _pairs(1, 1)
    rows = competitor_features(pairs, np.array([0.4]), first_threshold=0.5)
    assert rows[0, COLUMN["item_best_other"]] == 0.0
    assert rows[0, COLUMN["budget_load"]] == 0.0


def _rescorer(**changes: Any) -> dict[str, Any]:
    n = len(COMPETITOR_FEATURES)
    fields: dict[str, Any] = {
        "features": list(COMPETITOR_FEATURES),
        "mean": [0.1] * n,
        "scale": [2.0] * n,
        "coef": [0.5] * n,
        "intercept": -1.0,
        "first_threshold": 0.8,
    }
    return fields | changes


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"features": ["score"]}, "other features"),
        ({"coef": [1.0]}, "sizes differ"),
        ({"scale": [0.0] * len(COMPETITOR_FEATURES)}, "scale"),
        ({"intercept": float("nan")}, "non-finite"),
        ({"intercept": "high"}, "unreadable"),
    ],
)
def test_a_malformed_rescorer_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(RescorerError, match=message):
        Rescorer.from_bytes(json.dumps(_rescorer(**changes)).encode())


def test_the_rescorer_computes_what_scikit_learn_fitted() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bem.model.rescorer import fit

    rng = np.random.default_rng(0)
    pairs = _pairs(6, 40)
    scores = rng.random(len(pairs))
    labels = (scores + rng.normal(0, 0.2, len(pairs)) > 0.7).astype(int)

    class Labelled:
        pass

    data = Labelled()
    data.pairs, data.labels = pairs, labels  # type: ignore[attr-defined]
    rescorer = fit([(data, scores)], first_threshold=0.6)  # type: ignore[list-item]
    again = Rescorer.from_bytes(rescorer.to_json().encode())
    rows = competitor_features(pairs, scores, 0.6)
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    expected = reference.fit(rows, labels).predict_proba(rows)[:, 1]
    np.testing.assert_allclose(again.rescore(pairs, scores), expected, rtol=1e-6, atol=1e-9)
