"""bem.client at the answer bound: calls sized by the service's estimate, users split exactly,
refused users sent again, the columns form — against the real handler in process."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import boto3
import pytest

import lambda_handler
import predict
from bem.client import ScoresClient
from budget_matcher import contract as c
from budget_matcher.scoring import score_payload
from flattened_data_points import UNBOUNDED
from tests.local.conftest import ServeProcess
from tests.local.test_emulator_client import function_error


class Handler:
    """A boto3-shaped Lambda client that runs the real handler (as bytes, as on the wire) and
    keeps each answer's size; `script` outcomes are answered first."""

    def __init__(self, script: list[Any] | None = None) -> None:
        self.script = list(script or [])
        self.sizes: list[int] = []

    def invoke(self, **arguments: Any) -> dict[str, Any]:
        if self.script:
            return self.script.pop(0)
        answer = lambda_handler.handler(json.loads(arguments["Payload"]), None)
        body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        assert len(body) <= 6_000_000
        self.sizes.append(len(body))
        return {"StatusCode": 200, "Payload": io.BytesIO(body)}


def long_id_user(user_id: str, n_budgets: int, n_items: int) -> dict[str, Any]:
    """A user whose every id is a 36-character UUID."""
    seed = c.SEED_EXAMPLE
    return {
        "user_id": user_id,
        "budgets": [
            {
                **seed["budgets"][0],
                "budget_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{user_id}b{k}")),
            }
            for k in range(n_budgets)
        ],
        "all_user_expense_lineitems": [
            {
                **seed["all_user_expense_lineitems"][0],
                "itemization_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{user_id}i{k}")),
                "expensed_amount_itemization": str(5 + k % 400),
            }
            for k in range(n_items)
        ],
    }


def unsplit(users: list[dict[str, Any]]) -> dict[tuple[Any, ...], tuple[Any, Any]]:
    """Each user scored whole, in one call without an answer bound: key → (score, matched)."""
    model = predict.get_model()
    items = [
        item
        for user in users
        for item in score_payload({"users": [user]}, model, answer_bytes=UNBOUNDED).items
    ]
    return {_key(item): (item["score"], item["matched"]) for item in items}


def _key(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item.get("user_id"), item["budget_id"], item["itemization_id"])


def _answered(items: list[dict[str, Any]]) -> dict[tuple[Any, ...], tuple[Any, Any]]:
    keys = [_key(item) for item in items]
    assert len(set(keys)) == len(keys)  # every pair exactly once
    return {_key(item): (item["score"], item["matched"]) for item in items}


@pytest.mark.parametrize("form", ["list", "columns"])
def test_client_answers_a_150_by_300_user_of_long_ids_exactly(form: str) -> None:
    users = [long_id_user("big", 150, 300)]
    fake = Handler()
    run = ScoresClient(clients={"r1": fake}, region="r1", response_format=form).score(users)
    assert len(run.items) == 45_000 and all("error" not in item for item in run.items)
    assert _answered(run.items) == unsplit(users)
    assert run.resent == 0 and len(fake.sizes) == (2 if form == "list" else 1)
    assert [(i["budget_id"], i["itemization_id"]) for i in run.items[:2]] == [
        (users[0]["budgets"][0]["budget_id"], item["itemization_id"])
        for item in users[0]["all_user_expense_lineitems"][:2]
    ]


def test_client_answers_three_packed_users_of_16000_pairs() -> None:
    users = [long_id_user(f"u{k}", 40, 400) for k in range(3)]
    fake = Handler()
    run = ScoresClient(clients={"r1": fake}, region="r1").score({"users": users})
    assert len(run.items) == 48_000 and run.resent == 0
    assert _answered(run.items) == unsplit(users)
    assert len(fake.sizes) == 2  # ~7.4 MB of answer: two calls, none refused


def test_client_sends_refused_users_again() -> None:
    users = [long_id_user(f"u{k}", 40, 300) for k in range(5)]  # ~1.8 MB of answer each
    # a client that believes calls are far larger than the service answers
    client = ScoresClient(clients={"r1": Handler()}, region="r1", answer_bytes=10**9)
    run = client.score(users)
    assert run.resent >= 2
    assert len(run.items) == 5 * 40 * 300 and all("error" not in item for item in run.items)
    assert _answered(run.items) == unsplit(users)


def test_client_retries_an_answer_cut_short() -> None:
    fake = Handler([function_error("Runtime.TruncatedResponse")])
    run = ScoresClient(clients={"r1": fake}, region="r1", sleep=lambda s: None).score(
        c.SEED_EXAMPLE
    )
    assert run.retries == 1 and run.items == lambda_handler.answer(c.SEED_EXAMPLE, None)


@pytest.mark.slow
@pytest.mark.parametrize("form", ["list", "columns"])
def test_client_through_bem_serve_equals_the_unsplit_handler(
    real_serve: ServeProcess, form: str
) -> None:
    users = [long_id_user(f"m{k}", 6 + k % 5, 40 + 9 * k) for k in range(60)]
    users.append(long_id_user("split", 150, 300))  # more than one call's answer
    client = ScoresClient(
        "budget-expense-matcher",
        "us-west-2",
        session=boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-west-2"
        ),
        endpoint_urls={"us-west-2": real_serve.url},
        response_format=form,
    )
    run = client.score({"users": users})
    assert run.failed_parts == 0 and run.resent == 0
    assert _answered(run.items) == unsplit(users)
    assert [item["user_id"] for item in run.items[:1]] == ["m0"]


def test_client_splits_a_user_the_service_refuses_whole() -> None:
    users = [long_id_user("big", 150, 300)]  # ~7 MB of answer
    # a client that believes one call holds it: the service refuses, the client splits it
    client = ScoresClient(clients={"r1": Handler()}, region="r1", answer_bytes=10**9)
    run = client.score(users)
    assert run.resent == 1 and len(run.items) == 45_000
    assert _answered(run.items) == unsplit(users)
