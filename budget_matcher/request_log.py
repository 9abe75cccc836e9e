"""The one structured log line per request (aws-lambda-powertools Logger, JSON to stdout)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from budget_matcher import SERVICE_NAME, config

logger = Logger(service=SERVICE_NAME)


def bounded_json(value: Any, limit: int) -> str:
    """`value` as compact JSON, cut after `limit` characters (encoding stops there too)."""
    pieces: list[str] = []
    size = 0
    try:
        for chunk in json.JSONEncoder(separators=(",", ":"), default=repr).iterencode(value):
            pieces.append(chunk)
            size += len(chunk)
            if size > limit:
                break
    except (ValueError, RecursionError, TypeError) as error:
        return f"<unserialisable: {type(error).__name__}>"
    text = "".join(pieces)
    return text if len(text) <= limit else text[:limit] + "…"


def payload_limit() -> int:
    """Characters of input and of output copied into the log line."""
    try:
        return int(config.env_str(config.ENV_LOG_PAYLOAD_CHARS, ""))
    except ValueError:
        return config.DEFAULT_LOG_PAYLOAD_CHARS


def log_request(fields: dict[str, Any], request_payload: Any, response_body: Any) -> None:
    """Emit the request's log line with input and output truncated to the configured bound."""
    limit = payload_limit()
    logger.info(
        "request answered",
        extra={
            **fields,
            "input": bounded_json(request_payload, limit),
            "output": bounded_json(response_body, limit),
        },
    )
