"""The Invoke API and the API Gateway route of `bem serve`, called by real boto3 and urllib."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bem.local.invoke_api import InvokeApiServer, split_function_name
from bem.local.pool import FunctionPool
from tests.local.conftest import lambda_client

FUNCTION = "budget-expense-matcher"


def http(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one plain HTTP request."""
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_invoke_request_response_through_boto3(toy_client: Any) -> None:
    response = toy_client.invoke(FunctionName=FUNCTION, Payload=b'{"n": 7}')
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"echo": {"n": 7}}


def test_invoke_tail_returns_the_last_4_kb_of_the_log(toy_client: Any) -> None:
    response = toy_client.invoke(
        FunctionName=FUNCTION, LogType="Tail", Payload=b'{"print": "tail me"}'
    )
    log = base64.b64decode(response["LogResult"]).decode()
    assert "tail me" in log and log.startswith("START RequestId:")
    assert "REPORT RequestId:" in log
    long = toy_client.invoke(
        FunctionName=FUNCTION, LogType="Tail", Payload=json.dumps({"print": "y" * 9000}).encode()
    )
    tail = base64.b64decode(long["LogResult"])
    assert len(tail) == 4096
    assert b"REPORT RequestId:" in tail.splitlines()[-1]


def test_invoke_event_answers_202_and_still_runs(toy_client: Any, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    response = toy_client.invoke(
        FunctionName=FUNCTION, InvocationType="Event", Payload=json.dumps({"touch": str(marker)})
    )
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()


def test_invoke_dry_run_answers_204_without_running(toy_client: Any, tmp_path: Path) -> None:
    marker = tmp_path / "must-not-exist"
    response = toy_client.invoke(
        FunctionName=FUNCTION, InvocationType="DryRun", Payload=json.dumps({"touch": str(marker)})
    )
    assert response["StatusCode"] == 204
    time.sleep(0.3)
    assert not marker.exists()


def test_invoke_qualifier_alias_sets_executed_version(toy_client: Any) -> None:
    response = toy_client.invoke(FunctionName=FUNCTION, Qualifier="live", Payload=b"{}")
    assert response["ExecutedVersion"] == "1"
    by_arn = toy_client.invoke(
        FunctionName=f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}:live",
        Payload=b"{}",
    )
    assert by_arn["ExecutedVersion"] == "1"


@pytest.mark.parametrize(
    "arguments",
    [{"FunctionName": "no-such-function"}, {"FunctionName": FUNCTION, "Qualifier": "nope"}],
)
def test_invoke_unknown_function_or_qualifier_is_resource_not_found(
    toy_client: Any, arguments: dict[str, str]
) -> None:
    with pytest.raises(toy_client.exceptions.ResourceNotFoundException) as raised:
        toy_client.invoke(Payload=b"{}", **arguments)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "Function not found: arn:aws:lambda:" in str(raised.value)


def test_invoke_over_6_mb_is_413_request_entity_too_large(toy_client: Any) -> None:
    payload = json.dumps({"pad": "x" * 6_291_456}).encode()
    with pytest.raises(ClientError) as raised:
        toy_client.invoke(FunctionName=FUNCTION, Payload=payload)
    assert raised.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    # the connection and the function are fine afterwards
    assert toy_client.invoke(FunctionName=FUNCTION, Payload=b"{}")["StatusCode"] == 200


def test_invoke_event_over_1_mb_is_413(toy_client: Any) -> None:
    payload = json.dumps({"pad": "x" * 1_048_576}).encode()
    with pytest.raises(ClientError) as raised:
        toy_client.invoke(FunctionName=FUNCTION, InvocationType="Event", Payload=payload)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_invoke_body_that_is_not_json_is_invalid_request_content(toy_client: Any) -> None:
    with pytest.raises(toy_client.exceptions.InvalidRequestContentException):
        toy_client.invoke(FunctionName=FUNCTION, Payload=b"{not json")


def test_invoke_client_context_reaches_the_handler_decoded(toy_client: Any) -> None:
    context = base64.b64encode(json.dumps({"custom": {"caller": "tests"}}).encode()).decode()
    response = toy_client.invoke(
        FunctionName=FUNCTION, ClientContext=context, Payload=b'{"context": 1}'
    )
    assert json.loads(response["Payload"].read())["client_context"] == {"caller": "tests"}


def test_invoke_function_error_and_oversized_response_are_unhandled(toy_client: Any) -> None:
    raised = toy_client.invoke(FunctionName=FUNCTION, Payload=b'{"raise": "boom"}')
    assert raised["FunctionError"] == "Unhandled"
    assert json.loads(raised["Payload"].read())["errorType"] == "ValueError"
    oversized = toy_client.invoke(FunctionName=FUNCTION, Payload=b'{"big": 6400000}')
    assert oversized["StatusCode"] == 200 and oversized["FunctionError"] == "Unhandled"
    assert json.loads(oversized["Payload"].read())["errorType"] == "Function.ResponseSizeTooLarge"


def test_invoke_beyond_max_in_flight_is_throttled(toy_pool: FunctionPool) -> None:
    server = InvokeApiServer(toy_pool, port=0, max_in_flight=0)
    server.start()
    try:
        with pytest.raises(ClientError) as raised:
            lambda_client(server.url).invoke(FunctionName=FUNCTION, Payload=b"{}")
    finally:
        server.stop()
    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_api_route_turns_requests_into_rest_proxy_events(toy_server: InvokeApiServer) -> None:
    status, headers, body = http(
        f"{toy_server.url}/test/budget_expense_matcher/", "POST", b'{"a": 1}'
    )
    assert status == 201 and headers["X-Toy"] == "yes"
    seen = json.loads(body)
    assert seen == {
        "method": "POST",
        "body": '{"a": 1}',
        "stage": "test",
        "path": "/budget_expense_matcher/",
    }
    status, _, body = http(f"{toy_server.url}/prod/budget_expense_matcher")
    assert status == 201 and json.loads(body)["method"] == "GET"


def test_api_route_maps_function_failures_to_502(toy_server: InvokeApiServer) -> None:
    url = f"{toy_server.url}/test/budget_expense_matcher/"
    for body in (b'{"raise": 1}', b'{"malformed": 1}'):
        status, _, answer = http(url, "POST", body)
        assert status == 502 and json.loads(answer) == {"message": "Internal server error"}


def test_unknown_path_is_missing_authentication_token(toy_server: InvokeApiServer) -> None:
    status, _, body = http(f"{toy_server.url}/test/elsewhere")
    assert status == 403 and json.loads(body)["message"] == "Missing Authentication Token"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("fn", ("fn", None)),
        ("fn:live", ("fn", "live")),
        ("123456789012:function:fn", ("fn", None)),
        ("arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Afn%3A7", ("fn", "7")),
    ],
)
def test_split_function_name_reads_names_and_arns(raw: str, expected: tuple) -> None:
    assert split_function_name(raw) == expected


def test_invoke_reads_a_chunked_body(toy_server: InvokeApiServer) -> None:
    import http.client

    host, port = toy_server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), int(port), timeout=30)
    chunks = iter([b'{"chunked":', b" true}"])
    connection.request(
        "POST", f"/2015-03-31/functions/{FUNCTION}/invocations", body=chunks, encode_chunked=True
    )
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read()) == {"echo": {"chunked": True}}
    connection.close()
