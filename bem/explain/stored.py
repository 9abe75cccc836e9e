"""Contributions for stored results (`bem monitor errors --explain`): each mistake's request is
rebuilt from the inputs the results store kept of every pair of that request, its features
recomputed by the runtime's code and explained with the model's trees.

Features that compare a pair with its neighbours (ranks within a budget or an item) need the
whole request, hence the rebuild per request rather than per pair; they break ties by the
order of the request's budgets and line items, which the rows' `pair_index` (their position
in the answer) gives back. Rows stored without it (stores, log lines or S3 objects of older
versions) are rebuilt in the store's order, and their `explain_note` says the ranks of tied
pairs may differ. Texts longer than the store keeps (256 characters) are explained as stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bem.explain.contributions import explain, load_arrays
from bem.monitor.store import results
from budget_matcher import contract
from budget_matcher.features import compute_features
from budget_matcher.result_rows import _BUDGET_INPUTS, _ITEM_INPUTS
from flattened_data_points import FlattenedDataPoints

TOP = 3
UNORDERED_NOTE = "rebuilt without the stored pair order: ranks of tied pairs may differ"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def request_payload(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The batch payload of one stored request: its users' budgets and items."""
    users: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        user = users.setdefault(str(row.get("user_id") or ""), {"budgets": {}, "items": {}})
        budget = {field: _text(row.get(column)) for column, field in _BUDGET_INPUTS.items()}
        item = {field: _text(row.get(column)) for column, field in _ITEM_INPUTS.items()}
        user["budgets"].setdefault(
            row["budget_id"], {contract.BUDGET_ID: row["budget_id"], **budget}
        )
        user["items"].setdefault(
            row["itemization_id"], {contract.ITEM_ID: row["itemization_id"], **item}
        )
    return {
        contract.USERS_KEY: [
            {
                contract.USER_ID_KEY: user_id or None,
                contract.BUDGETS_KEY: list(records["budgets"].values()),
                contract.LINE_ITEMS_KEY: list(records["items"].values()),
            }
            for user_id, records in users.items()
        ]
    }


def in_answer_order(rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """The rows of one request in the order its answer listed them, and whether that order is
    known (every row has a `pair_index`); otherwise the rows as given."""
    if not rows or any(row.get("pair_index") is None for row in rows):
        return list(rows), False
    return sorted(rows, key=lambda row: int(row["pair_index"])), True


def explain_stored(
    connection: Connection, mistakes: list[dict[str, Any]], model_dir: Path, top: int = TOP
) -> list[dict[str, Any]]:
    """`mistakes` (rows of the results store) with `raw_score`, `contributions` and
    `explain_note` added (the note is empty when the request was rebuilt in answer order)."""
    meta, arrays = load_arrays(model_dir)
    out = [
        {**row, "raw_score": None, "contributions": None, "explain_note": ""} for row in mistakes
    ]
    for request_id in sorted({str(row["request_id"]) for row in mistakes}):
        stored, ordered = in_answer_order(
            [
                dict(r)
                for r in connection.execute(
                    sa.select(results).where(results.c.request_id == request_id)
                ).mappings()
            ]
        )
        pairs = FlattenedDataPoints(request_payload(stored)).all().pairs
        explanation = explain(meta, arrays, compute_features(pairs))
        where = {
            (str(u or ""), b, i): k
            for k, (u, b, i) in enumerate(
                zip(pairs.user_ids, pairs.budget_ids, pairs.itemization_ids, strict=True)
            )
        }
        for row in out:
            key = (str(row.get("user_id") or ""), row["budget_id"], row["itemization_id"])
            if str(row["request_id"]) != request_id or key not in where:
                continue
            explained = explanation.row(where[key], top)
            row["raw_score"] = round(explained["raw"], 6)
            row["contributions"] = "; ".join(
                f"{f['feature']} {f['contribution']:+.3f}" for f in explained["features"]
            )
            row["explain_note"] = "" if ordered else UNORDERED_NOTE
    return out
