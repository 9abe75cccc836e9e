"""Scores → the response: the seed's list (default), the envelope or the columns form, wrapped
for HTTP events.

The list holds the scored pairs in pair order (user by user, budget-major), then the error
items. The envelope adds the model version, threshold, request id and counts around the same
list. The columns form (`columns_answer`) writes each user's ids once and its pairs as columns
of indices, scores and decisions, then the same error items. HTTP answers: 200 with the body,
400 with {"error": ...} for an unreadable body, 503 when the model cannot be served; headers
carry the model version and threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from budget_matcher import SERVICE_NAME, SERVICE_VERSION, encoding
from budget_matcher import contract as c
from budget_matcher.pairs import CandidatePairs, take

JSON_CONTENT_TYPE = "application/json"


def scored_items(
    pairs: CandidatePairs, scores: np.ndarray, matched: np.ndarray
) -> list[dict[str, Any]]:
    """One item per pair: score (rounded to 6 places), ids, matched (decided per user by
    budget_matcher.decisions: each item to at most one budget), user_id when named."""
    columns = (
        scores.round(6).tolist(),
        pairs.budget_ids,
        pairs.itemization_ids,
        matched.tolist(),
    )
    # Looked up per budget row, not per pair (80k comparisons with None): the last loop gives
    # the same items whatever the rows, the first two give them faster.
    rows = pairs.budgets.users
    if rows.count(None) == len(rows):
        return [
            {"score": s, "budget_id": b, "itemization_id": i, "matched": m}
            for s, b, i, m in zip(*columns, strict=True)
        ]
    users = pairs.user_ids
    if None not in rows:  # a batch of named users: one dict display per pair, no per-pair branch
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


def columns_answer(
    pairs: CandidatePairs, scores: np.ndarray, matched: np.ndarray, errors: list[dict[str, Any]]
) -> dict[str, Any]:
    """The columns form: per user (in pair order) `budget_ids` and `itemization_ids` once, then
    per pair `budget_index`, `item_index` (into those lists), `score` and `matched` (1 or 0);
    the error items as in the list."""
    users: list[dict[str, Any]] = []
    if len(pairs):
        b, i = pairs.budget_index, pairs.item_index
        group = np.asarray(pairs.budgets.groups, dtype=np.int64)
        starts = np.flatnonzero(np.diff(group[b], prepend=-1))  # pairs are user by user
        local_b, budget_rows, budget_starts = _local_index(b, len(pairs.budgets), starts)
        local_i, item_rows, item_starts = _local_index(i, len(pairs.items), starts)
        budget_ids = take(pairs.budgets.ids, budget_rows)
        item_ids = take(pairs.items.ids, item_rows)
        columns = (local_b.tolist(), local_i.tolist(), scores.round(6).tolist())
        decisions = matched.astype(np.uint8).tolist()
        bounds = [*starts.tolist(), len(pairs)]
        b_bounds = [*budget_starts.tolist(), len(budget_ids)]
        i_bounds = [*item_starts.tolist(), len(item_ids)]
        for k in range(len(starts)):
            lo, hi = bounds[k], bounds[k + 1]
            entry: dict[str, Any] = {}
            user = pairs.budgets.users[int(b[lo])]
            if user is not None:
                entry[c.USER_ID_KEY] = user
            entry.update(
                zip(
                    c.COLUMN_NAMES,
                    (
                        budget_ids[b_bounds[k] : b_bounds[k + 1]],
                        item_ids[i_bounds[k] : i_bounds[k + 1]],
                        columns[0][lo:hi],
                        columns[1][lo:hi],
                        columns[2][lo:hi],
                        decisions[lo:hi],
                    ),
                    strict=True,
                )
            )
            users.append(entry)
    return {c.FORMAT_KEY: c.COLUMNS_FORMAT, c.USERS_KEY: users, "errors": errors}


def _local_index(
    rows: np.ndarray, n_rows: int, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pair's row as an index among its user's answered rows; the answered rows in order;
    where each user's rows begin among them (rows of a user are contiguous and ascending)."""
    present = np.zeros(n_rows, dtype=bool)
    present[rows] = True
    rank = np.cumsum(present) - 1
    answered = np.flatnonzero(present)
    first = rank[rows[starts]]  # the rank of each user's first answered row
    local = rank[rows] - np.repeat(first, np.diff(np.append(starts, rows.size)))
    return local, answered, first


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
                c.ANSWER_BUDGETS_KEY: "[budget_id, ...] (null: items naming no budget)",
            },
            "response": ["score", "budget_id", "itemization_id", "matched", "error", "record"],
            "columns": [c.USER_ID_KEY, *c.COLUMN_NAMES],
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
