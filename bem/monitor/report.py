"""The monitoring report: daily metrics → smoothing → anomalies → one self-contained HTML page
(inline SVG plots, no external resources) and a JSON summary; `alert` tells the caller to fail.

Quality series (precision, recall, F1) use only days with at least `min_labels` labelled pairs:
labels arrive days late, and a day with a handful of labels is noise, not a signal. Days whose
labels are not yet in are covered by the estimate from scores (`bem.monitor.quality`), with
segments, calibration per week and the version each alert is attributed to
(`bem.monitor.report_sections` renders them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bem.monitor import report_sections
from bem.monitor.anomalies import QUALITY_METRICS, Anomaly, alerts, detect
from bem.monitor.attribution import DEFAULT_WINDOW_DAYS, attribute, version_spans
from bem.monitor.calibration import (
    calibration_alerts,
    calibration_anomalies,
    calibration_groups,
)
from bem.monitor.metrics_sql import DailyMetrics, daily_metrics, score_histogram
from bem.monitor.pairs import load_pairs
from bem.monitor.quality import DetectorSettings, echoes_left_out, quality_view
from bem.monitor.smoothing import SMOOTHERS, piecewise_constant, robust_trend, trend_line
from bem.monitor.store import results

LABEL_FREE_METRICS = ("match_rate",)  # volume has a weekly cycle: plotted, not flagged


@dataclass(frozen=True)
class ReportOptions:
    """Period [start, end) in UTC days, detector settings and the alert window."""

    end: date
    days: int = 90
    min_labels: int = 30
    min_coverage: float = 0.5  # a day's realised figures replace its estimate from here
    attribution_days: int = DEFAULT_WINDOW_DAYS
    alert_window_days: int = 14  # alerts dated in the last N days count; 0 = whole period
    span: int = 20
    k: float = 3.0
    min_shift: float = 0.02
    bins: int = 20
    render: bool = True  # False: summary only (no plots, no page), for benchmarks and cron

    def detector_settings(self) -> DetectorSettings:
        """The settings of the estimate and segment detectors."""
        return DetectorSettings(
            span=self.span,
            k=self.k,
            min_shift=self.min_shift,
            min_labels=self.min_labels,
            min_coverage=self.min_coverage,
        )

    @property
    def start(self) -> date:
        """First day of the period."""
        return self.end - timedelta(days=self.days)


@dataclass
class Report:
    """The JSON summary, the HTML page and whether an alert fired."""

    summary: dict[str, Any]
    html: str
    alert: bool
    anomalies: list[Anomaly] = field(default_factory=list)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def build_report(
    connection: Connection, options: ReportOptions, now: datetime | None = None
) -> Report:
    """Query, analyse and render the report of `options`' period."""
    start, end = _midnight(options.start), _midnight(options.end)
    daily = daily_metrics(connection, start, end, by_version=False)
    by_version = daily_metrics(connection, start, end, by_version=True)
    histogram = score_histogram(connection, options.bins, start, end)
    threshold = connection.execute(
        sa.select(results.c.threshold).order_by(results.c.scored_at.desc()).limit(1)
    ).scalar()

    series = {metric: _series(daily, metric, options.min_labels) for metric in QUALITY_METRICS}
    for metric in LABEL_FREE_METRICS:
        series[metric] = _series(daily, metric, 0)
    found: list[Anomaly] = []
    analysis: dict[str, Any] = {}
    for metric, (days, values, weights) in series.items():
        found += detect(metric, days, values, options.span, options.k, options.min_shift, weights)
        analysis[metric] = _analyse(days, values)
    alert_since = (
        options.end - timedelta(days=options.alert_window_days)
        if (options.alert_window_days > 0)
        else None
    )
    pairs = load_pairs(connection, start, end)
    view = quality_view(pairs, options.detector_settings())
    groups = calibration_groups(pairs, float(threshold) if threshold is not None else 0.5)
    broken = calibration_anomalies(groups)
    found = sorted(found + view.anomalies + broken, key=lambda a: (a.day, a.metric, a.kind))
    raised = echoes_left_out(view.open_alerts(alerts(found, since=alert_since)))
    raised += [
        a for a in calibration_alerts(broken, raised) if alert_since is None or a.day >= alert_since
    ]
    spans = version_spans(by_version)
    missing_plots = {
        metric: _why_no_plot(metric, *series[metric][:2], daily, options.min_labels)
        for metric in QUALITY_METRICS
        if len(series[metric][0]) < 2
    }

    summary = {
        "generated_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "period": {"start": options.start.isoformat(), "end": options.end.isoformat()},
        "alert": bool(raised),
        "alerts": [
            {**a.as_json(), "attribution": attribute(a, spans, options.attribution_days).as_json()}
            for a in raised
        ],
        "anomalies": [a.as_json() for a in found],
        "totals": _totals(daily),
        "by_model_version": {
            version: _totals([d for d in by_version if d.model_version == version])
            for version in sorted({d.model_version for d in by_version})
        },
        "analysis": {
            metric: {key: value for key, value in result.items() if key != "curves"}
            for metric, result in analysis.items()
        },
        "threshold": threshold,
        "settings": {
            "min_labels": options.min_labels,
            "alert_window_days": options.alert_window_days,
            "span": options.span,
            "k": options.k,
            "min_shift": options.min_shift,
        },
        "daily": [d.as_json() for d in daily],
        "missing_plots": missing_plots,
        **report_sections.summary_parts(view, groups, spans),
    }
    page = ""
    if options.render:
        svgs = report_sections.total_svgs(
            options.span,
            options.k,
            series,
            analysis,
            (found, raised),
            daily,
            histogram,
            threshold,
            missing_plots,
        )

        extra = report_sections.svgs(view, groups)
        page = render_html(summary, svgs, report_sections.html_sections(summary, extra))
    return Report(summary, page, bool(raised), found)


