"""Quality series of the report beyond the daily totals: the estimate from scores for days
whose labels have not arrived, and every segment's realised and estimated series, each run
through the same detectors (`bem.monitor.anomalies.detect`).

- Estimate series ("estimate" source) of the whole traffic and of each budget-type and vendor
  segment: every day has a value; its alerts count only on days not yet labelled (on labelled
  days the realised series speaks). The whole traffic's estimates go through the band and shift
  detectors (weights: inverse variances); a segment's estimated precision, which rests on
  fewer pairs, through the pooled detector.
- Realised series ("realised" source) of each segment, labelled days only: the pooled
  detector on its precision counts (a segment's daily ratios are too noisy for the daily
  detectors).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from bem.monitor.anomalies import QUALITY_METRICS, Anomaly, detect, pooled_drops
from bem.monitor.estimate import DayQuality, daily_quality, inverse_variance
from bem.monitor.pairs import Pairs
from bem.monitor.segments import segment_masks

ALL = "all"
SEGMENT_ALERT_METRICS = ("precision",)
_REALISED_WEIGHTS: dict[str, Callable[[DayQuality], float]] = {
    "precision": lambda q: q.tp + q.fp,
    "recall": lambda q: q.tp + q.fn,
    "f1": lambda q: q.tp + q.fp + q.fn,
}


@dataclass(frozen=True)
class DetectorSettings:
    """The detectors' settings (see bem.monitor.anomalies)."""

    span: int = 20
    k: float = 3.0
    min_shift: float = 0.02
    min_labels: int = 30
    min_coverage: float = 0.5
    top_vendors: int = 5
    segment_min_labels: int = 20
    pooled_z: float = 4.0
    segment_min_shift: float = 0.05
    estimate_window: int = 5


@dataclass
class QualityView:
    """Per segment ("all" first): its days, and the anomalies found on its series."""

    days: dict[str, list[DayQuality]] = field(default_factory=dict)
    dimension: dict[str, str] = field(default_factory=dict)
    anomalies: list[Anomaly] = field(default_factory=list)

    def unlabelled_days(self, segment: str = ALL) -> list[date]:
        """Days of `segment` whose figures are still estimates."""
        return [q.day for q in self.days.get(segment, []) if not q.labelled_day]

    def open_alerts(self, raised: list[Anomaly]) -> list[Anomaly]:
        """`raised` without the estimate's alerts on labelled days (the labels speak there)."""
        open_days = {name: set(self.unlabelled_days(name)) for name in self.days}
        return [
            a for a in raised if a.source != "estimate" or a.day in open_days.get(a.segment, set())
        ]


def estimate_series(
    days: list[DayQuality], metric: str
) -> tuple[list[date], list[float], list[float]]:
    """Days, estimated values and weights of one metric (days without an estimate skipped)."""
    out: tuple[list[date], list[float], list[float]] = ([], [], [])
    for q in days:
        value, weight = (
            getattr(q, f"est_{metric}"),
            inverse_variance(getattr(q, f"est_{metric}_half")),
        )
        if value is None or weight <= 0:
            continue
        out[0].append(q.day)
        out[1].append(float(value))
        out[2].append(weight)
    return out


def realised_series(
    days: list[DayQuality], metric: str, min_labels: int
) -> tuple[list[date], list[float], list[float]]:
    """Days, realised values and weights of one metric, labelled days only."""
    out: tuple[list[date], list[float], list[float]] = ([], [], [])
    for q in days:
        value, weight = getattr(q, metric), _REALISED_WEIGHTS[metric](q)
        if value is None or weight <= 0 or q.labeled < min_labels or not q.labelled_day:
            continue
        out[0].append(q.day)
        out[1].append(float(value))
        out[2].append(float(weight))
    return out


def _tag(found: list[Anomaly], source: str, segment: str) -> list[Anomaly]:
    return [
        Anomaly(a.metric, a.day, a.kind, a.direction, a.value, a.expected, a.sigma, source, segment)
        for a in found
    ]


