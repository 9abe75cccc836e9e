"""The Lambda handler: every event source, bad input, model faults, property-based robustness."""

from __future__ import annotations

import base64
import copy
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lambda_handler
import predict
from budget_matcher.request_log import logger
from tests.conftest import load_event


class FakeContext:
    """The attributes of a Lambda context the handler reads."""

    aws_request_id = "req-0001"


def _scored(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if "error" not in item]


def test_handler_direct_invoke_returns_seed_shaped_list(
    tiny_model_dir: Path, seed_payload: dict[str, Any]
) -> None:
    result = lambda_handler.answer(seed_payload, FakeContext())
    assert isinstance(result, list) and len(result) == 1
    item = result[0]
    assert item["budget_id"] == "309366" and item["itemization_id"] == "4659496"
    assert 0.0 <= item["score"] <= 1.0
    assert item["matched"] == (item["score"] >= 0.5)
    json.dumps(result)


@pytest.mark.parametrize(
    "event_file", ["apigw_rest_v1_post_base64.json", "function_url_post_base64.json"]
)
def test_handler_proxy_events_with_base64_bodies(tiny_model_dir: Path, event_file: str) -> None:
    response = lambda_handler.answer(load_event(event_file), FakeContext())
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["X-Model-Version"] == "0.0.0-test"
    body = json.loads(response["body"])
    assert [(i["budget_id"], i["itemization_id"]) for i in body] == [("309366", "4659496")]


def test_handler_http_api_v2_envelope_by_query(tiny_model_dir: Path) -> None:
    response = lambda_handler.answer(load_event("apigw_http_v2_post.json"), FakeContext())
    body = json.loads(response["body"])
    assert body["model_version"] == "0.0.0-test"
    assert body["threshold"] == 0.5
    assert body["request_id"] == "req-0001"
    counts = body["counts"]
    assert (counts["users"], counts["items"], counts["scored"], counts["errors"]) == (1, 1, 1, 0)
    assert counts["matched"] == int(body["results"][0]["matched"])
    assert len(body["results"]) == 1


def test_handler_envelope_by_payload_option(tiny_model_dir: Path, seed_payload: dict) -> None:
    seed_payload["options"] = {"response_format": "envelope"}
    body = lambda_handler.answer(seed_payload, FakeContext())
    assert set(body) >= {"results", "model_version", "threshold", "counts"}


def test_handler_get_answers_service_info(tiny_model_dir: Path) -> None:
    response = lambda_handler.answer(load_event("apigw_rest_v1_get.json"), FakeContext())
    info = json.loads(response["body"])
    assert response["statusCode"] == 200
    assert info["service"] == "budget-expense-matcher"
    assert info["model_version"] == "0.0.0-test" and info["threshold"] == 0.5
    assert "budget_id" in info["contract"]["request"]["budgets"]


def test_handler_malformed_body_is_400_with_json_error(tiny_model_dir: Path) -> None:
    response = lambda_handler.answer(load_event("apigw_rest_v1_malformed_body.json"), FakeContext())
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "invalid_json"


def test_handler_other_methods_are_405(tiny_model_dir: Path) -> None:
    event = load_event("apigw_rest_v1_get.json")
    event["httpMethod"] = "DELETE"
    assert lambda_handler.answer(event, None)["statusCode"] == 405


def test_handler_non_proxy_raw_body_string(tiny_model_dir: Path, seed_payload: dict) -> None:
    result = lambda_handler.answer(json.dumps(seed_payload), None)
    assert len(_scored(result)) == 1
    garbage = lambda_handler.answer("{not json", None)  # a JSON string that holds no payload
    assert garbage[0]["score"] is None and garbage[0]["error"]["code"] == "invalid_payload"


def test_handler_batch_of_users(tiny_model_dir: Path) -> None:
    result = lambda_handler.answer(load_event("batch_three_users.json"), None)
    assert [item["user_id"] for item in result] == ["user-0", "user-1", "user-2"]
    assert [item["budget_id"] for item in result] == ["b0", "b1", "b2"]


def test_handler_bad_base64_body_is_400(tiny_model_dir: Path) -> None:
    event = load_event("apigw_rest_v1_post_base64.json")
    event["body"] = "%%%not-base64"
    response = lambda_handler.answer(event, None)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "invalid_body"


def _corrupt_card(directory: Path, **changes: Any) -> None:
    path = directory / predict.CARD_FILE
    card = json.loads(path.read_text())
    card.update(changes)
    path.write_text(json.dumps(card))