def _why_no_plot(
    metric: str, days: list[date], values: list[float], daily: list[DailyMetrics], min_labels: int
) -> str:
    """Why the plot of `metric` is missing, in one sentence a reader can act on."""
    short = [d for d in daily if 0 < d.labeled < min_labels]
    under = (
        f"; {len(short)} day(s) have fewer labelled pairs than --min-labels {min_labels}"
        if short
        else ""
    )
    if days:
        return (
            f"no {metric} plot: only {days[0].isoformat()} has enough labelled pairs "
            f"({metric} {values[0]:.3f} that day); a line needs two days{under}"
        )
    if not any(d.labeled for d in daily):
        return (
            f"no {metric} plot: no scored pair of the period has a label yet "
            "(load them with bem monitor label FILE)"
        )
    return f"no {metric} plot: no day has enough labelled pairs{under}"


# the count each daily ratio is computed from: its noise shrinks as 1/√count
_WEIGHTS = {
    "precision": lambda d: d.tp + d.fp,
    "recall": lambda d: d.tp + d.fn,
    "f1": lambda d: d.tp + d.fp + d.fn,
    "match_rate": lambda d: d.volume,
}


def _series(
    daily: list[DailyMetrics], metric: str, min_labels: int
) -> tuple[list[date], list[float], list[float]]:
    """Days, values and weights of one metric; days under `min_labels` labels left out."""
    days, values, weights = [], [], []
    for row in daily:
        value, weight = getattr(row, metric), _WEIGHTS[metric](row)
        if value is None or weight <= 0 or (min_labels and row.labeled < min_labels):
            continue
        days.append(row.day)
        values.append(float(value))
        weights.append(float(weight))
    return days, values, weights


def _analyse(days: list[date], values: list[float]) -> dict[str, Any]:
    """Smoothers, fits and segments of one series (curves for the plot, last values for JSON)."""
    if len(values) < 2:
        return {"points": len(values), "curves": {}}
    curves = {name: smoother(values) for name, smoother in SMOOTHERS.items()}
    line, robust, segments = trend_line(values), robust_trend(values), piecewise_constant(values)
    curves["trend_line"], curves["robust_trend"] = line.fitted, robust.fitted
    curves["piecewise_constant"] = segments.fitted
    return {
        "points": len(values),
        "last": values[-1],
        "smoothed_last": {name: float(curve[-1]) for name, curve in curves.items()},
        "trend_slope_per_day": line.slope,
        "robust_trend_slope_per_day": robust.slope,
        "segments": [
            {"start": days[s].isoformat(), "mean": m}
            for s, m in zip(segments.starts, segments.means, strict=True)
        ],
        "curves": curves,
    }


