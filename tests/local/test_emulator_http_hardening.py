"""`bem serve` against careless and hostile HTTP clients: every request gets an answer, no body
is held past its limit, idle connections are closed, API Gateway's answers for odd requests."""

from __future__ import annotations

import json
import resource
import socket
import time

import pytest

from bem.local import http_guard, invoke_api
from bem.local.invoke_api import InvokeApiServer
from bem.local.runtime_api import read_body

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


def _invoke_request(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{header}\r\n" for header in headers)
    return (
        f"POST {INVOKE} HTTP/1.1\r\nHost: x\r\n{head}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _connect(server: InvokeApiServer) -> socket.socket:
    host, port = server.server_address[:2]
    return socket.create_connection((str(host), int(port)), timeout=10)


def _wait_connections(server: InvokeApiServer, count: int) -> None:
    deadline = time.monotonic() + 10  # a loaded machine may accept (or close) them late
    while server._connections != count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server._connections == count


def test_http_slow_connections_at_the_bound_do_not_lock_out_requests(
    toy_server: InvokeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slowloris: connections that drip their request hold every slot; a request still gets
    in (the connection longest sending its request is closed for it)."""
    monkeypatch.setattr(invoke_api, "MAX_CONNECTIONS", 3)
    held: list[socket.socket] = []
    try:
        for _ in range(3):
            connection = _connect(toy_server)
            connection.sendall(b"GET /test/budget_expense_matcher/ HTTP/1.1\r\nX-a: ")
            held.append(connection)
        _wait_connections(toy_server, 3)
        for round_ in range(2):  # a second legitimate request evicts the next oldest
            answer = _raw(toy_server, b"GET /test/budget_expense_matcher/ HTTP/1.1\r\n"
                          b"Host: x\r\n\r\n", 10)  # fmt: skip
            assert _status(answer) == 201, (round_, answer[:80])
        held[0].settimeout(5)
        assert held[0].recv(65536) == b""  # the oldest dripping connection was closed
    finally:
        for connection in held:
            connection.close()


def test_http_connections_beyond_the_bound_all_answering_are_closed_at_once(
    toy_server: InvokeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invoke_api, "MAX_CONNECTIONS", 2)
    request = _invoke_request(b'{"sleep": 2}')
    held: list[socket.socket] = []
    _wait_connections(toy_server, 0)  # the earlier tests' connections are gone
    try:
        for _ in range(2):
            connection = _connect(toy_server)
            connection.sendall(request)
            held.append(connection)
            _wait_connections(toy_server, len(held))
            time.sleep(0.3)  # its request read: it is being answered
        extra = _connect(toy_server)
        extra.sendall(b"GET /test/budget_expense_matcher/ HTTP/1.1\r\nHost: x\r\n\r\n")
        assert extra.recv(65536) == b""  # closed without an answer
        extra.close()
        for connection in held:
            assert _status(connection.recv(65536)) == 200
    finally:
        for connection in held:
            connection.close()
    time.sleep(0.3)
    answer = _raw(toy_server, b"GET /test/budget_expense_matcher/ HTTP/1.1\r\nHost: x\r\n\r\n", 5)
    assert _status(answer) == 201  # the toy function answers 201


def test_http_request_deadline_covers_headers_and_body(
    toy_server: InvokeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A byte well within each read's timeout, but the request as a whole too slow: closed."""
    monkeypatch.setattr(http_guard, "REQUEST_DEADLINE_S", 1.0)
    monkeypatch.setattr(invoke_api._Handler, "timeout", 5.0)
    for head in (b"GET /test/budget_expense_matcher/ HTTP/1.1\r\nX-a: ", b"POST " + INVOKE.encode()
                 + b" HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"):  # fmt: skip
        with _connect(toy_server) as connection:
            connection.sendall(head)
            started = time.monotonic()
            closed = False
            for _ in range(30):  # bounded: at most ~9 s
                time.sleep(0.3)
                try:
                    connection.sendall(b"a")
                    connection.settimeout(0.01)
                    closed = connection.recv(65536) == b""
                except TimeoutError:
                    continue
                except OSError:
                    closed = True
                if closed:
                    break
            assert closed and time.monotonic() - started < 4


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 2\r\nContent-Length: 3\r\n",
        b"Transfer-Encoding: gzip\r\nContent-Length: 2\r\n",
        b"Transfer-Encoding: gzip, chunked\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",
        b"X-Folded: a\r\n b\r\nContent-Length: 2\r\n",
        b"Content-Length : 2\r\n",
    ],
    ids=["two-lengths", "gzip", "gzip-chunked", "te-and-cl", "obs-fold", "space-before-colon"],
)
def test_http_ambiguous_framing_is_400(toy_server: InvokeApiServer, headers: bytes) -> None:
    request = b"POST " + INVOKE.encode() + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n{}"
    answer = _raw(toy_server, request, 10)
    assert _status(answer) == 400, answer[:120]
    assert b"Connection: close" in answer


def test_http_09_request_gets_an_answer_at_once(toy_server: InvokeApiServer) -> None:
    started = time.monotonic()
    with _connect(toy_server) as connection:
        connection.sendall(b"GET /test/budget_expense_matcher/\r\n")  # no version, no headers
        connection.settimeout(5)
        answer = b""
        for _ in range(100):  # until the server closes (bounded)
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert _status(answer) == 400 and b"HTTP/0.9" in answer
    assert time.monotonic() - started < 5


def test_http_chunked_body_in_tiny_chunks_holds_only_its_bytes() -> None:
    """A 1 MB body in 2-byte chunks: the reader's peak memory stays near the body's size."""
    import io
    import tracemalloc
    from email.message import Message

    payload = b"ab" * 500_000
    wire = b"".join(b"2\r\n" + payload[i : i + 2] + b"\r\n" for i in range(0, len(payload), 2))
    headers = Message()
    headers["Transfer-Encoding"] = "chunked"
    stream = io.BufferedReader(io.BytesIO(wire + b"0\r\n\r\n"))
    tracemalloc.start()
    try:
        body, size = read_body(stream, headers, 6_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert body == payload and size == len(payload)
    assert peak < 4 * len(payload), peak


def test_http_event_queue_is_bounded_with_429(
    toy_server: InvokeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invoke_api, "MAX_QUEUED_EVENTS", 3)
    request = _invoke_request(b'{"sleep": 0.5}', "X-Amz-Invocation-Type: Event")
    statuses = [_status(_raw(toy_server, request, 10)) for _ in range(8)]
    assert statuses[:3] == [202, 202, 202]
    assert 429 in statuses
    refused = _raw(toy_server, request, 10)
    if _status(refused) == 429:
        assert b"TooManyRequestsException" in refused
    deadline = time.monotonic() + 20  # the queue drains, and Events are taken again
    while time.monotonic() < deadline:
        if _status(_raw(toy_server, request, 10)) == 202:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the Event queue never drained")
