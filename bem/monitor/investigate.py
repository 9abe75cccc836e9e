"""False positives and false negatives with everything needed to look into them.

FP = matched ∧ label is_match false; FN = ¬matched ∧ label is_match true. Each row is the
stored result (decision, score, threshold, model version, inputs of both sides) with its label.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bem.monitor.store import labels, results

KINDS = ("fp", "fn")


def misclassified_query(
    kind: str,
    start: datetime | None = None,
    end: datetime | None = None,
    model_version: str | None = None,
    limit: int = 100,
) -> sa.Select[Any]:
    """FPs (kind "fp") or FNs ("fn") scored in [start, end), most confident mistakes first."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    wrong = (
        sa.and_(results.c.matched.is_(True), labels.c.is_match.is_(False))
        if kind == "fp"
        else sa.and_(results.c.matched.is_(False), labels.c.is_match.is_(True))
    )
    query = (
        sa.select(
            results,
            labels.c.is_match,
            labels.c.labeled_at,
            labels.c.resolved_at,
        )
        .select_from(
            results.join(
                labels,
                sa.and_(
                    labels.c.budget_id == results.c.budget_id,
                    labels.c.itemization_id == results.c.itemization_id,
                ),
            )
        )
        .where(wrong)
    )
    if start is not None:
        query = query.where(results.c.scored_at >= start)
    if end is not None:
        query = query.where(results.c.scored_at < end)
    if model_version is not None:
        query = query.where(results.c.model_version == model_version)
    confidence = results.c.score.desc() if kind == "fp" else results.c.score.asc()
    return query.order_by(confidence, results.c.scored_at).limit(limit)


def misclassified(connection: Connection, kind: str, **filters: Any) -> list[dict[str, Any]]:
    """The rows of `misclassified_query` as dicts (timestamps as ISO strings)."""
    rows = connection.execute(misclassified_query(kind, **filters)).mappings()
    return [
        {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in row.items()
        }
        for row in rows
    ]
