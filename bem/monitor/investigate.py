"""False positives and false negatives with everything needed to look into them.

FP = matched ∧ label is_match false; FN = ¬matched ∧ label is_match true. Each row is the
stored result (decision, score, threshold, model version, inputs of both sides) with its label.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bem.monitor.store import label_of, labels, results

KINDS = ("fp", "fn")


def misclassified_query(
    kind: str,
    start: datetime | None = None,
    end: datetime | None = None,
    model_version: str | None = None,
    limit: int = 100,
) -> sa.Select[Any]:
    """FPs (kind "fp") or FNs ("fn") scored in [start, end), most confident mistakes first.

    A pair scored several times by one model version (retries, re-scored history) is one row:
    its latest scoring in the period, with `times_scored`.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    scored = sa.select(results)
    if start is not None:
        scored = scored.where(results.c.scored_at >= start)
    if end is not None:
        scored = scored.where(results.c.scored_at < end)
    if model_version is not None:
        scored = scored.where(results.c.model_version == model_version)
    same_pair = (
        results.c.user_key,
        results.c.budget_id,
        results.c.itemization_id,
        results.c.model_version,
    )
    latest = (
        scored.add_columns(
            sa.func.row_number()
            .over(
                partition_by=same_pair,
                order_by=(results.c.scored_at.desc(), results.c.request_id.desc()),
            )
            .label("recency"),
            sa.func.count().over(partition_by=same_pair).label("times_scored"),
        )
    ).subquery("latest")
    wrong = (
        sa.and_(latest.c.matched.is_(True), labels.c.is_match.is_(False))
        if kind == "fp"
        else sa.and_(latest.c.matched.is_(False), labels.c.is_match.is_(True))
    )
    result_columns = [latest.c[column.name] for column in results.columns]
    query = (
        sa.select(
            *result_columns,
            latest.c.times_scored,
            labels.c.is_match,
            labels.c.labeled_at,
            labels.c.resolved_at,
        )
        .select_from(
            latest.join(
                labels,
                label_of(latest),
            )
        )
        .where(wrong, latest.c.recency == 1)
    )
    confidence = latest.c.score.desc() if kind == "fp" else latest.c.score.asc()
    return query.order_by(confidence, latest.c.scored_at).limit(limit)


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
