"""The report's plots and sections: the daily totals' plots, and beyond them the estimate
before labels, calibration, segments and versions — their JSON summary parts, plots and HTML."""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import numpy as np

from bem.monitor import plots
from bem.monitor.anomalies import QUALITY_METRICS, Anomaly, ewma_band
from bem.monitor.attribution import VersionSpan
from bem.monitor.calibration import CalibrationGroup
from bem.monitor.estimate import METRICS, DayQuality
from bem.monitor.metrics_sql import DailyMetrics
from bem.monitor.quality import ALL, QualityView

INVISIBLE_NOTE = (
    "The estimate assumes the scores are calibrated. A change that shifts the inputs (more "
    "pairs near the threshold) shows in it at once; a change of the world under confident "
    "scores (calibration breaks) does not: it is invisible until its labels arrive, and shows "
    "first in the realised series and the weekly calibration check."
)


def _totals(days: list[DayQuality], estimated: bool = True) -> dict[str, Any]:
    """Realised totals of a segment, and its estimated precision over the days still open
    (not for label-age cohorts: they hold labelled pairs only)."""
    tp, fp, fn = sum(q.tp for q in days), sum(q.fp for q in days), sum(q.fn for q in days)
    open_days = [q for q in days if not q.labelled_day]
    matched_open = sum(q.matched for q in open_days)
    est_open = (
        sum((q.est_precision or 0.0) * q.matched for q in open_days) / matched_open
        if matched_open and estimated
        else None
    )
    return {
        "volume": sum(q.volume for q in days),
        "labeled": sum(q.labeled for q in days),
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
        "est_precision_unlabelled_days": est_open,
    }


def summary_parts(
    view: QualityView, groups: list[CalibrationGroup], spans: list[VersionSpan]
) -> dict[str, Any]:
    """The JSON parts: estimate per day, segments, calibration, versions."""
    days = view.days.get(ALL, [])
    estimate = []
    for q in days:
        entry = q.as_json()
        for metric in METRICS:
            value, source = q.best(metric)
            entry[f"best_{metric}"], entry[f"best_{metric}_source"] = value, source
        estimate.append(entry)
    return {
        "estimate": estimate,
        "unlabelled_days": [d.isoformat() for d in view.unlabelled_days()],
        "estimate_note": INVISIBLE_NOTE,
        "segments": {
            name: _with_coverage(
                {
                    "dimension": view.dimension[name],
                    **_totals(seg_days, estimated=view.dimension[name] != "label_age"),
                }
            )
            for name, seg_days in view.days.items()
            if name != ALL
        },
        "calibration": [g.as_json() for g in groups],
        "versions": [s.as_json() for s in spans],
    }


def _with_coverage(segment: dict[str, Any]) -> dict[str, Any]:
    """A segment's totals with its label coverage: labelled pairs / pairs (None without pairs);
    `bem monitor label-queue` asks first for labels where it is low."""
    volume = segment.get("volume") or 0
    segment["label_coverage"] = segment.get("labeled", 0) / volume if volume else None
    return segment


def total_svgs(
    span: int,
    k: float,
    series: dict[str, tuple[list[date], list[float], list[float]]],
    analysis: dict[str, Any],
    flags: tuple[list[Anomaly], list[Anomaly]],
    daily: list[DailyMetrics],
    histogram: dict[str, list[int]],
    threshold: Any,
    missing_plots: dict[str, str],
) -> dict[str, str]:
    """The plots of the daily totals (flags: anomalies and alerts; a sentence saying why, for a
    metric without a plot)."""
    found, raised = flags
    svgs: dict[str, str] = {}
    for metric in QUALITY_METRICS:
        days, values, weights = series[metric]
        if metric in missing_plots or len(days) < 2:
            reason = missing_plots.get(metric, f"no {metric} plot")
            svgs[metric] = f'<p class="missing">{html.escape(reason)}</p>'
        else:
            band = ewma_band(values, span, k, weights)
            svgs[metric] = plots.quality_plot(
                metric,
                days,
                values,
                analysis[metric]["curves"],
                (band.forecast, band.half_width),
                [a for a in found if a.segment == "all" and a.source == "realised"],
                [a for a in raised if a.segment == "all" and a.source == "realised"],
            )
    svgs["volume"] = plots.volume_plot(
        [d.day for d in daily],
        [d.volume for d in daily],
        [d.match_rate if d.match_rate is not None else np.nan for d in daily],
    )
    completion = [d for d in daily if d.median_hours_to_completion is not None]
    svgs["completion"] = plots.completion_plot(
        [d.day for d in completion], [float(d.median_hours_to_completion or 0) for d in completion]
    )
    svgs["scores"] = plots.score_plot(histogram, threshold)
    return svgs


