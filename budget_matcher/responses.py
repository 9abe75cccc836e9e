"""Scores → the response: the seed's list (default) or the envelope, wrapped for HTTP events.

The list holds the scored pairs in pair order (user by user, budget-major), then the error
items. The envelope adds the model version, threshold, request id and counts around the same
list. HTTP answers: 200 with the body, 400 with {"error": ...} for an unreadable body, 503 when
the model cannot be served; headers carry the model version and threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from budget_matcher import SERVICE_NAME, SERVICE_VERSION, encoding
from budget_matcher import contract as c
from budget_matcher.pairs import CandidatePairs

JSON_CONTENT_TYPE = "application/json"


def scored_items(
    pairs: CandidatePairs, scores: np.ndarray, matched: np.ndarray
) -> list[dict[str, Any]]:
    """One item per pair: score (rounded to 6 places), ids, matched (decided per user by
    budget_matcher.decisions: each item to at most one budget), user_id when named."""
    columns = (
        np.round(scores, 6).tolist(),
        pairs.budget_ids,
        pairs.itemization_ids,
        matched.tolist(),
    )
    users = pairs.user_ids
    unnamed = users.count(None)
    if unnamed == len(users):
        return [
            {"score": s, "budget_id": b, "itemization_id": i, "matched": m}
            for s, b, i, m in zip(*columns, strict=True)
        ]
    if unnamed == 0:  # a batch of named users: one dict display per pair, no per-pair branch
        key = c.USER_ID_KEY
        return [
            {"score": s, "budget_id": b, "itemization_id": i, "matched": m, key: u}
            for s, b, i, m, u in zip(*columns, users, strict=True)
        ]
    items = []
    for s, b, i, m, user in zip(*columns, users, strict=True):
        item = {"score": s, "budget_id": b, "itemization_id": i, "matched": m}
        if user is not None:
            item[c.USER_ID_KEY] = user
        items.append(item)
    return items


def unscored_items(pairs: CandidatePairs, code: str, message: str) -> list[dict[str, Any]]:
    """Every pair as an error item (e.g. when the model cannot be served)."""
    return [
        c.error_item(code, message, None, budget_id, item_id, user)
        for budget_id, item_id, user in zip(
            pairs.budget_ids, pairs.itemization_ids, pairs.user_ids, strict=True
        )
    ]


def envelope(
    items: list[dict[str, Any]],
    request_id: str,
    model_version: str | None,
    threshold: float | None,
    n_users: int,
    matched: np.ndarray | None,
) -> dict[str, Any]:
    """The opt-in envelope around the result list (`matched`: the scored pairs' decisions;
    None when nothing was scored)."""
    n_errors = sum(1 for item in items if "error" in item)
    n_matched = int(np.count_nonzero(matched)) if matched is not None else 0
    return {
        "results": items,
        "model_version": model_version,
        "threshold": threshold,
        "request_id": request_id,
        "counts": {
            "users": n_users,
            "items": len(items),
            "scored": len(items) - n_errors,
            "errors": n_errors,
            "matched": n_matched,
        },
    }


def service_info(
    model_version: str | None,
    threshold: float | None,
    form: str | None,
    evaluator: str | None = None,
) -> dict:
    """What GET on the route answers: service, model (form and tree evaluator) and a summary
    of the contract."""
    return {
        "service": SERVICE_NAME,
        "service_version": SERVICE_VERSION,
        "model_version": model_version,
        "model_form": form,
        "evaluator": evaluator,
        "threshold": threshold,
        "contract": {
            "request": {
                c.BUDGETS_KEY: list(c.BUDGET_FIELDS),
                c.LINE_ITEMS_KEY: list(c.ITEM_FIELDS),
                "batch": f'{{"{c.USERS_KEY}": [{{"{c.USER_ID_KEY}": ..., '
                f'"{c.BUDGETS_KEY}": [...], "{c.LINE_ITEMS_KEY}": [...]}}]}}',
                "options": {"response_format": list(c.RESPONSE_FORMATS)},
            },
            "response": ["score", "budget_id", "itemization_id", "matched", "error"],
        },
    }


def http_response(
    status: int, body: Any, request_id: str, model_version: str | None, threshold: float | None
) -> dict[str, Any]:
    """An API Gateway / Function URL proxy response."""
    headers = {"Content-Type": JSON_CONTENT_TYPE, "X-Request-Id": request_id}
    if model_version is not None:
        headers["X-Model-Version"] = model_version
    if threshold is not None:
        headers["X-Model-Threshold"] = repr(threshold)
    return {
        "statusCode": status,
        "headers": headers,
        "body": encoding.dumps_text(body),
        "isBase64Encoded": False,
    }
