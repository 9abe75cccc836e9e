"""Hostile and careless clients: no value empties the answer, no event makes the handler raise."""

from __future__ import annotations

import base64
import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lambda_handler
import predict
from budget_matcher import contract as c
from budget_matcher import scoring, values
from budget_matcher.features import FEATURE_NAMES
from budget_matcher.outcome import ScoringOutcome
from budget_matcher.values import utf8_safe
from tests.conftest import load_event


def _strict_json(answer: Any) -> str:
    """The answer as Lambda's runtime would send it: strict JSON, encodable as UTF-8."""
    text = json.dumps(answer, ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")
    return text


def _two_users(seed_payload: dict[str, Any]) -> dict[str, Any]:
    first = {"user_id": "a", **copy.deepcopy(seed_payload)}
    second = {"user_id": "b", **copy.deepcopy(seed_payload)}
    return {"users": [first, second]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("expensed_amount_itemization", 10**309),
        ("transaction_date_itemization", 10**309),
        ("transaction_date_itemization", "0001-01-01T00:00:00+01:00"),
        ("transaction_date_itemization", "9999-12-31T23:59:59-01:00"),
        # past str()'s 4,300 digits: what json.loads in process can hand over
        pytest.param("itemization_id", 10**4999, id="itemization_id-5000-digits"),
        pytest.param("vendor_name_expense", 10**4999, id="vendor-5000-digits"),
    ],
)
def test_hardening_overflowing_value_is_one_record_error(
    tiny_model_dir: Path, seed_payload: dict[str, Any], field: str, value: Any
) -> None:
    payload = _two_users(seed_payload)
    payload["users"][1]["all_user_expense_lineitems"][0][field] = value
    answer = lambda_handler.answer(payload, None)
    by_user = {item["user_id"]: item for item in answer}
    assert by_user["a"]["score"] is not None
    assert by_user["b"]["error"]["field"] == field
    assert by_user["b"]["error"]["code"] != "internal_error"
    _strict_json(answer)


@pytest.mark.parametrize("key", ["budget_id", "user_id"])
def test_hardening_five_thousand_digit_id_is_a_record_error(
    tiny_model_dir: Path, seed_payload: dict[str, Any], key: str
) -> None:
    payload = _two_users(seed_payload)
    target = payload["users"][1]
    (target["budgets"][0] if key == "budget_id" else target)[key] = 10**4999
    answer = lambda_handler.answer(payload, None)
    codes = [item.get("error", {}).get("code") for item in answer]
    assert "internal_error" not in codes and "too_long" in codes
    assert any(item.get("user_id") == "a" and item["score"] is not None for item in answer)
    _strict_json(answer)


@pytest.mark.parametrize("key", ["user_id", "budget_id", "itemization_id"])
def test_hardening_lone_surrogate_ids_give_a_utf8_answer(
    tiny_model_dir: Path, seed_payload: dict[str, Any], key: str
) -> None:
    payload = _two_users(seed_payload)
    user = payload["users"][0]
    if key == "user_id":
        user["user_id"] = "u\ud800"
    elif key == "budget_id":
        user["budgets"][0]["budget_id"] = "b\udc00"
    else:
        user["all_user_expense_lineitems"][0]["itemization_id"] = "i\udbff"
    answer = lambda_handler.answer(payload, None)
    assert "\ufffd" in _strict_json(answer)
    assert all(item["score"] is not None for item in answer)
    event = {"httpMethod": "POST", "requestContext": {}, "body": json.dumps(payload)}
    response = lambda_handler.answer(event, None)
    _strict_json(response)
    assert response["statusCode"] == 200


def test_hardening_distinct_long_values_do_not_grow_the_caches(
    tiny_model_dir: Path, seed_payload: dict[str, Any]
) -> None:
    lambda_handler.answer(seed_payload, None)
    before = values.cached_entries()
    for k in range(20):
        payload = copy.deepcopy(seed_payload)
        item = payload["all_user_expense_lineitems"][0]
        item["vendor_name_expense"] = f"vendor {k} " + "x" * 900
        item["expense_type_name_expense"] = f"{k}" * 500
        payload["budgets"][0]["travel_vendor_receipts"] = f"{k}" + "y" * 1_000_000
        answer = lambda_handler.answer(payload, None)
        assert len(answer) == 1
    assert values.cached_entries() - before <= 20 * 0  # long strings are never kept


@pytest.mark.parametrize(
    "changes",
    [
        {"headers": ["not", "an", "object"]},
        {"headers": "Content-Type: application/json"},
        {"queryStringParameters": ["format", "envelope"]},
        {"queryStringParameters": 7},
    ],
)
def test_hardening_headers_and_query_of_any_type_are_answered(
    tiny_model_dir: Path, changes: dict[str, Any]
) -> None:
    event = load_event("apigw_rest_v1_post_base64.json")
    event.update(changes)
    response = lambda_handler.answer(event, None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])[0]["score"] is not None


