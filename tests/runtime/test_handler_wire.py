"""What the handler hands the runtime: the answer encoded once, as JSON bytes."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

import lambda_handler
from budget_matcher import encoding
from tests.conftest import load_event


def test_the_runtime_sends_the_handlers_bytes_unchanged() -> None:
    assert lambda_handler.RUNTIME_PASSES_BYTES  # awslambdaric is this venv's runtime client
    sent, _ = LambdaMarshaller().marshal_response(b'[{"score":0.5}]')
    assert sent == b'[{"score":0.5}]'


def test_direct_invoke_bytes_decode_to_the_answer(
    tiny_model_dir: Path, seed_payload: dict[str, Any]
) -> None:
    wire = lambda_handler.handler(seed_payload, None)
    assert isinstance(wire, bytes)
    assert json.loads(wire) == lambda_handler.answer(seed_payload, None)


def test_proxy_event_bytes_hold_the_proxy_response(tiny_model_dir: Path) -> None:
    event = load_event("apigw_rest_v1_post_base64.json")
    response = json.loads(lambda_handler.handler(event, None))
    assert response["statusCode"] == 200 and not response["isBase64Encoded"]
    body = json.loads(response["body"])
    assert [(i["budget_id"], i["itemization_id"]) for i in body] == [("309366", "4659496")]


def test_a_runtime_without_bytes_gets_python_values(
    tiny_model_dir: Path, seed_payload: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lambda_handler, "RUNTIME_PASSES_BYTES", False)
    assert isinstance(lambda_handler.handler(seed_payload, None), list)


def test_what_orjson_refuses_is_encoded_by_the_standard_library() -> None:
    value = {"big": 10**30, "text": "caf\u00e9 \ud800"}  # orjson: ints past 64 bits, surrogates
    encoded = encoding.dumps(value)
    assert json.loads(encoded.decode("utf-8")) == value


def test_orjson_and_the_standard_library_agree_on_an_answer(
    tiny_model_dir: Path, seed_payload: dict[str, Any]
) -> None:
    users = [dict(seed_payload, user_id=f"u\u00e9{n}") for n in range(3)]
    answer = lambda_handler.answer({"users": users}, None)
    assert json.loads(encoding.dumps(answer)) == json.loads(json.dumps(answer))


class _Marshaller:
    """A runtime client's marshaller: `passes` bytes through, or encodes everything as JSON."""

    passes = True

    def marshal_response(self, response: Any) -> tuple[Any, str]:
        if self.passes and isinstance(response, bytes):
            return response, "application/unknown"
        return json.dumps(response, default=str), "application/json"


def test_a_runtime_marshaller_at_the_top_of_var_runtime_is_asked_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime = types.ModuleType("lambda_runtime_marshaller")
    runtime.LambdaMarshaller = _Marshaller  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "awslambdaric.lambda_runtime_marshaller", None)
    monkeypatch.setitem(sys.modules, "lambda_runtime_marshaller", runtime)
    assert encoding.runtime_passes_bytes()
    monkeypatch.setattr(_Marshaller, "passes", False)  # an older client encodes bytes as JSON
    assert not encoding.runtime_passes_bytes()