@pytest.mark.parametrize(
    ("corruption", "code"),
    [
        ({"artifacts": {"model.joblib": {"sha256": "0" * 64}}}, "model_hash_mismatch"),
        ({"library_versions": {"scikit-learn": "0.20.0"}}, "model_version_mismatch"),
        ({"features": ["vendor_jaro_winkler"]}, "model_feature_mismatch"),
    ],
)
def test_handler_refuses_mismatching_model_with_error_items(
    tiny_model_dir: Path, seed_payload: dict, corruption: dict, code: str
) -> None:
    _corrupt_card(tiny_model_dir, **corruption)
    result = lambda_handler.answer(seed_payload, None)
    assert result[0]["score"] is None and result[0]["error"]["code"] == code
    response = lambda_handler.answer(load_event("apigw_rest_v1_post_base64.json"), None)
    assert response["statusCode"] == 503
    assert json.loads(response["body"])[0]["error"]["code"] == code


def test_handler_missing_model_still_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed_payload: dict
) -> None:
    monkeypatch.setenv("BEM_MODEL_DIR", str(tmp_path / "nowhere"))
    result = lambda_handler.answer(seed_payload, None)
    assert result[0]["error"]["code"] == "model_missing"
    assert result[0]["budget_id"] == "309366"


def test_handler_logs_one_bounded_json_line(
    tiny_model_dir: Path, seed_payload: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(logger.registered_formatter)
    std_logger = logging.getLogger(logger.name)
    std_logger.addHandler(capture)
    monkeypatch.setenv("BEM_LOG_PAYLOAD_CHARS", "100")
    try:
        lambda_handler.answer(seed_payload, FakeContext())
    finally:
        std_logger.removeHandler(capture)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    requests = [line for line in lines if line["message"] == "request answered"]
    assert len(requests) == 1
    line = requests[0]
    assert line["request_id"] == "req-0001" and line["pairs"] == 1 and line["errors"] == 0
    assert line["model_version"] == "0.0.0-test" and line["duration_ms"] >= 0
    assert 50 < len(line["input"]) <= 101 and len(line["output"]) <= 101


def test_handler_side_path_fault_does_not_fail_answer(
    tiny_model_dir: Path, seed_payload: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(outcome: object) -> None:
        raise ConnectionError("database down")

    monkeypatch.setattr(lambda_handler.side_paths_module, "publish", broken)
    result = lambda_handler.answer(seed_payload, None)
    assert result[0]["score"] is not None


def test_preload_shared_libraries_skips_static_and_tolerates_junk(tmp_path: Path) -> None:
    model = tmp_path / "model"
    assert lambda_handler.preload_shared_libraries(tmp_path / "absent", model) == []
    (tmp_path / "libjunk.so").write_bytes(b"not an ELF file")
    (tmp_path / "libstatic.a").write_bytes(b"!<arch>")
    assert lambda_handler.preload_shared_libraries(tmp_path, model) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)


def _assert_valid_answer(result: Any) -> None:
    """A list of answer items, strict JSON (no NaN), each scored or carrying an error."""
    assert isinstance(result, list)
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result
    for item in result:
        assert isinstance(item, dict)
        if item.get("score") is None:
            assert {"code", "message"} <= set(item["error"])
        else:
            assert 0.0 <= item["score"] <= 1.0


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=json_values)
def test_handler_never_raises_on_arbitrary_json(tiny_model_dir: Path, payload: Any) -> None:
    _assert_valid_answer(lambda_handler.answer(payload, None))
    event = {"httpMethod": "POST", "requestContext": {}, "body": json.dumps(payload)}
    response = lambda_handler.answer(event, None)
    assert response["statusCode"] in (200, 400)
    json.loads(response["body"])


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    record=st.sampled_from(["budgets", "all_user_expense_lineitems"]),
    value=json_values,
)
def test_handler_never_raises_on_corrupted_seed(
    tiny_model_dir: Path, data: st.DataObject, record: str, value: Any
) -> None:
    payload = copy.deepcopy(load_event("seed_direct.json"))
    field = data.draw(st.sampled_from(sorted(payload[record][0])))
    payload[record][0][field] = value
    result = lambda_handler.answer(payload, None)
    _assert_valid_answer(result)
    assert len(result) == 1
    assert result[0]["score"] is None or 0.0 <= result[0]["score"] <= 1.0


def test_handler_base64_of_arbitrary_bytes_is_answered(tiny_model_dir: Path) -> None:
    event = load_event("function_url_post_base64.json")
    event["body"] = base64.b64encode(b"\xff\xfe\x00garbage").decode()
    response = lambda_handler.answer(event, None)
    assert response["statusCode"] == 400