def test_hardening_base64_flag_as_string_false_is_not_base64(
    tiny_model_dir: Path, seed_payload: dict[str, Any]
) -> None:
    event = {
        "httpMethod": "POST",
        "requestContext": {},
        "body": json.dumps(seed_payload),
        "isBase64Encoded": "false",
    }
    response = lambda_handler.answer(event, None)
    assert response["statusCode"] == 200, response["body"]
    event["body"] = base64.b64encode(json.dumps(seed_payload).encode()).decode()
    event["isBase64Encoded"] = "true"
    assert lambda_handler.answer(event, None)["statusCode"] == 200


def test_hardening_non_string_user_id_is_reported_not_dropped(
    tiny_model_dir: Path, seed_payload: dict[str, Any]
) -> None:
    payload = _two_users(seed_payload)
    payload["users"][1]["user_id"] = {"id": 7}
    answer = lambda_handler.answer(payload, None)
    assert [item.get("user_id") for item in answer if "error" not in item] == ["a"]
    errors = [item for item in answer if "error" in item]
    assert len(errors) == 1 and errors[0]["error"]["field"] == "user_id"


def _user(user_id: str, n_budgets: int, n_items: int, seed: dict[str, Any]) -> dict[str, Any]:
    budget, item = seed["budgets"][0], seed["all_user_expense_lineitems"][0]
    return {
        "user_id": user_id,
        "budgets": [{**budget, "budget_id": f"{user_id}b{k}"} for k in range(n_budgets)],
        "all_user_expense_lineitems": [
            {**item, "itemization_id": f"{user_id}i{k}"} for k in range(n_items)
        ],
    }


def test_hardening_user_over_the_pair_cap_is_refused_fast_with_advice(
    tiny_model_dir: Path, seed_payload: dict[str, Any]
) -> None:
    # 700 × 700 = 490,000 pairs: over the 400,000 one call computes, refused unread.
    payload = {"users": [_user("big", 700, 700, seed_payload), _user("small", 2, 3, seed_payload)]}
    started = time.perf_counter()
    answer = lambda_handler.answer(payload, None)
    elapsed = time.perf_counter() - started
    refused = [item for item in answer if "error" in item]
    assert len(refused) == 1 and refused[0]["error"]["code"] == "too_many_pairs"
    assert "send fewer budgets" in refused[0]["error"]["message"]
    assert len(answer) == 1 + 6
    assert elapsed < 5  # generous: the refusal happens before any pair is built


def test_hardening_users_beyond_the_answer_size_are_refused_one_by_one(
    tiny_model_dir: Path, seed_payload: dict[str, Any]
) -> None:
    users = [_user(f"u{k:03d}", 40, 40, seed_payload) for k in range(60)]  # 96,000 pairs
    event = {"httpMethod": "POST", "requestContext": {}, "body": json.dumps({"users": users})}
    response = lambda_handler.answer(event, None)
    assert len(response["body"].encode()) < 6_000_000
    items = json.loads(response["body"])
    refused = {item["user_id"] for item in items if "error" in item}
    answered = {item["user_id"] for item in items if "error" not in item}
    assert refused and answered and not refused & answered
    assert refused | answered == {user["user_id"] for user in users}
    assert all(item["error"]["code"] == "answer_too_large" for item in items if "error" in item)
    assert len(json.dumps(response).encode()) < 6_000_000


