"""API Gateway (REST API, Lambda proxy integration) in small: HTTP request -> event -> response.

The event is the REST v1 proxy shape (`httpMethod`, `path`, `resource`, `headers`,
`multiValueHeaders`, `queryStringParameters`, `requestContext`, `body`, `isBase64Encoded`).
The function's answer must be a proxy response (`statusCode`, `headers`,
`multiValueHeaders`, `body`, `isBase64Encoded`); anything else, or a function error, becomes
API Gateway's own `502 {"message": "Internal server error"}`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

ROUTE = "budget_expense_matcher"
INTERNAL_ERROR = b'{"message": "Internal server error"}'
MISSING_TOKEN = b'{"message":"Missing Authentication Token"}'


@dataclass(frozen=True)
class HttpAnswer:
    """What the client gets: status, headers (name, value pairs) and body."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


def match_route(path: str) -> str | None:
    """The stage when `path` is `/{stage}/budget_expense_matcher[/]`, else None."""
    clean = path.split("?", 1)[0]
    parts = clean.strip("/").split("/")
    if len(parts) == 2 and parts[1] == ROUTE and parts[0]:
        return parts[0]
    return None


def proxy_event(
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    source_ip: str = "127.0.0.1",
    account_id: str = "123456789012",
    host: str = "localhost",
) -> dict[str, Any]:
    """The REST v1 proxy event API Gateway sends the function for this request."""
    path, _, query = raw_path.partition("?")
    stage = match_route(path) or ""
    resource_path = path[len(stage) + 1 :] or "/"
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    multi_query = {k: v for k, v in parse_qs(query, keep_blank_values=True).items()}
    try:
        text: str | None = body.decode("utf-8") if body else None
        is_base64 = False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    return {
        "resource": f"/{ROUTE}",
        "path": resource_path,
        "httpMethod": method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local0",
            "resourcePath": f"/{ROUTE}",
            "httpMethod": method,
            "extendedRequestId": request_id[:16],
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": path,
            "accountId": account_id,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": host.split(".")[0],
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": request_id,
            "identity": {"sourceIp": source_ip, "userAgent": single.get("User-Agent")},
            "domainName": host,
            "apiId": "local",
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


def proxy_answer(payload: bytes, function_error: str | None) -> HttpAnswer:
    """Map the function's proxy response to HTTP, as API Gateway does (502 when malformed)."""
    if function_error:
        return HttpAnswer(502, INTERNAL_ERROR, [("Content-Type", "application/json")])
    try:
        document = json.loads(payload)
    except ValueError:
        return HttpAnswer(502, INTERNAL_ERROR, [("Content-Type", "application/json")])
    if not isinstance(document, dict) or not isinstance(document.get("statusCode"), int):
        return HttpAnswer(502, INTERNAL_ERROR, [("Content-Type", "application/json")])
    headers: list[tuple[str, str]] = []
    for name, values in (document.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values)
    for name, value in (document.get("headers") or {}).items():
        if not any(existing.lower() == str(name).lower() for existing, _ in headers):
            headers.append((str(name), str(value)))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    body = document.get("body") or ""
    if not isinstance(body, str):
        return HttpAnswer(502, INTERNAL_ERROR, [("Content-Type", "application/json")])
    data = base64.b64decode(body) if document.get("isBase64Encoded") else body.encode()
    return HttpAnswer(int(document["statusCode"]), data, headers)
