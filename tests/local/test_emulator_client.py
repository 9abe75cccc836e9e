"""`get_model_scores`: splitting, order, retries, failover and error items."""

from __future__ import annotations

import copy
import io
import json
import socket
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bem.client import Limits, ScoresClient, get_model_scores, plan_parts, split_user, units_of
from tests.conftest import load_event
from tests.local.conftest import ServeProcess

FUNCTION = "budget-expense-matcher"


def user(user_id: str, n_budgets: int, n_items: int) -> dict[str, Any]:
    """A user with distinct budget and item ids, built from the seed example."""
    seed = load_event("seed_direct.json")
    budgets = []
    for k in range(n_budgets):
        budget = copy.deepcopy(seed["budgets"][0])
        budget["budget_id"] = f"{user_id}-b{k}"
        budgets.append(budget)
    items = []
    for k in range(n_items):
        item = copy.deepcopy(seed["all_user_expense_lineitems"][0])
        item["itemization_id"] = f"{user_id}-i{k}"
        items.append(item)
    return {"user_id": user_id, "budgets": budgets, "all_user_expense_lineitems": items}


def expected_pairs(users: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(budget_id, itemization_id) of every pair, budget-major, users in order."""
    return [
        (b["budget_id"], i["itemization_id"])
        for u in users
        for b in u["budgets"]
        for i in u["all_user_expense_lineitems"]
    ]


def free_port() -> int:
    """A port nothing listens on (for a region that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def session() -> Any:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-west-2"
    )


def test_plan_parts_keeps_order_and_limits() -> None:
    users = [user(f"u{k}", 3, 4) for k in range(10)]
    limits = Limits(pairs=30)
    units = [unit for k, one in enumerate(users) for unit in units_of(k, one, limits)]
    parts = plan_parts(units, limits)
    assert [len(part.users) for part in parts] == [2, 2, 2, 2, 2]
    assert [u["user_id"] for part in parts for u in part.users] == [u["user_id"] for u in users]


def test_split_user_splits_budgets_first_then_items() -> None:
    big = user("big", 4, 6)
    pieces = split_user(big, max_bytes=10**9, max_pairs=6)
    assert all(len(p["budgets"]) * len(p["all_user_expense_lineitems"]) <= 6 for p in pieces)
    assert expected_pairs(pieces) == expected_pairs([big])
    single = split_user(user("one", 1, 10), max_bytes=10**9, max_pairs=3)
    assert [len(p["all_user_expense_lineitems"]) for p in single] == [2, 3, 2, 3]


def test_get_model_scores_splits_a_batch_and_keeps_input_order(real_serve: ServeProcess) -> None:
    users = [user(f"u{k}", 1 + k % 3, 2 + k % 4) for k in range(12)] + [user("big", 7, 9)]
    run = ScoresClient(
        FUNCTION,
        "us-west-2",
        session=session(),
        endpoint_urls={"us-west-2": real_serve.url},
        max_workers=4,
        max_request_bytes=8_000,
        max_pairs_per_call=20,
    ).score({"users": users})
    assert run.invocations > 5
    got = [(item["budget_id"], item["itemization_id"]) for item in run.items]
    assert got == expected_pairs(users)
    assert all(0.0 <= item["score"] <= 1.0 and "error" not in item for item in run.items)
    assert {item["user_id"] for item in run.items} == {u["user_id"] for u in users}


def test_get_model_scores_fails_over_to_a_mirror_region(real_serve: ServeProcess) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    items = get_model_scores(
        load_event("seed_direct.json"),
        FUNCTION,
        "us-west-2",
        ["us-east-1"],
        session=session(),
        endpoint_urls={"us-west-2": down, "us-east-1": real_serve.url},
        max_attempts=2,
        base_delay_s=0.01,
    )
    assert [(i["budget_id"], i["itemization_id"]) for i in items] == [("309366", "4659496")]
    assert items[0]["score"] is not None


class FakeLambda:
    """A Lambda client that answers from a script of outcomes, then scores everything 0.5."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **arguments: Any) -> dict[str, Any]:
        self.calls.append(arguments)
        if self.script:
            outcome = self.script.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        payload = json.loads(arguments["Payload"])
        users = payload.get("users", [payload])
        items = [
            {
                "score": 0.5,
                "budget_id": b["budget_id"],
                "itemization_id": i["itemization_id"],
                "user_id": u["user_id"],
            }
            for u in users
            for b in u["budgets"]
            for i in u["all_user_expense_lineitems"]
        ]
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(items).encode())}


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Invoke",
    )


def function_error(error_type: str) -> dict[str, Any]:
    body = json.dumps({"errorType": error_type, "errorMessage": "it went wrong"}).encode()
    return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(body)}


def test_client_retries_throttling_and_5xx_with_backoff() -> None:
    fake = FakeLambda(
        [client_error("TooManyRequestsException", 429), client_error("ServiceException", 500)]
    )
    sleeps: list[float] = []
    run = ScoresClient(
        clients={"r1": fake}, region="r1", sleep=sleeps.append, base_delay_s=0.1
    ).score(user("u", 2, 2))
    assert len(run.items) == 4 and run.retries == 2 and run.invocations == 3
    assert len(sleeps) == 2 and all(0 <= s <= 0.4 for s in sleeps)


def test_client_halves_a_part_on_413_and_on_response_too_large() -> None:
    fake = FakeLambda(
        [
            client_error("RequestEntityTooLargeException", 413),
            function_error("Function.ResponseSizeTooLarge"),
        ]
    )
    users = [user(f"u{k}", 2, 3) for k in range(4)]
    run = ScoresClient(clients={"r1": fake}, region="r1", sleep=lambda s: None).score(users)
    assert run.splits == 2
    assert [(i["budget_id"], i["itemization_id"]) for i in run.items] == expected_pairs(users)


def test_client_turns_a_part_that_keeps_failing_into_error_items() -> None:
    fake = FakeLambda([function_error("KeyError")])
    primary = FakeLambda([client_error("AccessDeniedException", 403)])
    run = ScoresClient(
        clients={"r1": primary, "r2": fake},
        region="r1",
        mirror_regions=["r2"],
        sleep=lambda s: None,
    ).score(user("u", 2, 2))
    assert run.failovers == 1 and run.failed_parts == 1
    assert [i["error"]["code"] for i in run.items] == ["function_error"] * 4
    assert all(i["score"] is None and i["user_id"] == "u" for i in run.items)
    assert "KeyError" in run.items[0]["error"]["message"]


def test_client_retries_a_crashed_runtime() -> None:
    fake = FakeLambda([function_error("Runtime.ExitError")])
    run = ScoresClient(clients={"r1": fake}, region="r1", sleep=lambda s: None).score(
        user("u", 1, 1)
    )
    assert run.retries == 1 and run.items[0]["score"] == 0.5


def test_client_refuses_a_payload_it_cannot_read() -> None:
    with pytest.raises(TypeError):
        ScoresClient(clients={"r1": FakeLambda([])}, region="r1").score("not a payload")


@pytest.mark.usefixtures("no_aws_credentials")
def test_get_model_scores_needs_no_credentials_for_a_local_endpoint(
    real_serve: ServeProcess,
) -> None:
    items = get_model_scores(
        load_event("seed_direct.json"),
        FUNCTION,
        "us-west-2",
        endpoint_urls={"us-west-2": real_serve.url},
        qualifier="live",
    )
    assert [(i["budget_id"], i["itemization_id"]) for i in items] == [("309366", "4659496")]
    assert "error" not in items[0] and 0.0 <= items[0]["score"] <= 1.0
