"""The answer-size estimate (budget_matcher/answer_size.py): an upper bound of every answer, in
every form and on every path, and tight with the seed's field shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lambda_handler
from budget_matcher import contract as c
from budget_matcher.answer_size import AnswerShape, json_bytes
from budget_matcher.scoring import ScoredPayload
from flattened_data_points import DEFAULT_ANSWER_BYTES, UNBOUNDED, FlattenedDataPoints, user_answer
from tests.runtime.answer_strategies import batches

SHAPES = [
    AnswerShape(form, escaped, unscored)
    for form in ("list", "columns")
    for escaped in (False, True)
    for unscored in (None, ("model_unavailable", 'the model card says "1.5.0" — not here'))
]
SCORES = st.lists(
    st.one_of(
        st.floats(0.0, 1.0),
        st.sampled_from([0.0, 1.0, 1e-7, 0.1234565, 0.9999995, 0.30000000000000004, 5e-324]),
    ),
    min_size=64,
    max_size=64,
)


def _answer(scored: ScoredPayload, form: str) -> Any:
    return scored.columns() if form == c.COLUMNS_FORMAT else scored.items


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=batches(), shape=st.sampled_from(SHAPES), scores=SCORES, data=st.data())
def test_answer_size_estimate_is_an_upper_bound(
    payload: dict[str, Any], shape: AnswerShape, scores: list[float], data: st.DataObject
) -> None:
    flattener = FlattenedDataPoints(payload, UNBOUNDED, UNBOUNDED, shape=shape)
    batch = flattener.all()
    n = len(batch.pairs)
    if shape.unscored is not None:
        scored = ScoredPayload(batch, unscored=shape.unscored)
    else:
        values = np.resize(np.asarray(scores), n)
        matched = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
        scored = ScoredPayload(batch, None, values, matched)
    answer = _answer(scored, shape.form)
    orjson.dumps(answer)  # the answer always encodes as UTF-8, never the ASCII fallback
    nothing = FlattenedDataPoints([]).all()
    if shape.unscored is not None:
        empty = _answer(ScoredPayload(nothing, unscored=shape.unscored), shape.form)
    else:
        empty = _answer(ScoredPayload(nothing, None, np.zeros(0), np.zeros(0, bool)), shape.form)
    frame = json_bytes(empty, shape.escaped)
    assert json_bytes(answer, shape.escaped) <= flattener.admitted_bytes + frame


def _seed_user(k: int, n_budgets: int, n_items: int) -> dict[str, Any]:
    """A user with the seed's field shapes: 6-digit budget ids, 7-digit item ids."""
    user = copy.deepcopy(c.SEED_EXAMPLE)
    user["user_id"] = f"user-{k:05d}"
    user["budgets"] = [
        {**user["budgets"][0], "budget_id": str(300_000 + 100 * k + b)} for b in range(n_budgets)
    ]
    user["all_user_expense_lineitems"] = [
        {
            **user["all_user_expense_lineitems"][0],
            "itemization_id": str(4_000_000 + 1000 * k + i),
            "expensed_amount_itemization": str(10 + 7 * i),
        }
        for i in range(n_items)
    ]
    return user


def test_answer_size_one_call_fills_its_bound_with_seed_shaped_users() -> None:
    # the model of record's own scores (many shorter than the 8 characters the bound allows)
    payload = {"users": [_seed_user(k, 12, 40) for k in range(160)]}  # more than one call
    answer = lambda_handler.handler(payload, None)
    body = answer if isinstance(answer, bytes) else orjson.dumps(answer)
    refused = body.count(b'"answer_too_large"')
    assert refused > 0  # the call was full
    assert 0.92 * DEFAULT_ANSWER_BYTES <= len(body) <= 6_000_000


def test_answer_size_refusal_is_by_answer_bytes_not_pairs(tiny_model_dir: Path) -> None:
    # 49,200 pairs of short ids fit one call's answer: admitted whole
    user = _seed_user(1, 123, 400)
    for k, budget in enumerate(user["budgets"]):
        budget["budget_id"] = f"b{k}"
    for k, item in enumerate(user["all_user_expense_lineitems"]):
        item["itemization_id"] = f"i{k}"
    del user["user_id"]
    answer = lambda_handler.answer(user, None)
    assert len(answer) == 49_200 and all("error" not in item for item in answer)


def test_answer_size_a_later_smaller_user_is_still_admitted(tiny_model_dir: Path) -> None:
    big = [_seed_user(k, 50, 500) for k in range(2)]  # ~2.6 MB of answer each
    small = _seed_user(9, 2, 3)
    answer = lambda_handler.answer({"users": [*big, _seed_user(3, 50, 500), small]}, None)
    refused = [item["user_id"] for item in answer if "error" in item]
    assert refused == ["user-00003"]
    assert sum(1 for item in answer if item["user_id"] == "user-00009") == 6


def test_answer_size_estimate_counts_a_long_user_id_per_pair(tiny_model_dir: Path) -> None:
    user = _seed_user(1, 10, 1000)  # 10,000 pairs
    user["user_id"] = "u" * 500  # ~5.1 MB of user ids: refused, with its exact size
    answer = lambda_handler.answer(user, None)
    assert [item["error"]["code"] for item in answer] == ["too_many_pairs"]
    user["user_id"] = "u" * 400
    answer = lambda_handler.answer(user, None)
    assert len(answer) == 10_000 and len(json.dumps(answer, separators=(",", ":"))) < 5_936_000


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=batches(), shape=st.sampled_from(SHAPES))
def test_answer_size_a_user_that_fits_exactly_is_admitted(
    payload: dict[str, Any], shape: AnswerShape
) -> None:
    # the unread refusal (a lower bound) never refuses what the estimate admits
    for user in payload["users"]:
        size = user_answer(user, shape).size()
        batch = FlattenedDataPoints(user, UNBOUNDED, size, shape=shape).all()
        codes = {item["error"]["code"] for item in batch.error_items}
        assert not codes & {"too_many_pairs", "answer_too_large"}
