"""The Runtime API's response path: a response cut short is the invocation's error, never the
answer (a runtime killed mid-post once sent 81 of 5,000 announced bytes)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from bem.local.invocation import Invocation
from bem.local.invoke_api import InvokeApiServer
from bem.local.runtime_api import TRUNCATED_RESPONSE, RuntimeApiServer
from tests.local.conftest import lambda_client

FUNCTION = "budget-expense-matcher"


class Backend:
    """Records what the Runtime API hands the sandbox."""

    def __init__(self) -> None:
        self.responses: list[tuple[str, bytes]] = []
        self.errors: list[tuple[str, str, bytes]] = []

    def next_invocation(self) -> Invocation | None:
        return None

    def post_response(self, request_id: str, body: bytes) -> bool:
        self.responses.append((request_id, body))
        return True

    def post_error(self, request_id: str, error_type: str, body: bytes) -> bool:
        self.errors.append((request_id, error_type, body))
        return True

    def response_too_large(self, request_id: str, size: int) -> bool:
        return True

    def invocation_undelivered(self, request_id: str) -> None:
        """Not used here."""

    def post_init_error(self, error_type: str, body: bytes) -> None:
        """Not used here."""


@pytest.fixture
def runtime_api() -> Iterator[tuple[RuntimeApiServer, Backend]]:
    backend = Backend()
    server = RuntimeApiServer(backend)
    server.start()
    yield server, backend
    server.stop()


def _head(request_id: str, headers: bytes) -> bytes:
    """The request line and headers of a runtime posting its response."""
    line = f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\n".encode()
    return line + b"Host: x\r\n" + headers + b"\r\n"


def _post(server: RuntimeApiServer, head: bytes, body: bytes) -> bytes:
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=5) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)  # the runtime is gone: nothing more comes
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_runtime_response_shorter_than_its_length_is_an_invocation_error(
    runtime_api: tuple[RuntimeApiServer, Backend],
) -> None:
    server, backend = runtime_api
    items = [{"score": 0.5, "budget_id": "309366", "itemization_id": "4659496"}] * 9
    body = json.dumps(items).encode()[:81]
    _post(server, _head("req-1", b"Content-Length: 5000\r\n"), body)
    assert backend.responses == []
    [(request_id, error_type, document)] = backend.errors
    assert (request_id, error_type) == ("req-1", TRUNCATED_RESPONSE)
    assert json.loads(document)["errorType"] == TRUNCATED_RESPONSE
    assert "81 of 5000 bytes" in json.loads(document)["errorMessage"]


def test_runtime_chunked_response_cut_short_is_an_invocation_error(
    runtime_api: tuple[RuntimeApiServer, Backend],
) -> None:
    server, backend = runtime_api
    _post(server, _head("req-2", b"Transfer-Encoding: chunked\r\n"), b"1388\r\n" + b"x" * 81)
    assert backend.responses == []
    assert [error[:2] for error in backend.errors] == [("req-2", TRUNCATED_RESPONSE)]


def test_runtime_whole_response_is_the_answer(
    runtime_api: tuple[RuntimeApiServer, Backend],
) -> None:
    server, backend = runtime_api
    head = _head("req-3", b"Content-Length: 2\r\nConnection: close\r\n")
    assert b" 202 " in _post(server, head, b"[]")
    assert backend.responses == [("req-3", b"[]")] and backend.errors == []


def test_runtime_response_cut_short_through_bem_serve_is_a_function_error(
    toy_server: InvokeApiServer,
) -> None:
    client = lambda_client(toy_server.url)
    response = client.invoke(FunctionName=FUNCTION, Payload=json.dumps({"truncate": True}))
    assert response.get("FunctionError") == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] in (TRUNCATED_RESPONSE, "Runtime.ExitError"), error
    after = client.invoke(FunctionName=FUNCTION, Payload=json.dumps({"n": 1}))
    assert "FunctionError" not in after and json.loads(after["Payload"].read()) == {
        "echo": {"n": 1}
    }
