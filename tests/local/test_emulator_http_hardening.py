"""`bem serve` against careless and hostile HTTP clients: every request gets an answer, no body
is held past its limit, idle connections are closed, API Gateway's answers for odd requests."""

from __future__ import annotations

import json
import resource
import socket
import time
from typing import Any

import pytest

from bem.local import invoke_api
from bem.local.invoke_api import InvokeApiServer

INVOKE = "/2015-03-31/functions/budget-expense-matcher/invocations"


def _raw(server: InvokeApiServer, data: bytes, timeout: float = 30) -> bytes:
    """Send raw bytes, return everything the server answers until it closes or goes quiet."""
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=timeout) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e3", b"99999999999999999999"])
def test_http_bad_content_length_is_400(toy_server: InvokeApiServer, length: bytes) -> None:
    request = b"POST " + INVOKE.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: " + length
    answer = _raw(toy_server, request + b"\r\n\r\n{}")
    assert _status(answer) == 400
    assert b"Content-Length" in answer.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("size", [b"zz", b"-1", b"", b"1" * 40])
def test_http_bad_chunk_size_is_400(toy_server: InvokeApiServer, size: bytes) -> None:
    request = (
        b"POST /test/budget_expense_matcher/ HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\n{}\r\n0\r\n\r\n"
    )
    assert _status(_raw(toy_server, request)) == 400


def test_http_chunked_body_over_the_limit_is_never_held(toy_server: InvokeApiServer) -> None:
    """One 64 MiB chunk announced: 413 at once, the server reads at most its drain bound."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    host, port = toy_server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=30) as connection:
        connection.sendall(
            b"POST " + INVOKE.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
            b"\r\n\r\n" + f"{64 << 20:x}".encode() + b"\r\n"
        )
        block = b"x" * (1 << 20)
        sent = 0
        try:
            while sent < 64 << 20:
                connection.sendall(block)
                sent += len(block)
        except OSError:
            pass  # the server answered and closed: it stopped reading
        answer = connection.recv(65536)
    assert _status(answer) == 413
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 48  # the 64 MiB chunk was never buffered


def test_http_event_invocation_over_1_mb_is_refused_like_lambda(
    toy_server: InvokeApiServer,
) -> None:
    body = json.dumps({"pad": "x" * 1_048_576}).encode()
    request = (
        f"POST {INVOKE} HTTP/1.1\r\nHost: x\r\nX-Amz-Invocation-Type: Event\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    answer = _raw(toy_server, request + body)
    assert _status(answer) == 413
    assert b"x-amzn-ErrorType: RequestEntityTooLargeException" in answer


@pytest.mark.parametrize("method", ["DELETE", "PATCH", "OPTIONS", "PUT", "FOO"])
def test_http_unsupported_methods_get_api_gateways_403(
    toy_server: InvokeApiServer, method: str
) -> None:
    request = f"{method} /test/budget_expense_matcher/ HTTP/1.1\r\nHost: x\r\n"
    answer = _raw(toy_server, (request + "Content-Length: 0\r\n\r\n").encode())
    assert _status(answer) == 403
    assert b"Missing Authentication Token" in answer


def test_http_headers_over_10_kb_are_431(toy_server: InvokeApiServer) -> None:
    headers = "".join(f"X-Pad-{k}: {'y' * 1000}\r\n" for k in range(12))
    request = f"GET /test/budget_expense_matcher/ HTTP/1.1\r\nHost: x\r\n{headers}\r\n"
    assert _status(_raw(toy_server, request.encode())) == 431


def test_http_idle_connections_are_closed(
    toy_server: InvokeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invoke_api._Handler, "timeout", 0.5)
    host, port = toy_server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=10) as connection:
        connection.sendall(b"POST " + INVOKE.encode() + b" HTTP/1.1\r\n")  # and then nothing
        started = time.monotonic()
        leftover = connection.recv(65536)
        waited = time.monotonic() - started
    assert leftover in (b"",) or leftover.startswith(b"HTTP/1.1 408")
    assert waited < 5


def test_http_connections_beyond_the_bound_are_closed_at_once(
    toy_server: InvokeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invoke_api, "MAX_CONNECTIONS", 3)
    host, port = toy_server.server_address[:2]
    held: list[Any] = []
    try:
        for _ in range(3):
            connection = socket.create_connection((str(host), int(port)), timeout=10)
            connection.sendall(b"GET /test/budget_expense_matcher/ HTTP/1.1\r\n")
            held.append(connection)
        deadline = time.monotonic() + 10  # a loaded machine may accept them late
        while toy_server._connections < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert toy_server._connections == 3
        extra = socket.create_connection((str(host), int(port)), timeout=10)
        extra.sendall(b"GET /test/budget_expense_matcher/ HTTP/1.1\r\nHost: x\r\n\r\n")
        assert extra.recv(65536) == b""  # closed without an answer
        extra.close()
    finally:
        for connection in held:
            connection.close()
    time.sleep(0.3)
    answer = _raw(toy_server, b"GET /test/budget_expense_matcher/ HTTP/1.1\r\nHost: x\r\n\r\n", 5)
    assert _status(answer) == 201  # the toy function answers 201
