"""The one structured log line per request (aws-lambda-powertools Logger, JSON to stdout)."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any, cast

from aws_lambda_powertools import Logger

from budget_matcher import SERVICE_NAME, config
from budget_matcher.encoding import orjson

logger = Logger(service=SERVICE_NAME)


# A value of at most this many JSON values is encoded whole by orjson (microseconds); a larger
# one by the standard library's incremental encoder, which stops at the limit.
FEW_VALUES = 512


def bounded_json(value: Any, limit: int) -> str:
    """`value` as compact JSON, cut after `limit` characters (encoding stops there too)."""
    if orjson is not None and _at_most(value, FEW_VALUES):
        try:
            return _cut(orjson.dumps(value, default=repr).decode("utf-8"), limit)
        except (TypeError, orjson.JSONEncodeError):
            pass  # e.g. a lone surrogate: the standard library escapes it
    pieces: list[str] = []
    size = 0
    # Without the circular check the encoder keeps no map of the containers it is inside (JSON
    # that was parsed has no cycles; a built one ends in RecursionError), and closing the
    # stopped encoder frees its frames: nothing of `value` stays held by the encoder's closures
    # until the next garbage collection.
    encoder = json.JSONEncoder(separators=(",", ":"), default=repr, check_circular=False)
    chunks = cast(Generator[str, None, None], encoder.iterencode(value))  # a generator
    try:
        for chunk in chunks:
            pieces.append(chunk)
            size += len(chunk)
            if size > limit:
                break
    except (ValueError, RecursionError, TypeError) as error:
        return f"<unserialisable: {type(error).__name__}>"
    finally:
        chunks.close()
    return _cut("".join(pieces), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _at_most(value: Any, count: int) -> bool:
    """True when `value` holds at most `count` JSON values (containers and leaves); a large
    container answers at once, before its elements are looked at."""
    pending, seen = [value], 1
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, (list, tuple)):
            children = current
        else:
            continue
        seen += len(children)
        if seen > count:
            return False
        pending.extend([child for child in children if isinstance(child, _CONTAINERS)])
    return True


_CONTAINERS = (dict, list, tuple)  # only these are walked: a leaf is counted, never pushed


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
