"""One answer whatever its shape: a user answered in parts (`answer_budgets`) equals the user
answered whole, and the columns form carries exactly the list form's values."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lambda_handler
from bem.client import answer_items
from budget_matcher import contract as c
from tests.runtime.answer_strategies import batches, users

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _canonical(items: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True) for item in items)


@SETTINGS
@given(user=users(user_id="alice"), data=st.data())
def test_answer_split_by_answer_budgets_equals_the_unsplit_answer(
    user: dict[str, Any], data: st.DataObject
) -> None:
    whole = lambda_handler.answer(user, None)
    keys = list(dict.fromkeys(item["budget_id"] for item in whole))  # null among them
    n_parts = data.draw(st.integers(1, 4))
    group_of = {key: data.draw(st.integers(0, n_parts - 1)) for key in keys}
    parts: list[dict[str, Any]] = []
    for part in range(n_parts):
        named = [key for key in keys if group_of[key] == part]
        parts.extend(lambda_handler.answer({**user, c.ANSWER_BUDGETS_KEY: named}, None))
    assert _canonical(parts) == _canonical(whole)


@SETTINGS
@given(payload=batches())
def test_answer_columns_form_carries_the_list_forms_values(payload: dict[str, Any]) -> None:
    listed = lambda_handler.answer(payload, None)
    columns = lambda_handler.answer({**payload, c.FORMAT_KEY: c.COLUMNS_FORMAT}, None)
    assert columns[c.FORMAT_KEY] == c.COLUMNS_FORMAT
    assert answer_items(columns) == listed


def test_answer_columns_form_through_the_route_by_query() -> None:
    event = {
        "httpMethod": "POST",
        "requestContext": {},
        "queryStringParameters": {"format": "columns"},
        "body": json.dumps(c.SEED_EXAMPLE),
    }
    body = json.loads(lambda_handler.answer(event, None)["body"])
    entry = body["users"][0]
    assert entry["budget_ids"] == ["309366"] and entry["itemization_ids"] == ["4659496"]
    assert (entry["budget_index"], entry["item_index"]) == ([0], [0])
    assert answer_items(body) == lambda_handler.answer(c.SEED_EXAMPLE, None)


def test_answer_duplicate_record_error_never_shares_a_scored_pairs_key() -> None:
    user = json.loads(json.dumps(c.SEED_EXAMPLE))
    user["budgets"].append(dict(user["budgets"][0], budget_price_budget="999"))
    answer = lambda_handler.answer(user, None)
    keys = [(item["budget_id"], item["itemization_id"], item.get("record")) for item in answer]
    assert len(set(keys)) == len(keys) == 2
    duplicate = answer[1]
    assert duplicate["error"]["code"] == "duplicate_id" and duplicate["record"] == "budgets[1]"
    assert duplicate["budget_id"] is None


def test_answer_unreadable_answer_budgets_is_one_error_for_the_user() -> None:
    answer = lambda_handler.answer({**c.SEED_EXAMPLE, "answer_budgets": "309366"}, None)
    assert [item["error"]["code"] for item in answer] == ["invalid_type"]
    assert answer[0]["error"]["field"] == "answer_budgets"


def test_answer_same_code_by_every_path() -> None:
    def route(body: str) -> str:
        event = {"httpMethod": "POST", "requestContext": {}, "body": body}
        document = json.loads(lambda_handler.answer(event, None)["body"])
        return str(
            document["error"]["code"]
            if isinstance(document, dict)
            else document[0]["error"]["code"]
        )

    def invoke(payload: Any) -> str:
        return str(lambda_handler.answer(payload, None)[0]["error"]["code"])

    assert route('"hello"') == invoke("hello") == "invalid_payload"
    assert route("") == route("{}") == route("null") == invoke({}) == invoke(None) == "empty_body"
    assert "users[0]" not in lambda_handler.answer({"budget": []}, None)[0]["error"]["message"]