def quality_view(pairs: Pairs, settings: DetectorSettings) -> QualityView:
    """Estimate and segment series of `pairs`, with their anomalies (module docstring)."""
    view = QualityView()
    if not len(pairs):
        return view
    groups: dict[str, tuple[str, Any]] = {ALL: (ALL, None)}
    groups.update(segment_masks(pairs, settings.top_vendors))
    for segment, (dimension, mask) in groups.items():
        min_labels = settings.min_labels if segment == ALL else settings.segment_min_labels
        days = daily_quality(pairs, mask, min_labels, settings.min_coverage)
        if dimension == "label_age":
            days = [replace(q, labelled_day=q.labeled >= min_labels) for q in days]
        view.days[segment] = days
        view.dimension[segment] = dimension
        if dimension != "label_age":
            view.anomalies += _estimate_anomalies(days, segment, settings)
        if segment != ALL:
            view.anomalies += _realised_anomalies(days, segment, settings)
    return view


def _estimate_anomalies(
    days: list[DayQuality], segment: str, settings: DetectorSettings
) -> list[Anomaly]:
    """The whole traffic: band and shift detectors on each estimated metric; a segment: the
    pooled detector on estimated precision. Flags on labelled days are kept (they tell the
    alert rule that a later flag is the same incident); `open_alerts` drops their alerts."""
    found: list[Anomaly] = []
    if segment == ALL:
        for metric in QUALITY_METRICS:
            x, values, weights = estimate_series(days, metric)
            found += detect(
                metric, x, values, settings.span, settings.k, settings.min_shift, weights
            )
    else:
        usable = [q for q in days if q.est_precision is not None and q.matched > 1]
        found += pooled_drops(
            "precision",
            [q.day for q in usable],
            [q.est_precision * q.matched for q in usable],  # type: ignore[operator]
            [q.matched for q in usable],
            [q.matched_score_ss for q in usable],
            window=settings.estimate_window,
            z=settings.pooled_z,
            min_shift=settings.segment_min_shift,
        )
    return _tag(found, "estimate", segment)


# numerator and denominator of each realised ratio
_COUNTS: dict[str, Callable[[DayQuality], tuple[float, float]]] = {
    "precision": lambda q: (q.tp, q.tp + q.fp),
    "recall": lambda q: (q.tp, q.tp + q.fn),
    "f1": lambda q: (q.tp, q.tp + (q.fp + q.fn) / 2),  # F1 = TP / (TP + (FP + FN)/2)
}


def _realised_anomalies(
    days: list[DayQuality], segment: str, settings: DetectorSettings
) -> list[Anomaly]:
    """A segment's realised precision through the pooled detector, labelled days only.

    Recall and F1 of a segment rest on its misses, a handful a day: they are shown, not
    alerted on (on 90-day simulated histories they raised false alarms at z = 4)."""
    usable = [q for q in days if q.labelled_day]
    found: list[Anomaly] = []
    for metric in SEGMENT_ALERT_METRICS:
        counts = [_COUNTS[metric](q) for q in usable]
        found += pooled_drops(
            metric,
            [q.day for q in usable],
            [c[0] for c in counts],
            [c[1] for c in counts],
            z=settings.pooled_z,
            min_shift=settings.segment_min_shift,
        )
    return _tag(found, "realised", segment)


def echoes_left_out(raised: list[Anomaly], settle_days: int = 42) -> list[Anomaly]:
    """Segment alerts that echo an alert of the whole traffic (same metric and source, up to
    `settle_days` before: the pooled detector's window and baseline, 14 + 28 days, still
    straddle the total's change) are left out: a segment alerts on its own when the total
    holds."""
    totals = [a for a in raised if a.segment == "all"]
    return [
        a
        for a in raised
        if a.segment == "all"
        or not any(
            t.metric == a.metric
            and t.source == a.source
            and 0 <= (a.day - t.day).days <= settle_days
            for t in totals
        )
    ]
