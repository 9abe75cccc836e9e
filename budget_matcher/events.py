"""Lambda event → what the client asked for, whatever the event source.

Sources: direct invoke (the seed payload as the event, as boto3 sends it; also a non-proxy
API Gateway integration, whose event is the raw body), API Gateway REST proxy (v1),
HTTP API (v2) and Function URL events (v2 shape, `lambda-url` domain). Bodies may be base64.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from budget_matcher import contract as c

DIRECT = "direct"
REST_V1 = "apigateway_rest_v1"
HTTP_V2 = "apigateway_http_v2"
FUNCTION_URL = "function_url"


@dataclass
class ClientRequest:
    """A parsed event: where it came from, the method, and the payload or why it is unreadable."""

    source: str
    method: str = "POST"
    payload: Any = None
    problem: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: str | None = None

    @property
    def is_http(self) -> bool:
        """True when the answer must be an HTTP proxy response."""
        return self.source != DIRECT


def parse_event(event: Any) -> ClientRequest:
    """Classify the event and decode its body; never raises."""
    if isinstance(event, dict) and isinstance(event.get("requestContext"), dict):
        if "httpMethod" in event:
            return _http_request(event, REST_V1, str(event.get("httpMethod") or "POST"))
        http = event["requestContext"].get("http")
        if isinstance(http, dict):
            domain = str(event["requestContext"].get("domainName") or "")
            source = FUNCTION_URL if ".lambda-url." in domain else HTTP_V2
            return _http_request(event, source, str(http.get("method") or "POST"))
    if isinstance(event, (str, bytes)):
        return _with_body(ClientRequest(DIRECT), event, is_base64=False)
    return ClientRequest(DIRECT, payload=event)


def _http_request(event: dict[str, Any], source: str, method: str) -> ClientRequest:
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    query = {str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()}
    request = ClientRequest(source, method.upper(), query=query, headers=headers)
    if request.method != "POST":
        return request
    return _with_body(request, event.get("body"), bool(event.get("isBase64Encoded")))


def _with_body(request: ClientRequest, body: Any, is_base64: bool) -> ClientRequest:
    if body is None or (isinstance(body, (str, bytes)) and not body.strip()):
        request.problem = c.error_body("empty_body", "the request has no body")
        return request
    if not isinstance(body, (str, bytes)):
        request.payload = body
        return request
    try:
        raw = base64.b64decode(body, validate=True) if is_base64 else body
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        request.problem = c.error_body("invalid_body", f"the body cannot be decoded: {error}")
        return request
    request.raw_body = text
    try:
        request.payload = json.loads(text)
    except (ValueError, RecursionError) as error:
        request.problem = c.error_body("invalid_json", f"the body is not valid JSON: {error}")
    return request
