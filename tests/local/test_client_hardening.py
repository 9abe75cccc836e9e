"""The caller's client against a careless service and a poisonous payload: order, splits,
retries. The function is the real handler, run in process behind a boto3-shaped client."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from botocore.exceptions import ClientError

import lambda_handler
from bem.client import ScoresClient, split_user
from budget_matcher.features import FEATURE_NAMES, compute_features
from flattened_data_points import FlattenedDataPoints
from tests.local.test_emulator_client import user


class HandlerLambda:
    """`invoke` runs the real handler on the payload; users named in `crash_on` crash it."""

    def __init__(self, crash_on: str | None = None, refuse: ClientError | None = None) -> None:
        self.crash_on = crash_on
        self.refuse = refuse
        self.calls = 0

    def invoke(self, **arguments: Any) -> dict[str, Any]:
        self.calls += 1
        if self.refuse is not None:
            raise self.refuse
        payload = json.loads(arguments["Payload"])
        if self.crash_on and self.crash_on in arguments["Payload"].decode():
            body = {"errorType": "Runtime.ExitError", "errorMessage": "exit status 1"}
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(body).encode()),
            }
        answer = lambda_handler.answer(payload, None)
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


def _key(item: dict[str, Any]) -> tuple[Any, Any, Any]:
    return (item.get("user_id"), item.get("budget_id"), item.get("itemization_id"))


def test_client_answer_is_in_input_order_with_errors_in_place(tiny_model_dir: Path) -> None:
    users = [user("u0", 2, 2), user("u1", 2, 2), user("u2", 1, 2)]
    users[0]["budgets"][0]["budget_price_budget"] = "not an amount"  # u0's first budget errs
    run = ScoresClient(clients={"r1": HandlerLambda()}, region="r1").score({"users": users})
    expected = [
        (u["user_id"], b["budget_id"], i["itemization_id"])
        for u in users
        for b in u["budgets"]
        for i in u["all_user_expense_lineitems"]
    ]
    assert [_key(item) for item in run.items] == expected
    assert [("error" in item) for item in run.items[:2]] == [True, True]


def test_client_does_not_retry_or_fail_over_an_invalid_request(tiny_model_dir: Path) -> None:
    refused = ClientError(
        {
            "Error": {"Code": "InvalidRequestContentException", "Message": "bad"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        "Invoke",
    )
    primary, mirror = HandlerLambda(refuse=refused), HandlerLambda()
    run = ScoresClient(
        clients={"r1": primary, "r2": mirror}, region="r1", mirror_regions=["r2"]
    ).score(user("u", 1, 2))
    assert primary.calls == 1 and mirror.calls == 0 and run.retries == 0
    assert [item["error"]["code"] for item in run.items] == ["invoke_rejected"] * 2


def test_client_isolates_a_user_that_crashes_the_runtime(tiny_model_dir: Path) -> None:
    users = [user(f"u{k}", 1, 2) for k in range(8)]
    users[5]["user_id"] = "poison"
    fake = HandlerLambda(crash_on='"poison"')
    run = ScoresClient(clients={"r1": fake}, region="r1", sleep=lambda s: None).score(users)
    failed = {item["user_id"] for item in run.items if "error" in item}
    assert failed == {"poison"}
    assert sum(1 for item in run.items if item["score"] is not None) == 7 * 2
    assert fake.calls < 4 * 8  # split, not retried four times over


def test_client_split_by_budgets_changes_only_the_rank_among_budgets() -> None:
    big = user("big", 6, 5)
    for k, budget in enumerate(big["budgets"]):
        budget["actual_cost_budget"] = str(20 + 7 * k)
    for k, item in enumerate(big["all_user_expense_lineitems"]):
        item["expensed_amount_itemization"] = str(18 + 9 * k)
    pieces = split_user(big, max_bytes=10**9, max_pairs=10)
    assert len(pieces) > 1
    assert all(p["all_user_expense_lineitems"] == big["all_user_expense_lineitems"] for p in pieces)
    whole = compute_features(FlattenedDataPoints(big).all().pairs)
    parts = np.vstack([compute_features(FlattenedDataPoints(p).all().pairs) for p in pieces])
    differs = {
        name
        for k, name in enumerate(FEATURE_NAMES)
        if not np.array_equal(whole[:, k], parts[:, k], equal_nan=True)
    }
    # only what compares an item across its budgets: its rank and its gaps to the best budget
    among_budgets = {"amount_rank_in_item", "timing_gap_to_best_in_item"}
    among_budgets |= {"created_gap_to_best_in_item", "amount_gap_to_best_in_item"}
    assert "amount_rank_in_item" in differs and differs <= among_budgets


class EveryPairMatches:
    """A function that matches every pair, scoring earlier budgets higher (ids `bN`)."""

    def invoke(self, **arguments: Any) -> dict[str, Any]:
        payload = json.loads(arguments["Payload"])
        answer = [
            {
                "score": 0.9 - 0.01 * int(budget["budget_id"].rsplit("b", 1)[1]),
                "budget_id": budget["budget_id"],
                "itemization_id": item["itemization_id"],
                "matched": True,
                "user_id": one.get("user_id"),
            }
            for one in payload.get("users", [payload])
            for budget in one["budgets"]
            for item in one["all_user_expense_lineitems"]
        ]
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


def test_client_split_user_gives_each_line_item_to_one_budget() -> None:
    big = user("big", 6, 3)
    for k, budget in enumerate(big["budgets"]):
        budget["budget_id"] = f"b{k}"
    client = ScoresClient(clients={"r1": EveryPairMatches()}, region="r1", max_pairs_per_call=6)
    run = client.score({"users": [big, user("small", 2, 2)]})
    assert len(run.items) == 6 * 3 + 2 * 2
    matched = [_key(item) for item in run.items if item["matched"] and item["user_id"] == "big"]
    items = [i["itemization_id"] for i in big["all_user_expense_lineitems"]]
    assert matched == [("big", "b0", item_id) for item_id in items]  # the best budget only
    assert sum(item["matched"] for item in run.items if item["user_id"] == "small") == 4
