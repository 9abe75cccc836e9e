"""One invocation of the emulated function: the event going in, the outcome coming out."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field


def new_request_id() -> str:
    """A request id shaped like Lambda's (a UUID)."""
    return str(uuid.uuid4())


def new_trace_id() -> str:
    """An X-Ray trace header value: Root=1-<epoch hex>-<24 hex>;Parent=<16 hex>;Sampled=0."""
    return (
        f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};"
        f"Parent={os.urandom(8).hex()};Sampled=0"
    )


def platform_error_body(error_type: str, message: str) -> bytes:
    """A Lambda platform error as the invoker reads it in the payload."""
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


@dataclass(frozen=True)
class InvocationOutcome:
    """What the invoker gets back, and what Lambda would have logged about it."""

    payload: bytes
    error_type: str | None = None  # e.g. "Runtime.ExitError"; None = success
    function_error: str | None = None  # X-Amz-Function-Error: "Unhandled" or None
    status: str = "success"  # REPORT line: success | error | timeout
    platform_error: bool = True  # an error of the platform (kill, size), not a raise
    log: str = ""  # START .. function output .. END, REPORT (Lambda's text format)
    report: str = ""  # the REPORT line alone
    duration_ms: float = 0.0
    billed_ms: int = 0
    init_ms: float | None = None
    max_memory_mb: int = 0
    executed_version: str = "$LATEST"


@dataclass
class Invocation:
    """One event waiting for, or being handled by, a runtime."""

    payload: bytes
    function_arn: str
    request_id: str = field(default_factory=new_request_id)
    trace_id: str = field(default_factory=new_trace_id)
    client_context: str | None = None  # raw JSON, as the runtime expects it
    cognito_identity: str | None = None
    deadline_ms: int = 0  # epoch milliseconds, set when handed to a runtime
    done: threading.Event = field(default_factory=threading.Event)
    outcome: InvocationOutcome | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def finish(self, outcome: InvocationOutcome) -> bool:
        """Record the outcome once; later outcomes (a late post, a kill) are ignored."""
        with self._lock:
            if self.done.is_set():
                return False
            self.outcome = outcome
            self.done.set()
        return True
