"""`bem serve`'s HTTP server: the Lambda Invoke API and the API Gateway route, on one port.

- `POST /2015-03-31/functions/{name}/invocations` as boto3 calls it with `endpoint_url`:
  X-Amz-Invocation-Type RequestResponse | Event (202) | DryRun (204), Qualifier ($LATEST or
  an alias), X-Amz-Log-Type Tail (X-Amz-Log-Result: base64 of the log's last 4 KB),
  X-Amz-Client-Context (base64 JSON, handed to the runtime as raw JSON), X-Amz-Function-Error,
  X-Amz-Executed-Version. Errors as AWS sends them: `x-amzn-ErrorType` header and
  `{"Type": "User", "message": ...}` (413 RequestEntityTooLargeException over 6 MB, 404
  ResourceNotFoundException for an unknown function or qualifier, 400
  InvalidRequestContentException for a body that is not JSON, 429 TooManyRequestsException
  beyond the optional in-flight limit).
- `GET|POST /{stage}/budget_expense_matcher/`: a REST v1 proxy event, the proxy response back.

Every socket gets TCP_NODELAY; one access-log line per request.

Hardening, as API Gateway and Lambda behave: a body whose framing cannot be read (a
Content-Length of `abc` or `-5`, a bad chunk size) gets 400 and the connection closes; no body
is held beyond its limit (6 MB, 1 MB for `Event` invocations), chunked or not; request line
and headers over 10,240 bytes get 431; methods other than GET and POST get API Gateway's 403
`Missing Authentication Token`; a connection idle for IDLE_TIMEOUT_S is closed, and beyond
MAX_CONNECTIONS open connections the one longest sending its request is closed for a new one
(`bem.local.http_guard`: a whole-request deadline, strict framing, HTTP/0.9 answered); at most
MAX_QUEUED_EVENTS (MAX_QUEUED_EVENT_BYTES) Event invocations wait, beyond that 429.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from bem.local.apigw import MISSING_TOKEN, HttpAnswer, match_route, proxy_answer, proxy_event
from bem.local.http_guard import ConnectionSlots, DeadlineReader, FramingError, check_framing
from bem.local.invocation import Invocation
from bem.local.pool import FunctionPool
from bem.local.runtime_api import DRAIN_LIMIT_BYTES, BadRequestBody, quiet_disconnect, read_body

MAX_SYNC_REQUEST_BYTES = 6_291_456
MAX_ASYNC_REQUEST_BYTES = 1_048_576
MAX_HEADER_BYTES = 10_240  # API Gateway: request line + headers
IDLE_TIMEOUT_S = 20.0
MAX_CONNECTIONS = 256
# Event invocations waiting for a sandbox: beyond either bound, 429 TooManyRequestsException.
MAX_QUEUED_EVENTS = 100
MAX_QUEUED_EVENT_BYTES = 32 * 1024 * 1024
_JSON = [("Content-Type", "application/json")]
LOG_TAIL_BYTES = 4096
INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")


def aws_error(status: int, error_type: str, message: str, **extra: str) -> HttpAnswer:
    """An AWS JSON error answer, as botocore parses it."""
    body = json.dumps({"Type": "User", "message": message, **extra}).encode()
    headers = [("x-amzn-ErrorType", error_type), ("Content-Type", "application/json")]
    return HttpAnswer(status, body, headers)


def split_function_name(raw: str) -> tuple[str, str | None]:
    """(name, qualifier) from a name, `name:qualifier`, partial ARN or full ARN."""
    parts = unquote(raw).split(":")
    if parts[0] == "arn" and len(parts) >= 7:
        return parts[6], parts[7] if len(parts) > 7 else None
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2], parts[3] if len(parts) > 3 else None
    return parts[0], parts[1] if len(parts) > 1 else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: InvokeApiServer
    timeout = IDLE_TIMEOUT_S  # socket timeout: an idle or stalled connection is closed

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = DeadlineReader(self.connection, self.timeout)
        self.rfile.close()  # the plain socket file, replaced by the deadline-bound one
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        """One request, read within its whole deadline (bem.local.http_guard)."""
        self._reader.start_request()
        try:
            super().handle_one_request()
        finally:
            self._reader.request_read()
            self.server.slots.reading(self.connection)

    def parse_request(self) -> bool:
        """The request line and headers; 400 at once for HTTP/0.9 and ambiguous framing."""
        words = self.raw_requestline.split()
        if len(words) == 2:  # HTTP/0.9: no headers will follow, so none are waited for
            self.command, self.path = words[0].decode("latin-1"), words[1].decode("latin-1")
            self.requestline = f"{self.command} {self.path}"
            self.request_version, self.close_connection = "HTTP/1.0", True
            self._refuse("HTTP/0.9 requests are not supported")
            return False
        if not super().parse_request():
            return False
        try:
            check_framing(self.headers)
        except FramingError as error:
            self.close_connection = True
            self._refuse(str(error))
            return False
        return True

    def _refuse(self, reason: str) -> None:
        body = json.dumps({"message": f"Bad request: {reason}"}).encode()
        self._answer(HttpAnswer(400, body, _JSON), time.perf_counter())

    def log_message(self, format: str, *args: object) -> None:
        """Replaced by the access log in `_answer`."""

    def __getattr__(self, name: str) -> Any:
        """Every HTTP method reaches `_route` (which answers 403 to unsupported ones)."""
        if name.startswith("do_"):
            return self._route
        raise AttributeError(name)

    def _body(self, limit: int) -> bytes | None:
        """The request body, or None when over `limit` (drained, or the connection closes)."""
        body, size = read_body(self.rfile, self.headers, limit)
        self._reader.request_read()  # read in full: answered without a deadline or eviction
        self.server.slots.answering(self.connection)
        if size > DRAIN_LIMIT_BYTES:
            self.close_connection = True
        return None if size > limit else body

    def _answer(self, answer: HttpAnswer, started: float) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)
        self.server.access(self, answer, (time.perf_counter() - started) * 1000)

    def _route(self) -> None:
        started = time.perf_counter()
        try:
            self._dispatch(started)
        except BadRequestBody as error:
            self.close_connection = True
            body = json.dumps({"message": f"Bad request: {error}"}).encode()
            self._answer(HttpAnswer(400, body, _JSON), started)

    def _dispatch(self, started: float) -> None:
        header_bytes = len(self.requestline) + sum(
            len(name) + len(value) for name, value in self.headers.items()
        )
        if header_bytes > MAX_HEADER_BYTES:
            self.close_connection = True
            body = b'{"message":"Request Header Fields Too Large"}'
            self._answer(HttpAnswer(431, body, _JSON), started)
            return
        path = self.path.split("?", 1)[0]
        match = INVOKE_PATH.match(path)
        if match and self.command == "POST":
            self._answer(self.server.invoke(self, match.group("name")), started)
        elif match_route(path) is not None and self.command in ("GET", "POST"):
            self._answer(self.server.api_route(self), started)
        else:
            self._body(MAX_SYNC_REQUEST_BYTES)
            self._answer(HttpAnswer(403, MISSING_TOKEN, _JSON), started)


class InvokeApiServer(ThreadingHTTPServer):
    """The Invoke API and API route for one function pool, on 127.0.0.1 by default."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        pool: FunctionPool,
        host: str = "127.0.0.1",
        port: int = 3000,
        *,
        aliases: Mapping[str, str] | None = None,
        max_in_flight: int | None = None,
        access_log: Callable[[str], None] | None = None,
    ) -> None:
        self.pool = pool
        self.qualifiers = {"$LATEST": pool.config.version, **dict(aliases or {})}
        self.max_in_flight = max_in_flight
        self.access_log = access_log
        self._in_flight = 0
        self.slots = ConnectionSlots()
        self._events: list[Invocation] = []
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        """http://host:port, the `endpoint_url` for boto3."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def _connections(self) -> int:
        """Connections open now."""
        return len(self.slots)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a thread; at MAX_CONNECTIONS the connection longest sending
        its request is closed for it, and only when all are being answered is it refused."""
        if not self.slots.admit(request, MAX_CONNECTIONS):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release(request)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away mid-answer is not an error worth a traceback."""
        quiet_disconnect(super().handle_error, request, client_address)

    def stop(self) -> None:
        """Stop serving (the pool is the caller's to close)."""
        self.shutdown()
        self.server_close()

    def access(self, handler: BaseHTTPRequestHandler, answer: HttpAnswer, ms: float) -> None:
        """One line per request: client, time, request line, status, bytes, milliseconds."""
        if self.access_log is None:
            return
        stamp = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        line = (
            f'{handler.client_address[0]} - - [{stamp}] "{handler.requestline}" '
            f"{answer.status} {len(answer.body)} {ms:.2f}ms"
        )
        self.access_log(line)

    # -- Invoke API ---------------------------------------------------------------------------

    def invoke(self, handler: _Handler, raw_name: str) -> HttpAnswer:
        """One Invoke API call."""
        headers = handler.headers
        invocation_type = headers.get("X-Amz-Invocation-Type", "RequestResponse")
        limit = MAX_ASYNC_REQUEST_BYTES if invocation_type == "Event" else MAX_SYNC_REQUEST_BYTES
        body = handler._body(limit)
        if body is None:
            return aws_error(
                413,
                "RequestEntityTooLargeException",
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
            )
        name, path_qualifier = split_function_name(raw_name)
        query = parse_qs(handler.path.partition("?")[2])
        qualifier = query["Qualifier"][0] if query.get("Qualifier") else path_qualifier
        pool = self.pool  # one pool per request, even if a reload swaps it meanwhile
        config = pool.config
        if name != config.function_name or (
            qualifier is not None and qualifier not in self.qualifiers
        ):
            asked = f":function:{name}"
            arn = config.arn(qualifier).replace(f":function:{config.function_name}", asked)
            return aws_error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        executed = self.qualifiers[qualifier or "$LATEST"]
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            return aws_error(
                400, "InvalidParameterValueException", f"Bad invocation type {invocation_type}"
            )
        payload = body or b"{}"
        try:
            json.loads(payload)
        except ValueError as error:
            return aws_error(
                400,
                "InvalidRequestContentException",
                f"Could not parse request body into json: {error}",
            )
        client_context = None
        if headers.get("X-Amz-Client-Context"):
            try:
                client_context = base64.b64decode(headers["X-Amz-Client-Context"], validate=True)
                json.loads(client_context)
            except (binascii.Error, ValueError):
                return aws_error(
                    400,
                    "InvalidRequestContentException",
                    "Client context must be a valid Base64-encoded JSON object.",
                )
        request_headers = [("x-amzn-RequestId", str(uuid.uuid4()))]
        if invocation_type == "DryRun":
            return HttpAnswer(204, b"", request_headers)
        context_text = client_context.decode() if client_context is not None else None
        if invocation_type == "Event":
            if not self._queue_event(pool, payload, context_text, qualifier):
                return aws_error(
                    429,
                    "TooManyRequestsException",
                    "Rate Exceeded.",
                    Reason="EventQueueFull",
                )
            return HttpAnswer(202, b"", request_headers)
        if not self._enter():
            return aws_error(
                429,
                "TooManyRequestsException",
                "Rate Exceeded.",
                Reason="ReservedFunctionConcurrentInvocationLimitExceeded",
            )
        try:
            outcome = pool.invoke(payload, client_context=context_text, qualifier=qualifier)
        finally:
            self._leave()
        answer_headers = [
            ("Content-Type", "application/json"),
            ("X-Amz-Executed-Version", executed),
            ("x-amzn-Remapped-Content-Length", "0"),
            ("x-amzn-RequestId", request_headers[0][1]),
        ]
        if outcome.function_error:
            answer_headers.append(("X-Amz-Function-Error", outcome.function_error))
        if headers.get("X-Amz-Log-Type") == "Tail":
            tail = outcome.log.encode()[-LOG_TAIL_BYTES:]
            answer_headers.append(("X-Amz-Log-Result", base64.b64encode(tail).decode()))
        return HttpAnswer(200, outcome.payload, answer_headers)

    def _queue_event(
        self, pool: FunctionPool, payload: bytes, context: str | None, qualifier: str | None
    ) -> bool:
        """Queue an Event invocation unless MAX_QUEUED_EVENTS or MAX_QUEUED_EVENT_BYTES are
        already waiting (their payloads are held in memory until a sandbox takes them)."""
        with self._count_lock:
            self._events = [e for e in self._events if not e.done.is_set()]
            waiting = sum(len(e.payload) for e in self._events)
            if (
                len(self._events) >= MAX_QUEUED_EVENTS
                or waiting + len(payload) > MAX_QUEUED_EVENT_BYTES
            ):
                return False
            self._events.append(pool.submit(payload, client_context=context, qualifier=qualifier))
        return True

    def _enter(self) -> bool:
        with self._count_lock:
            if self.max_in_flight is not None and self._in_flight >= self.max_in_flight:
                return False
            self._in_flight += 1
            return True

    def _leave(self) -> None:
        with self._count_lock:
            self._in_flight -= 1

    # -- API Gateway route --------------------------------------------------------------------

    def api_route(self, handler: _Handler) -> HttpAnswer:
        """One request on `/{stage}/budget_expense_matcher/` through the proxy integration."""
        pool = self.pool
        body = handler._body(MAX_SYNC_REQUEST_BYTES)
        if body is None:
            return HttpAnswer(
                413, b'{"message":"Request Too Long"}', [("Content-Type", "application/json")]
            )
        event = proxy_event(
            handler.command,
            handler.path,
            list(handler.headers.items()),
            body,
            source_ip=handler.client_address[0],
            account_id=pool.config.account_id,
            host=handler.headers.get("Host", "localhost"),
        )
        if not self._enter():
            return HttpAnswer(429, b'{"message":"Too Many Requests"}')
        try:
            outcome = pool.invoke(json.dumps(event).encode())
        finally:
            self._leave()
        answer = proxy_answer(outcome.payload, outcome.function_error)
        request_id = event["requestContext"]["requestId"]
        return HttpAnswer(
            answer.status, answer.body, [*answer.headers, ("x-amzn-RequestId", request_id)]
        )
