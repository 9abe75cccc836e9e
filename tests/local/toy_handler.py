"""A toy Lambda handler for protocol tests: the event says what to do."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

LOADED_AT = time.time()


def handler(event: Any, context: Any) -> Any:
    """Echo, sleep, raise, print, allocate, exit or describe the context, as asked."""
    if not isinstance(event, dict):
        return {"echo": event}
    if "touch" in event:
        with open(event["touch"], "w") as marker:
            marker.write(context.aws_request_id)
    if "httpMethod" in event:
        if "raise" in (event.get("body") or ""):
            raise ValueError("proxy boom")
        if "malformed" in (event.get("body") or ""):
            return ["not", "a", "proxy", "response"]
        return {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-Toy": "yes"},
            "body": json.dumps(
                {
                    "method": event.get("httpMethod"),
                    "body": event.get("body"),
                    "stage": (event.get("requestContext") or {}).get("stage"),
                    "path": event.get("path"),
                }
            ),
        }
    if "print" in event:
        print(event["print"])
        sys.stderr.write(f"err:{event['print']}\n")
    if "sleep" in event:
        time.sleep(float(event["sleep"]))
    if "raise" in event:
        raise ValueError(event["raise"])
    if "exit" in event:
        os._exit(int(event["exit"]))
    if "truncate" in event:  # die mid-response: 81 of 5,000 announced bytes, then exit
        _post_truncated(context.aws_request_id)
    if "alloc_mb" in event:
        block = bytearray(int(event["alloc_mb"]) * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(1.0)
        return {"allocated": len(block)}
    if "big" in event:
        return "x" * int(event["big"])
    if "context" in event:
        return {
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "client_context": getattr(context.client_context, "custom", None),
            "env": {k: v for k, v in os.environ.items() if not k.startswith("AWS_SECRET")},
            "sys_path": sys.path,
            "executable": sys.executable,
            "pid": os.getpid(),
        }
    if "rendezvous" in event:
        return _rendezvous(event["rendezvous"], int(event.get("parties", 2)))
    if "pid" in event:
        return {"pid": os.getpid(), "n": event.get("n")}
    return {"echo": event}


def _rendezvous(directory: str, parties: int) -> dict[str, Any]:
    """Leave a mark in `directory` and wait (at most 1.5 s) until `parties` marks are there.

    Two invocations meet only if they run at once, so `met` shows parallelism without timing.
    """
    with open(os.path.join(directory, str(os.getpid())), "w"):
        pass
    deadline = time.monotonic() + 1.5
    while len(os.listdir(directory)) < parties and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"pid": os.getpid(), "met": len(os.listdir(directory)) >= parties}


def _post_truncated(request_id: str) -> None:
    """Post a response announced as 5,000 bytes, send 81 of them, and exit."""
    import socket

    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    path = f"/2018-06-01/runtime/invocation/{request_id}/response"
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5000\r\n\r\n"
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head.encode() + json.dumps([{"score": 0.5}] * 20).encode()[:81])
        sock.shutdown(socket.SHUT_WR)
        sock.recv(4096)
    os._exit(1)
