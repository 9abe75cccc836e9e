"""Lambda event → what the client asked for, whatever the event source.

Sources: direct invoke (the seed payload as the event, as boto3 sends it; also a non-proxy
API Gateway integration, whose event is the raw body), API Gateway REST proxy (v1),
HTTP API (v2) and Function URL events (v2 shape, `lambda-url` domain). Bodies may be base64.
The response format is decided here, once: the payload's `options.response_format`, else its
`format`, else the `format` query parameter, else BEM_RESPONSE_FORMAT, else "list". Fields of
the wrong JSON type (headers or query that are not objects, `isBase64Encoded` as a string) are
read leniently and never raise.

One meaning on every path: an empty body, `null` or `{}` is `empty_body`; a body that is not
JSON is `invalid_json`; a JSON string is read once more as the payload's text (a payload
encoded twice is scored), and is otherwise the payload itself (`invalid_payload` when scored).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from budget_matcher import config
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
    response_format: str = c.RESPONSE_FORMATS[0]

    @property
    def is_http(self) -> bool:
        """True when the answer must be an HTTP proxy response."""
        return self.source != DIRECT


def parse_event(event: Any) -> ClientRequest:
    """Classify the event, decode its body and decide the response format; never raises."""
    request = _classified(event)
    request.response_format = _response_format(request)
    return request


def source_of(event: Any) -> str:
    """The event's source by its shape alone (for answering when parsing itself failed)."""
    if isinstance(event, dict) and isinstance(event.get("requestContext"), dict):
        return REST_V1 if "httpMethod" in event else HTTP_V2
    return DIRECT


def _classified(event: Any) -> ClientRequest:
    if isinstance(event, dict) and isinstance(event.get("requestContext"), dict):
        if "httpMethod" in event:
            return _http_request(event, REST_V1, str(event.get("httpMethod") or "POST"))
        http = event["requestContext"].get("http")
        if isinstance(http, dict):
            domain = str(event["requestContext"].get("domainName") or "")
            source = FUNCTION_URL if ".lambda-url." in domain else HTTP_V2
            return _http_request(event, source, str(http.get("method") or "POST"))
    return _with_payload(ClientRequest(DIRECT), event)


def _response_format(request: ClientRequest) -> str:
    payload = request.payload
    options = payload.get(c.OPTIONS_KEY) if isinstance(payload, dict) else None
    for wanted in (
        options.get("response_format") if isinstance(options, dict) else None,
        payload.get(c.FORMAT_KEY) if isinstance(payload, dict) else None,
        request.query.get("format"),
        config.env_str(config.ENV_RESPONSE_FORMAT, config.DEFAULT_RESPONSE_FORMAT),
    ):
        if wanted in c.RESPONSE_FORMATS:
            return str(wanted)
    return c.RESPONSE_FORMATS[0]


def _string_map(value: Any, lower_keys: bool = False) -> dict[str, str]:
    """A JSON object of strings as a dict; anything else (a list, a string, null) as {}."""
    if not isinstance(value, dict):
        return {}
    return {(str(k).lower() if lower_keys else str(k)): str(v) for k, v in value.items()}


def _is_true(value: Any) -> bool:
    """JSON true, or the string "true" in any case (some proxies send strings)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _http_request(event: dict[str, Any], source: str, method: str) -> ClientRequest:
    headers = _string_map(event.get("headers"), lower_keys=True)
    query = _string_map(event.get("queryStringParameters"))
    request = ClientRequest(source, method.upper(), query=query, headers=headers)
    if request.method != "POST":
        return request
    return _with_body(request, event.get("body"), _is_true(event.get("isBase64Encoded")))


def _with_body(request: ClientRequest, body: Any, is_base64: bool) -> ClientRequest:
    if not isinstance(body, (str, bytes)):
        return _with_payload(request, body)
    try:
        raw = base64.b64decode(body, validate=True) if is_base64 else body
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        request.problem = c.error_body("invalid_body", f"the body cannot be decoded: {error}")
        return request
    if not text.strip():
        return _with_payload(request, None)
    request.raw_body = text
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as error:
        request.problem = c.error_body("invalid_json", f"the body is not valid JSON: {error}")
        return request
    return _with_payload(request, payload)


def _with_payload(request: ClientRequest, payload: Any) -> ClientRequest:
    """The decoded payload: empty ones refused, a JSON string holding a payload unwrapped."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "replace")
    if isinstance(payload, str):
        try:
            inner = json.loads(payload)
        except (ValueError, RecursionError):
            inner = None
        if isinstance(inner, (dict, list)):
            payload = inner
    if payload is None or payload == {} or (isinstance(payload, str) and not payload.strip()):
        request.problem = c.error_body("empty_body", "the request has no payload")
        return request
    request.payload = payload
    return request
