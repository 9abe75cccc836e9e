"""The scored pairs of a period as numpy columns: what the estimate, calibration and segment
views work on (one query, results left-joined to their labels).

Rows without a numeric score (error items) are left out. `label` is 1.0 / 0.0 for a labelled
pair and NaN otherwise; `label_age_days` = (labeled_at − scored_at) in days, NaN without label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bem.monitor.store import label_of, labels, results


@dataclass(frozen=True)
class Pairs:
    """Columns of equal length, one entry per scored pair."""

    day: np.ndarray  # datetime64[D]
    model_version: np.ndarray  # str
    score: np.ndarray  # float
    matched: np.ndarray  # bool
    budget_type: np.ndarray  # str ("" when missing)
    vendor: np.ndarray  # str, normalised travel vendor ("" when missing)
    label: np.ndarray  # float: 1, 0 or NaN
    label_age_days: np.ndarray  # float or NaN

    def __len__(self) -> int:
        return int(self.score.size)

    @property
    def labelled(self) -> np.ndarray:
        """Which pairs have a label."""
        return ~np.isnan(self.label)

    def days(self) -> list[date]:
        """The distinct days, oldest first."""
        return [d.item() for d in np.unique(self.day)]


def normalise_vendor(name: str | None) -> str:
    """Case, surrounding space and inner runs of space folded: "  DELTA  air" → "delta air"."""
    return " ".join((name or "").lower().split())


def load_pairs(connection: Connection, start: datetime, end: datetime) -> Pairs:
    """The scored pairs with scored_at in [start, end) (naive UTC), with their labels."""
    joined = results.outerjoin(
        labels,
        label_of(results),
    )
    query = (
        sa.select(
            results.c.scored_at,
            results.c.model_version,
            results.c.score,
            results.c.matched,
            results.c.threshold,
            results.c.budget_type,
            results.c.travel_vendor,
            labels.c.is_match,
            labels.c.labeled_at,
        )
        .select_from(joined)
        .where(
            results.c.score.is_not(None), results.c.scored_at >= start, results.c.scored_at < end
        )
    )
    rows = connection.execute(query).all()
    scored = np.array([r.scored_at for r in rows], dtype="datetime64[us]")
    labeled_at = np.array(
        [r.labeled_at if r.labeled_at is not None else None for r in rows], dtype="datetime64[us]"
    )
    score = np.array([float(r.score) for r in rows], dtype=np.float64)
    matched = np.array(
        [
            bool(r.matched) if r.matched is not None else r.score >= (r.threshold or 0.5)
            for r in rows
        ],
        dtype=bool,
    )
    age = np.where(
        np.isnat(labeled_at),
        np.nan,
        (labeled_at - scored).astype(np.int64).astype(np.float64) / 86_400e6,
    )
    return Pairs(
        day=scored.astype("datetime64[D]"),
        model_version=np.array([str(r.model_version) for r in rows], dtype=object),
        score=score,
        matched=matched,
        budget_type=np.array([(r.budget_type or "").lower() for r in rows], dtype=object),
        vendor=np.array([normalise_vendor(r.travel_vendor) for r in rows], dtype=object),
        label=np.array(
            [np.nan if r.is_match is None else float(bool(r.is_match)) for r in rows],
            dtype=np.float64,
        ),
        label_age_days=age,
    )