def _totals(rows: list[DailyMetrics]) -> dict[str, Any]:
    volume, matched = sum(r.volume for r in rows), sum(r.matched for r in rows)
    tp, fp, fn = sum(r.tp for r in rows), sum(r.fp for r in rows), sum(r.fn for r in rows)
    hours = [r.median_hours_to_completion for r in rows if r.median_hours_to_completion is not None]
    return {
        "days": len(rows),
        "volume": volume,
        "matched": matched,
        "labeled": sum(r.labeled for r in rows),
        "match_rate": matched / volume if volume else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
        "median_of_daily_median_hours": float(np.median(hours)) if hours else None,
    }


_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;
font-size:13px;text-align:right}th{background:#f3f3f3}.alert{background:#fde2e1;border:2px solid
#d62728;padding:10px}.ok{background:#e3f4e1;border:2px solid #2ca02c;padding:10px}
figure{margin:12px 0}svg{max-width:100%;height:auto}
"""


def render_html(summary: dict[str, Any], svgs: dict[str, str], sections: str = "") -> str:
    """One self-contained page: status, totals, alerts, anomalies, plots, recent days, JSON."""
    period = summary["period"]
    status = (
        f'<div class="alert" id="status"><b>ALERT</b>: {len(summary["alerts"])} alert(s)</div>'
        if summary["alert"]
        else '<div class="ok" id="status">No alert</div>'
    )
    keys = [
        "volume",
        "matched",
        "labeled",
        "match_rate",
        "precision",
        "recall",
        "f1",
        "median_of_daily_median_hours",
    ]
    totals = [["all", *(summary["totals"][k] for k in keys)]] + [
        [version, *(t[k] for k in keys)] for version, t in summary["by_model_version"].items()
    ]
    anomaly_rows = [
        [
            a["day"],
            a["metric"],
            a["kind"],
            a["source"],
            a["segment"],
            a["direction"],
            a["value"],
            a["expected"],
            a["sigma"],
        ]
        for a in summary["anomalies"]
    ]
    alert_rows = [
        [
            a["day"],
            a["metric"],
            a["kind"],
            a["source"],
            a["segment"],
            a["value"],
            a["expected"],
            a["attribution"]["reason"],
        ]
        for a in summary["alerts"]
    ]
    recent = [
        [
            d["day"],
            d["model_version"],
            d["volume"],
            d["labeled"],
            d["match_rate"],
            d["precision"],
            d["recall"],
            d["f1"],
            d["median_hours_to_completion"],
        ]
        for d in summary["daily"][-14:]
    ]
    figures = "".join(f'<figure id="plot-{name}">{svg}</figure>' for name, svg in svgs.items())
    data = json.dumps(summary, default=str).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Budget–expense matcher monitoring</title>
<style>{_STYLE}</style></head><body>
<h1>Budget–expense matcher: monitoring {period["start"]} – {period["end"]} (end exclusive)</h1>
{status}
<h2>Totals</h2>
{report_sections.html_table(["model version", *keys], totals)}
<h2>Alerts</h2>
{
        report_sections.html_table(
            ["day", "metric", "kind", "source", "segment", "value", "expected", "attribution"],
            alert_rows,
        )
    }
<h2>Plots</h2>
{figures}
{sections}
<h2>Anomalies</h2>
{
        report_sections.html_table(
            ["day", "metric", "kind", "source", "segment", "direction", "value", "expected", "σ"],
            anomaly_rows,
        )
    }
<h2>Last 14 days</h2>
{
        report_sections.html_table(
            [
                "day",
                "version",
                "volume",
                "labeled",
                "match rate",
                "precision",
                "recall",
                "F1",
                "median h to completion",
            ],
            recent,
        )
    }
<script type="application/json" id="summary">{data}</script>
</body></html>
"""