def test_hardening_internal_error_metrics_carry_the_model_version(
    tiny_model_dir: Path, seed_payload: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[ScoringOutcome] = []

    def broken(pairs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(scoring, "compute_features", broken)  # the handler's scoring path
    monkeypatch.setattr(lambda_handler.side_paths_module, "publish", published.append)
    answer = lambda_handler.answer(seed_payload, None)
    assert answer[0]["error"]["code"] == "internal_error"
    assert published[0].model_version == "0.0.0-test"
    assert published[0].n_errors == 1


def test_hardening_event_parsing_failure_is_answered(
    tiny_model_dir: Path, seed_payload: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(event: object) -> None:
        raise AttributeError("'list' object has no attribute 'items'")

    monkeypatch.setattr(lambda_handler.events, "parse_event", broken)
    event = {"httpMethod": "POST", "requestContext": {}, "body": json.dumps(seed_payload)}
    response = lambda_handler.answer(event, None)
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["error"]["code"] == "internal_error"


def _set_card(directory: Path, **changes: Any) -> None:
    path = directory / predict.CARD_FILE
    card = json.loads(path.read_text())
    card.update(changes)
    path.write_text(json.dumps(card))


@pytest.mark.parametrize("threshold", ["nan", "inf", "1.5"])
def test_hardening_unusable_threshold_is_refused(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, threshold: str
) -> None:
    monkeypatch.setenv("BEM_THRESHOLD", threshold)
    with pytest.raises(predict.ModelUnavailable) as refused:
        predict.load_model()
    assert refused.value.code == "model_card_invalid"
    monkeypatch.delenv("BEM_THRESHOLD")
    _set_card(tiny_model_dir, threshold=float(threshold))
    with pytest.raises(predict.ModelUnavailable):
        predict.load_model()


def test_hardening_model_bytes_hashed_are_the_bytes_loaded(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file swapped right after it was first opened (hashed) must not be what gets loaded."""
    card = json.loads((tiny_model_dir / predict.CARD_FILE).read_text())
    form = "sklearn" if predict.PICKLE_FILE in card["artifacts"] else "lean"
    path = tiny_model_dir / (predict.PICKLE_FILE if form == "sklearn" else predict.LEAN_FILE)
    real_read = predict.read_regular
    opens: list[Path] = []

    def swapping_read(file: Path, max_bytes: int) -> bytes:
        data = real_read(file, max_bytes)
        if file == path and not opens:
            opens.append(file)
            with open(path, "wb") as tampered:  # the swap, right after the first read
                tampered.write(b"tampered" + data[8:])
        return data

    monkeypatch.setattr(predict, "read_regular", swapping_read)
    model = predict.load_model(tiny_model_dir, form)
    assert opens == [path]
    assert model.score(np.zeros((2, len(FEATURE_NAMES)))).shape == (2,)


_hostile_value = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(codec=None), max_size=40),
    st.sampled_from(["24.10", "$1,234.50", "(3.00)", "2017-04-18 04:00:00", "2017-04-18T09:00Z"]),
    st.integers(min_value=-(10**330), max_value=10**330),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
_ids = st.text(alphabet=st.characters(codec=None), min_size=1, max_size=6)


@st.composite
def _records(draw: st.DrawFn, fields: tuple[str, ...], id_field: str) -> list[dict[str, Any]]:
    ids = draw(st.lists(_ids, max_size=4))
    return [{id_field: k, **{f: draw(_hostile_value) for f in fields}} for k in ids]


_users = st.lists(
    st.fixed_dictionaries(
        {
            "user_id": st.text(alphabet=st.characters(codec=None), min_size=1, max_size=5),
            "budgets": _records(c.BUDGET_FIELDS[1:], c.BUDGET_ID),
            "all_user_expense_lineitems": _records(c.ITEM_FIELDS[1:], c.ITEM_ID),
        }
    ),
    max_size=4,
    unique_by=lambda user: str(user["user_id"]).strip(),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(users=_users)
def test_hardening_every_pair_answered_once_per_record_in_input_order(
    tiny_model_dir: Path, users: list[dict[str, Any]]
) -> None:
    answer = lambda_handler.answer({"users": users}, None)
    _strict_json(answer)
    expected: list[tuple[str | None, str, str]] = []
    for user in users:
        uid = utf8_safe(user["user_id"]) if user["user_id"].strip() else None
        budget_ids = _usable_ids(user["budgets"], c.BUDGET_ID)
        item_ids = _usable_ids(user["all_user_expense_lineitems"], c.ITEM_ID)
        expected += [(uid, b, i) for b in budget_ids for i in item_ids]

    def key(item: dict[str, Any]) -> tuple[str | None, str, str]:
        return (item.get("user_id"), item["budget_id"], item["itemization_id"])

    paired = [item for item in answer if item.get("budget_id") and item.get("itemization_id")]
    # One item per (budget record, item record), scored or error; duplicates stay errors.
    assert sorted(map(str, map(key, paired))) == sorted(map(str, expected))
    positions = [expected.index(key(item)) for item in paired if "error" not in item]
    assert positions == sorted(positions)  # scored pairs keep the input order
    duplicates = sum(
        len([r for r in user[field] if utf8_safe(r[id_field].strip())])
        - len(_usable_ids(user[field], id_field))
        for user in users
        for field, id_field in (("budgets", c.BUDGET_ID), ("all_user_expense_lineitems", c.ITEM_ID))
    )
    reported = [item for item in answer if item.get("error", {}).get("code") == "duplicate_id"]
    assert len(reported) == duplicates  # each later record of a seen id: one error item
    assert all(item["budget_id"] is None and item["record"] for item in reported)


def _usable_ids(records: list[dict[str, Any]], id_field: str) -> list[str]:
    """The ids of `records` that can be echoed (not blank), in input order, each once: a later
    record with an id already seen is a `duplicate_id` error item of its own, not a pair's."""
    ids = [utf8_safe(record[id_field].strip()) for record in records]
    return list(dict.fromkeys(record_id for record_id in ids if record_id))