def svgs(view: QualityView, groups: list[CalibrationGroup]) -> dict[str, str]:
    """Plots: estimate vs realised per metric, reliability, ECE per week, segments."""
    out: dict[str, str] = {}
    days = view.days.get(ALL, [])
    open_days = view.unlabelled_days()
    for metric in METRICS:
        with_estimate = [q for q in days if getattr(q, f"est_{metric}") is not None]
        realised = [q for q in days if q.labelled_day and getattr(q, metric) is not None]
        if not with_estimate:
            continue
        out[f"estimate-{metric}"] = plots.estimate_plot(
            metric,
            [q.day for q in with_estimate],
            [getattr(q, f"est_{metric}") for q in with_estimate],
            [getattr(q, f"est_{metric}_half") or 0.0 for q in with_estimate],
            [q.day for q in realised],
            [getattr(q, metric) for q in realised],
            open_days,
        )
    out["reliability"] = plots.reliability_plot(
        {g.model_version: g.bins for g in groups if g.week is None}
    )
    weekly: dict[str, list[tuple[date, float, float]]] = defaultdict(list)
    for g in groups:
        if g.week is not None and g.matched_ece is not None:
            weekly[g.model_version].append((g.week, g.matched_ece, g.matched_ece_limit or 0.0))
    out["ece"] = plots.ece_plot(dict(weekly))
    for dimension in ("budget_type", "vendor", "label_age"):
        series = {
            name: _weekly_precision(seg_days)
            for name, seg_days in view.days.items()
            if view.dimension[name] == dimension
        }
        out[f"segments-{dimension}"] = plots.segment_plot(dimension, series)
    return out


def _weekly_precision(days: list[DayQuality]) -> tuple[list[date], list[float]]:
    """Realised precision pooled per week (Monday), labelled days only."""
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for q in days:
        if q.labelled_day:
            week = q.day - timedelta(days=q.day.weekday())
            counts[week][0] += q.tp
            counts[week][1] += q.tp + q.fp
    weeks = sorted(w for w, (_, n) in counts.items() if n)
    return weeks, [counts[w][0] / counts[w][1] for w in weeks]


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def html_table(headers: list[str], rows: list[list[Any]], table_id: str | None = None) -> str:
    """An HTML table of `rows` (floats to 3 places, None as a dash), with an id when given."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
    opening = f'<table id="{table_id}">' if table_id else "<table>"
    return f"{opening}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_sections(summary: dict[str, Any], figures: dict[str, str]) -> str:
    """The sections' HTML (figures keyed as returned by `svgs`)."""

    def figure(name: str) -> str:
        return f'<figure id="plot-{name}">{figures[name]}</figure>' if name in figures else ""

    open_rows = [
        [e["day"], e["volume"], e["labeled"], e["coverage"]]
        + [v for m in METRICS for v in (e[f"est_{m}"], e[f"est_{m}_half"])]
        for e in summary["estimate"]
        if e["day"] in set(summary["unlabelled_days"])
    ]
    heads = ["day", "volume", "labeled", "coverage"]
    heads += [h for m in METRICS for h in (f"est. {m}", "±")]
    segment_rows = [
        [name, s["dimension"], s["volume"], s["labeled"], s["label_coverage"], s["precision"],
         s["recall"], s["f1"], s["est_precision_unlabelled_days"]]
        for name, s in summary["segments"].items()
    ]  # fmt: skip
    weeks = [
        [g["model_version"], g["week"] or "period", g["pairs"], g["ece"], g["ece_limit"],
         g["matched_pairs"], g["matched_ece"], g["matched_ece_limit"],
         "BROKEN" if g["broken"] else "ok"]
        for g in summary["calibration"]
    ]  # fmt: skip
    versions = [[v["model_version"], v["first_day"], v["last_day"], v["pairs"]]
                for v in summary["versions"]]  # fmt: skip
    return f"""
<h2>Before the labels: estimated quality</h2>
<p id="estimate-note">{html.escape(summary["estimate_note"])}</p>
{"".join(figure(f"estimate-{m}") for m in METRICS)}
{html_table(heads, open_rows, "estimate-table")}
<h2>Calibration</h2>
{figure("reliability")}{figure("ece")}
{html_table(["version", "week", "pairs", "ECE", "limit", "matched", "matched ECE", "limit",
             "state"], weeks, "calibration-table")}
<h2>Segments</h2>
{figure("segments-budget_type")}{figure("segments-vendor")}{figure("segments-label_age")}
{html_table(["segment", "dimension", "volume", "labeled", "label coverage", "precision",
         "recall", "F1", "est. precision (open days)"], segment_rows, "segments-table")}
<h2>Model versions live</h2>
{html_table(["model version", "first day", "last day", "pairs"], versions, "versions-table")}
"""  # fmt: skip
