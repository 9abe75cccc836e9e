"""The report's plots as inline SVG strings (matplotlib, Agg backend, no files)."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, ParamSpec

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np

from bem.monitor.anomalies import Anomaly

P = ParamSpec("P")

SMOOTH_STYLE = {
    "ewma_20": ("#1f77b4", "-"),
    "median_7": ("#2ca02c", "-"),
    "trend_line": ("#7f7f7f", "--"),
    "robust_trend": ("#9467bd", "--"),
    "piecewise_constant": ("#ff7f0e", "-"),
}


def plain_text(plot: Callable[P, str]) -> Callable[P, str]:
    """Draw every text of `plot` verbatim: labels come from data (budget types, versions), and
    mathtext would parse a `$` in them (and raise on `$x^$`)."""

    @functools.wraps(plot)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> str:
        with matplotlib.rc_context({"text.parse_math": False}):
            return plot(*args, **kwargs)

    return wrapper


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.find("<svg") :]


def _dates(days: Sequence[date]) -> np.ndarray:
    return np.array(days, dtype="datetime64[D]")


def _format_dates(axis: Any) -> None:
    axis.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=10))
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    axis.grid(True, alpha=0.3)


@plain_text
def quality_plot(
    metric: str,
    days: Sequence[date],
    values: Sequence[float],
    smoothed: dict[str, np.ndarray],
    band: tuple[np.ndarray, np.ndarray] | None,
    anomalies: Sequence[Anomaly],
    alerts: Sequence[Anomaly],
) -> str:
    """A quality metric per day with its smoothers, EWMA band, flags and alerts."""
    figure, axis = plt.subplots(figsize=(11, 3.6))
    x = _dates(days)
    axis.plot(x, values, "o", color="#333333", markersize=3, label=metric)
    for name, (color, style) in SMOOTH_STYLE.items():
        if name in smoothed:
            axis.plot(x, smoothed[name], style, color=color, linewidth=1.4, label=name)
    if band is not None and len(days) > 1:
        forecast, half_width = band
        axis.fill_between(
            x,
            forecast - half_width,
            forecast + half_width,
            color="#1f77b4",
            alpha=0.12,
            label="EWMA band",
        )
    flagged = [a for a in anomalies if a.metric == metric]
    if flagged:
        axis.scatter(
            _dates([a.day for a in flagged]),
            [a.value if a.kind == "ewma_band" else np.nan for a in flagged],
            marker="x",
            color="#d62728",
            s=50,
            zorder=5,
            label="anomaly",
        )
    for alert in (a for a in alerts if a.metric == metric):
        axis.axvline(float(mdates.date2num(alert.day)), color="#d62728", linewidth=1.5, alpha=0.8)
    axis.set_title(f"{metric} per day (red lines: alerts)")
    axis.legend(loc="lower left", fontsize=7, ncol=4)
    _format_dates(axis)
    return _svg(figure)


@plain_text
def volume_plot(days: Sequence[date], volume: Sequence[int], match_rate: Sequence[float]) -> str:
    """Scored pairs per day (bars) and the match rate (line)."""
    figure, axis = plt.subplots(figsize=(11, 3.0))
    x = _dates(days)
    axis.bar(x, volume, color="#aec7e8", label="pairs scored")
    axis.set_ylabel("pairs scored")
    rate_axis = axis.twinx()
    rate_axis.plot(x, match_rate, color="#d62728", linewidth=1.2, label="match rate")
    rate_axis.set_ylabel("match rate")
    axis.set_title("Volume and match rate per day")
    _format_dates(axis)
    return _svg(figure)


@plain_text
def completion_plot(days: Sequence[date], hours: Sequence[float]) -> str:
    """Median hours from scoring to completion of the matching operation, per day."""
    figure, axis = plt.subplots(figsize=(11, 2.8))
    axis.plot(_dates(days), hours, "o-", color="#8c564b", markersize=3, linewidth=1)
    axis.set_ylabel("hours")
    axis.set_title("Median time to completion (resolved_at − scored_at, true matches)")
    _format_dates(axis)
    return _svg(figure)


@plain_text
def score_plot(histogram: dict[str, list[int]], threshold: float | None) -> str:
    """Score distribution (share of pairs per bin) by model version."""
    figure, axis = plt.subplots(figsize=(11, 3.0))
    for version, counts in sorted(histogram.items()):
        total = sum(counts) or 1
        edges = np.linspace(0.0, 1.0, len(counts) + 1)
        axis.stairs(np.asarray(counts) / total, edges, label=f"model {version}", linewidth=1.5)
    if threshold is not None:
        axis.axvline(threshold, color="#333333", linestyle=":", label=f"threshold {threshold:g}")
    axis.set_yscale("log")
    axis.set_xlabel("score")
    axis.set_ylabel("share of pairs")
    axis.set_title("Score distribution by model version")
    if histogram or threshold is not None:
        axis.legend(fontsize=8)
    axis.grid(True, alpha=0.3)
    return _svg(figure)


@plain_text
def estimate_plot(
    metric: str,
    days: Sequence[date],
    estimate: Sequence[float],
    half_width: Sequence[float],
    realised_days: Sequence[date],
    realised: Sequence[float],
    open_days: Sequence[date],
) -> str:
    """A metric estimated from scores (line, 95 % band) beside the realised one (dots); the
    days still waiting for their labels shaded."""
    figure, axis = plt.subplots(figsize=(11, 3.2))
    x = _dates(days)
    est, half = np.asarray(estimate, dtype=float), np.asarray(half_width, dtype=float)
    axis.fill_between(x, est - half, est + half, color="#ff7f0e", alpha=0.18, label="95 % band")
    axis.plot(x, est, "-", color="#ff7f0e", linewidth=1.4, label=f"estimated {metric}")
    axis.plot(_dates(realised_days), realised, "o", color="#333333", markersize=3,
              label=f"realised {metric}")  # fmt: skip
    if open_days:
        axis.axvspan(
            float(mdates.date2num(min(open_days))) - 0.5,
            float(mdates.date2num(max(open_days))) + 0.5,
            color="#999999",
            alpha=0.15,
            label="labels not yet in",
        )
    axis.set_title(f"{metric}: estimate from calibrated scores vs realised from labels")
    axis.legend(loc="lower left", fontsize=7, ncol=4)
    _format_dates(axis)
    return _svg(figure)


@plain_text
def reliability_plot(curves: dict[str, list[dict[str, float]]]) -> str:
    """Observed match rate against mean score per score bin (bins of ≥ 20 pairs), one curve
    per model version."""
    figure, axis = plt.subplots(figsize=(5.5, 5.0))
    axis.plot([0, 1], [0, 1], ":", color="#7f7f7f", label="perfect calibration")
    for version, all_bins in sorted(curves.items()):
        bins = [b for b in all_bins if b["pairs"] >= 20]
        axis.plot(
            [b["mean_score"] for b in bins],
            [b["match_rate"] for b in bins],
            "o-",
            markersize=4,
            label=f"model {version}",
        )
    axis.set_xlabel("mean score in bin")
    axis.set_ylabel("observed match rate")
    axis.set_title("Reliability (labelled pairs of the period)")
    axis.legend(fontsize=8)
    axis.grid(True, alpha=0.3)
    return _svg(figure)


@plain_text
def ece_plot(weeks: dict[str, list[tuple[date, float, float]]]) -> str:
    """ECE of matched pairs per week and model version, with each week's limit (dashes)."""
    figure, axis = plt.subplots(figsize=(11, 3.0))
    for version, points in sorted(weeks.items()):
        x = _dates([p[0] for p in points])
        line = axis.plot(x, [p[1] for p in points], "o-", markersize=4, label=f"model {version}")
        axis.plot(x, [p[2] for p in points], "_", color=line[0].get_color(), markersize=14)
    axis.set_title("ECE of matched pairs per week (dashes: the week's limit)")
    if weeks:
        axis.legend(fontsize=8)
    _format_dates(axis)
    return _svg(figure)


@plain_text
def segment_plot(dimension: str, series: dict[str, tuple[list[date], list[float]]]) -> str:
    """Weekly realised precision of each segment of one dimension."""
    figure, axis = plt.subplots(figsize=(11, 3.0))
    for name, (days, values) in sorted(series.items()):
        axis.plot(_dates(days), values, "o-", markersize=3, linewidth=1.2, label=name)
    axis.set_title(f"Precision per week by {dimension} (realised)")
    if series:
        axis.legend(loc="lower left", fontsize=7, ncol=4)
    _format_dates(axis)
    return _svg(figure)
