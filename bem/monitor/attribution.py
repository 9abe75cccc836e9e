"""Which model version was live each day, and which version an alert belongs to.

The results say which version scored each pair: a day's live version is the one that scored
most of its pairs, and a version's span is a run of consecutive days on which it was live.
An alert is attributed to the version live on its day when it starts within `window_days`
(default 7) of that version's span start: a drop that begins with a version change. An alert
dated before a version went live predates it and is never that version's fault. A calibration
alert names its version itself (segment "model_version=…").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from bem.monitor.anomalies import Anomaly
from bem.monitor.metrics_sql import DailyMetrics

DEFAULT_WINDOW_DAYS = 7


@dataclass(frozen=True)
class VersionSpan:
    """A run of days on which `model_version` scored most pairs."""

    model_version: str
    first_day: date
    last_day: date
    pairs: int

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "model_version": self.model_version,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "pairs": self.pairs,
        }


@dataclass(frozen=True)
class Attribution:
    """The version live when the alert began and whether the alert is put down to it."""

    model_version: str | None
    version_since: date | None
    days_after_change: int | None
    attributed: bool
    reason: str

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["version_since"] = self.version_since.isoformat() if self.version_since else None
        return data


def version_spans(by_version: Sequence[DailyMetrics]) -> list[VersionSpan]:
    """Consecutive-day runs of the majority version, oldest first (from per-version rows)."""
    best: dict[date, tuple[int, str]] = {}
    for row in by_version:
        if row.volume > best.get(row.day, (-1, ""))[0]:
            best[row.day] = (row.volume, row.model_version)
    spans: list[VersionSpan] = []
    for day in sorted(best):
        volume, version = best[day]
        last = spans[-1] if spans else None
        if last is not None and last.model_version == version:
            spans[-1] = VersionSpan(version, last.first_day, day, last.pairs + volume)
        else:
            spans.append(VersionSpan(version, day, day, volume))
    return spans


def span_on(spans: Sequence[VersionSpan], day: date) -> VersionSpan | None:
    """The span covering `day`, else the latest span that began before it."""
    earlier = [s for s in spans if s.first_day <= day]
    return earlier[-1] if earlier else None


def attribute(
    alert: Anomaly, spans: Sequence[VersionSpan], window_days: int = DEFAULT_WINDOW_DAYS
) -> Attribution:
    """Put `alert` down to a version change, or say why not (module docstring)."""
    if alert.segment.startswith("model_version="):
        version = alert.segment.split("=", 1)[1]
        mine = [s for s in spans if s.model_version == version and s.first_day <= alert.day]
        span = mine[-1] if mine else None
    else:
        span = span_on(spans, alert.day)
    if span is None:
        return Attribution(None, None, None, False, "no version was live on the alert's day")
    after = (alert.day - span.first_day).days
    earlier = [s for s in spans if s.first_day < span.first_day]
    if not earlier:
        return Attribution(
            span.model_version, span.first_day, after, False, "no version change in the period"
        )
    if after <= window_days:
        reason = f"began {after} day(s) after {span.model_version} went live"
        return Attribution(span.model_version, span.first_day, after, True, reason)
    reason = f"began {after} days after {span.model_version} went live (> {window_days})"
    return Attribution(span.model_version, span.first_day, after, False, reason)
