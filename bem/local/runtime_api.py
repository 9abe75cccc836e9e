"""The Lambda Runtime API, served to one runtime process (AWS's own `awslambdaric`).

Endpoints (API version 2018-06-01), as the Lambda service offers them inside a sandbox:
`GET /runtime/invocation/next`, `POST /runtime/invocation/{id}/response`,
`POST /runtime/invocation/{id}/error`, `POST /runtime/init/error`. One server serves one
sandbox, so every call is known to come from that sandbox's process; the work itself comes
from a `RuntimeBackend` (the sandbox), which blocks in `next_invocation` until there is some.

Every accepted socket gets TCP_NODELAY: without it a warm invoke costs ~88 ms (Nagle plus
delayed ACK) instead of ~0.3 ms.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from typing import Any, Protocol

from bem.local.invocation import Invocation

API_PREFIX = "/2018-06-01/runtime"
# What Lambda accepts from a function as a synchronous response (6 MB plus framing).
MAX_RESPONSE_BYTES = 6_291_556
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
# A response body shorter than its Content-Length (or with cut chunked framing): the runtime
# died mid-post. It is the invocation's error, never an answer (bem.client retries it).
TRUNCATED_RESPONSE = "Runtime.TruncatedResponse"


class RuntimeBackend(Protocol):
    """The sandbox side of the Runtime API."""

    def next_invocation(self) -> Invocation | None:
        """Block until there is an event for this runtime; None when shutting down."""
        ...

    def post_response(self, request_id: str, body: bytes) -> bool:
        """The function's result; False when `request_id` is not the current invocation."""
        ...

    def post_error(self, request_id: str, error_type: str, body: bytes) -> bool:
        """The function raised; False when `request_id` is not the current invocation."""
        ...

    def invocation_undelivered(self, request_id: str) -> None:
        """The runtime's connection was gone when the event was handed over: it never got it."""
        ...

    def response_too_large(self, request_id: str, size: int) -> bool:
        """The function answered more than MAX_RESPONSE_BYTES."""
        ...

    def post_init_error(self, error_type: str, body: bytes) -> None:
        """The handler could not be loaded; the runtime exits next."""
        ...


class BadRequestBody(ValueError):
    """A request whose framing cannot be read (bad Content-Length or chunk size)."""


# Bodies over the limit are read and thrown away up to this size (the connection stays
# usable); beyond it the server answers and closes the connection instead of reading on.
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024


def _discard(rfile: BufferedIOBase, size: int) -> int:
    """Read and drop up to `size` bytes in 1 MiB pieces; returns how many arrived."""
    remaining = size
    while remaining > 0:
        chunk = rfile.read(min(remaining, 1 << 20))
        if not chunk:
            break
        remaining -= len(chunk)
    return size - remaining


def _chunk_size(line: bytes) -> int:
    text = line.split(b";")[0].strip()
    if not text or len(text) > 16 or text.lstrip(b"0123456789abcdefABCDEF"):
        raise BadRequestBody(f"bad chunk size {line[:40]!r}")
    return int(text, 16)


