"""Daily precision, recall, F1, volume, match rate and time to completion, computed in SQL.

One SQLAlchemy Core query that runs on SQLite and PostgreSQL (window functions, no
`percentile_cont`). For each day (UTC date of `scored_at`) and model version, over the scored
pairs of that day (rows with a numeric score) joined to their label, when one has arrived. A
pair scored several times counts once, at its latest scoring in the period (per model version
when figures are by version), so a label is never counted twice; a pair is (user, budget,
item), the key of a label:

- volume = scored pairs; matched = pairs with matched = true; match_rate = matched / volume
- labeled = pairs with a label; TP = matched ∧ is_match, FP = matched ∧ ¬is_match,
  FN = ¬matched ∧ is_match (unlabelled pairs count in none of them)
- precision = TP / (TP + FP); recall = TP / (TP + FN); F1 = 2·TP / (2·TP + FP + FN);
  each NULL when its denominator is 0
- median_hours_to_completion = the median, over the day's true matches (is_match) whose label
  has resolved_at, of (resolved_at − scored_at) in hours: how long the matching operation took
  to be completed after the model scored the pair. With an even count, the mean of the middle two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from bem.monitor.store import label_of, labels, results

ALL_VERSIONS = "all"


class day_of(FunctionElement[Any]):
    """The UTC calendar day of a naive-UTC timestamp."""

    inherit_cache = True
    type = sa.String()


@compiles(day_of, "sqlite")
def _day_of_sqlite(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(day_of)
def _day_of_default(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"CAST(CAST({compiler.process(element.clauses, **kw)} AS DATE) AS VARCHAR(10))"


class seconds_between(FunctionElement[Any]):
    """seconds_between(a, b) = b − a in seconds."""

    inherit_cache = True
    type = sa.Float()


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    a, b = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({b}) - julianday({a})) * 86400.0)"


@compiles(seconds_between)
def _seconds_default(element: seconds_between, compiler: Any, **kw: Any) -> str:
    a, b = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({b} - {a}))"


class score_bucket(FunctionElement[Any]):
    """score_bucket(score, bins) = ⌊score · bins⌋ as an integer (scores are ≥ 0)."""

    inherit_cache = True
    type = sa.Integer()


@compiles(score_bucket, "sqlite")
def _bucket_sqlite(element: score_bucket, compiler: Any, **kw: Any) -> str:
    score, bins = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(({score}) * {bins} AS INTEGER)"


@compiles(score_bucket)
def _bucket_default(element: score_bucket, compiler: Any, **kw: Any) -> str:
    score, bins = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(FLOOR(({score}) * {bins}) AS INTEGER)"


@dataclass(frozen=True)
class DailyMetrics:
    """The figures of one day and model version (see the module docstring)."""

    day: date
    model_version: str
    volume: int
    matched: int
    labeled: int
    tp: int
    fp: int
    fn: int
    match_rate: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    median_hours_to_completion: float | None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return data


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _ratio(numerator: Any, denominator: Any) -> ColumnElement[Any]:
    return sa.cast(numerator, sa.Float) / sa.func.nullif(sa.cast(denominator, sa.Float), 0.0)


def latest_scorings(
    start: datetime | None = None, end: datetime | None = None, by_version: bool = True
) -> sa.Subquery:
    """The scored rows of the period, one per pair (per version when `by_version`): its latest."""
    window: list[ColumnElement[bool]] = [results.c.score.is_not(None)]
    if start is not None:
        window.append(results.c.scored_at >= start)
    if end is not None:
        window.append(results.c.scored_at < end)
    partition = [results.c.user_key, results.c.budget_id, results.c.itemization_id]
    if by_version:
        partition.append(results.c.model_version)
    order = (results.c.scored_at.desc(), results.c.request_id.desc())
    ranked = (
        sa.select(
            results,
            sa.func.row_number().over(partition_by=partition, order_by=order).label("scoring_rank"),
        )
        .where(*window)
        .subquery("scorings")
    )
    return sa.select(ranked).where(ranked.c.scoring_rank == 1).subquery("latest")


def daily_metrics_query(
    start: datetime | None = None, end: datetime | None = None, by_version: bool = True
) -> sa.Select[Any]:
    """The query behind `daily_metrics` (start inclusive, end exclusive, naive UTC)."""
    scored = latest_scorings(start, end, by_version)
    day = day_of(scored.c.scored_at).label("day")
    version: ColumnElement[Any] = (
        scored.c.model_version if by_version else sa.literal_column(f"'{ALL_VERSIONS}'")
    )
    version = version.label("model_version")
    grouping = [day, version] if by_version else [day]
    joined = scored.outerjoin(
        labels,
        label_of(scored),
    )
    matched, truth = scored.c.matched, labels.c.is_match
    counts = (
        sa.select(
            day,
            version,
            sa.func.count().label("volume"),
            _count(matched.is_(True)).label("matched"),
            _count(truth.is_not(None)).label("labeled"),
            _count(sa.and_(matched.is_(True), truth.is_(True))).label("tp"),
            _count(sa.and_(matched.is_(True), truth.is_(False))).label("fp"),
            _count(sa.and_(matched.is_(False), truth.is_(True))).label("fn"),
        )
        .select_from(joined)
        .group_by(*grouping)
        .subquery("counts")
    )

    hours = (seconds_between(scored.c.scored_at, labels.c.resolved_at) / 3600.0).label("hours")
    durations = (
        sa.select(day, version, hours)
        .select_from(joined)
        .where(truth.is_(True), labels.c.resolved_at.is_not(None))
        .subquery("durations")
    )
    partition = [durations.c.day, durations.c.model_version]
    ranked = sa.select(
        durations.c.day,
        durations.c.model_version,
        durations.c.hours,
        sa.func.row_number().over(partition_by=partition, order_by=durations.c.hours).label("rn"),
        sa.func.count().over(partition_by=partition).label("n"),
    ).subquery("ranked")
    medians = (
        sa.select(
            ranked.c.day,
            ranked.c.model_version,
            sa.func.avg(ranked.c.hours).label("median_hours"),
        )
        .where(ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2]))
        .group_by(ranked.c.day, ranked.c.model_version)
        .subquery("medians")
    )

    tp, fp, fn = counts.c.tp, counts.c.fp, counts.c.fn
    return (
        sa.select(
            counts.c.day,
            counts.c.model_version,
            counts.c.volume,
            counts.c.matched,
            counts.c.labeled,
            tp,
            fp,
            fn,
            _ratio(counts.c.matched, counts.c.volume).label("match_rate"),
            _ratio(tp, tp + fp).label("precision"),
            _ratio(tp, tp + fn).label("recall"),
            _ratio(2 * tp, 2 * tp + fp + fn).label("f1"),
            medians.c.median_hours,
        )
        .select_from(
            counts.outerjoin(
                medians,
                sa.and_(
                    medians.c.day == counts.c.day,
                    medians.c.model_version == counts.c.model_version,
                ),
            )
        )
        .order_by(counts.c.day, counts.c.model_version)
    )


def daily_metrics(
    connection: Connection,
    start: datetime | None = None,
    end: datetime | None = None,
    by_version: bool = True,
) -> list[DailyMetrics]:
    """Per-day (and per-model-version unless `by_version=False`) metrics, oldest day first."""
    rows = connection.execute(daily_metrics_query(start, end, by_version)).all()
    return [
        DailyMetrics(
            day=date.fromisoformat(str(row.day)[:10]),
            model_version=str(row.model_version),
            volume=int(row.volume),
            matched=int(row.matched),
            labeled=int(row.labeled),
            tp=int(row.tp),
            fp=int(row.fp),
            fn=int(row.fn),
            match_rate=_float(row.match_rate),
            precision=_float(row.precision),
            recall=_float(row.recall),
            f1=_float(row.f1),
            median_hours_to_completion=_float(row.median_hours),
        )
        for row in rows
    ]


def score_histogram(
    connection: Connection,
    bins: int = 20,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, list[int]]:
    """model version -> count of scores in each of `bins` equal bins of [0, 1]."""
    bucket = score_bucket(results.c.score, sa.literal_column(str(int(bins)))).label("bucket")
    query = sa.select(results.c.model_version, bucket, sa.func.count().label("n")).where(
        results.c.score.is_not(None)
    )
    if start is not None:
        query = query.where(results.c.scored_at >= start)
    if end is not None:
        query = query.where(results.c.scored_at < end)
    query = query.group_by(results.c.model_version, bucket)
    histogram: dict[str, list[int]] = {}
    for version, index, count in connection.execute(query):
        counts = histogram.setdefault(str(version), [0] * bins)
        counts[min(max(int(index), 0), bins - 1)] += int(count)
    return histogram


def text_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[str]:
    """Rows of JSON-ready figures (`DailyMetrics.as_json`) as fixed-width lines, the header
    first: columns 10 wide, floats to 4 places, None as "-"."""
    lines = ["  ".join(f"{c[:10]:>10}" for c in columns)]
    lines += ["  ".join(f"{_cell(row[c]):>10}" for c in columns) for row in rows]
    return lines


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