def read_body(
    rfile: BufferedIOBase, headers: Message, limit: int | None = None
) -> tuple[bytes, int]:
    """An HTTP request body (sized or chunked) and its length so far; past `limit` discarded.

    Never holds more than `limit` bytes: a chunked body is checked chunk by chunk before any
    chunk is kept. Over the limit the rest is drained up to DRAIN_LIMIT_BYTES, and the size
    returned is then larger than `limit` (callers answer 413); beyond that reading stops (the
    caller closes the connection). Raises BadRequestBody for framing that cannot be read.
    """
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        # One growing buffer: a body in 2-byte chunks costs its bytes, not an object per chunk.
        body = bytearray()
        total = 0
        while True:
            size = _chunk_size(rfile.readline(64))
            if size == 0:
                while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                break
            if limit is not None and total + size > limit:
                total += _discard(rfile, min(size, DRAIN_LIMIT_BYTES))
                if total > DRAIN_LIMIT_BYTES or size > DRAIN_LIMIT_BYTES:
                    return b"", max(total, DRAIN_LIMIT_BYTES + 1)  # not drained: close
                body = bytearray()
            else:
                chunk = rfile.read(size)
                if len(chunk) < size:
                    raise BadRequestBody("the body ended inside a chunk")
                body += chunk
                total += size
            rfile.readline(64)
        return (bytes(body) if limit is None or total <= limit else b""), total
    raw = (headers.get("Content-Length") or "0").strip()
    if not raw.isdigit() or len(raw) > 15:
        raise BadRequestBody(f"bad Content-Length {raw[:40]!r}")
    length = int(raw)
    if limit is not None and length > limit:
        if length <= DRAIN_LIMIT_BYTES:
            _discard(rfile, length)
        return b"", length
    return (rfile.read(length) if length else b""), length


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RuntimeApiServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default per-request stderr line."""

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, document: dict[str, str]) -> None:
        self._send(status, json.dumps(document).encode(), {"Content-Type": "application/json"})

    def _read_body(self, limit: int | None = None) -> tuple[bytes, int]:
        return read_body(self.rfile, self.headers, limit)

    def _truncated(self, request_id: str, detail: str) -> None:
        """A response cut short: the invocation fails with TRUNCATED_RESPONSE."""
        self.close_connection = True
        body = truncated_error_body(detail)
        accepted = self.server.backend.post_error(request_id, TRUNCATED_RESPONSE, body)
        error = {"errorType": TRUNCATED_RESPONSE, "errorMessage": detail}
        self._send_json(400 if accepted else 404, error)

    def do_GET(self) -> None:
        if self.path != f"{API_PREFIX}/invocation/next":
            self._send_json(404, {"errorType": "NotFound", "errorMessage": self.path})
            return
        invocation = self.server.backend.next_invocation()
        if invocation is None:
            self._send_json(500, {"errorType": "Runtime.Shutdown", "errorMessage": "shutdown"})
            self.close_connection = True
            return
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
        }
        if invocation.client_context:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        if invocation.cognito_identity:
            headers["Lambda-Runtime-Cognito-Identity"] = invocation.cognito_identity
        try:
            if _peer_closed(self.connection):
                raise ConnectionResetError("the runtime closed its connection")
            self._send(200, invocation.payload, headers)
            self.wfile.flush()
        except OSError:  # the runtime died while idle: the event goes to another sandbox
            self.server.backend.invocation_undelivered(invocation.request_id)
            self.close_connection = True

    def do_POST(self) -> None:
        backend = self.server.backend
        path = self.path
        if path == f"{API_PREFIX}/init/error":
            body, _ = self._read_body()
            backend.post_init_error(self.headers.get(ERROR_TYPE_HEADER, "Runtime.Unknown"), body)
            self._send_json(202, {"status": "OK"})
            return
        parts = path[len(API_PREFIX) :].strip("/").split("/")
        if not path.startswith(API_PREFIX) or len(parts) != 3 or parts[0] != "invocation":
            self._read_body()
            self._send_json(404, {"errorType": "NotFound", "errorMessage": path})
            return
        request_id, kind = parts[1], parts[2]
        if kind == "response":
            try:
                body, size = self._read_body(limit=MAX_RESPONSE_BYTES)
            except BadRequestBody as problem:  # chunked framing cut short: no answer either
                body, size = b"", -1
                truncated = str(problem)
            else:
                truncated = f"{len(body)} of {size} bytes" if len(body) < size else ""
            if truncated and size <= MAX_RESPONSE_BYTES:
                self._truncated(request_id, truncated)
                return
            if size > MAX_RESPONSE_BYTES:
                known = backend.response_too_large(request_id, size)
                message = f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
                status = 413 if known else 400
                error = {"errorType": "RequestEntityTooLarge", "errorMessage": message}
                self._send_json(status, error)
                return
            accepted = backend.post_response(request_id, body)
        elif kind == "error":
            body, _ = self._read_body()
            error_type = self.headers.get(ERROR_TYPE_HEADER, "Runtime.Unknown")
            accepted = backend.post_error(request_id, error_type, body)
        else:
            self._read_body()
            self._send_json(404, {"errorType": "NotFound", "errorMessage": path})
            return
        if accepted:
            self._send_json(202, {"status": "OK"})
        else:
            error = {"errorType": "InvalidRequestID", "errorMessage": "Invalid request ID"}
            self._send_json(400, error)


def _peer_closed(connection: socket.socket) -> bool:
    """True when the peer has closed (or reset) the connection: nothing waits for an answer."""
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def truncated_error_body(detail: str) -> bytes:
    """The error of an invocation whose response stopped short of its announced length."""
    message = f"the runtime's response was cut short ({detail}): not an answer"
    return json.dumps({"errorType": TRUNCATED_RESPONSE, "errorMessage": message}).encode()


def quiet_disconnect(report: Callable[[Any, Any], None], request: Any, client_address: Any) -> None:
    """Call `report` (socketserver's traceback printer) unless the peer just went away."""
    error = sys.exc_info()[1]
    if isinstance(error, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
        return
    report(request, client_address)


class RuntimeApiServer(ThreadingHTTPServer):
    """The Runtime API for one sandbox, on 127.0.0.1 and a free port."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, backend: RuntimeBackend, host: str = "127.0.0.1", port: int = 0) -> None:
        self.backend = backend
        super().__init__((host, port), _RuntimeApiHandler)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """`host:port`, the value of AWS_LAMBDA_RUNTIME_API."""
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A runtime killed mid-call is expected; anything else gets socketserver's report."""
        quiet_disconnect(super().handle_error, request, client_address)

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self.shutdown()
        self.server_close()
