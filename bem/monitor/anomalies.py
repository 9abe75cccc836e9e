"""Anomaly flags over a daily series and the alert rule built on them. Pure functions.

Two detectors, each defined on a series x_0 … x_{n−1} (one point per day, oldest first) with
σ̂ = `smoothing.noise_sigma(x)` (1.4826 · MAD of first differences / √2):

- EWMA band: the forecast of day t is the EWMA (span N, default 20) of x_0 … x_{t−1}; day t is
  outside the band when |x_t − forecast_t| > k · σ̂ (k = 3), from day `warmup` on.
- Mean shift: a change point of `smoothing.piecewise_constant(x)` (β = 4σ̂² ln n) whose jump
  |mean_after − mean_before| is at least `min_shift` (absolute, default 0.02) and 2σ̂.

Alert rule (`alerts`): for a quality metric (precision, recall, F1) a downward mean shift, or a
run of ≥ 2 consecutive days below the EWMA band, raises an alert dated at its first day.
Upward moves and flags on volume or match rate are reported but never alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np

from bem.monitor.smoothing import ewma, noise_sigma, piecewise_constant

QUALITY_METRICS = ("precision", "recall", "f1")


@dataclass(frozen=True)
class Anomaly:
    """One flag: which metric, which day, what kind, which way and by how much."""

    metric: str
    day: date
    kind: str  # "ewma_band" or "mean_shift"
    direction: str  # "down" or "up"
    value: float  # the day's value (band) or the new level (shift)
    expected: float  # the forecast (band) or the old level (shift)
    sigma: float

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return data


@dataclass(frozen=True)
class Band:
    """The EWMA forecast of each day (NaN before `warmup`) and its half-width k·σ̂."""

    forecast: np.ndarray
    half_width: float


def ewma_band(values: Sequence[float] | np.ndarray, span: int = 20, k: float = 3.0) -> Band:
    """forecast_t = EWMA_span(x_0 … x_{t−1}); half-width = k · σ̂."""
    x = np.asarray(values, dtype=np.float64)
    forecast = np.full(x.size, np.nan)
    if x.size > 1:
        forecast[1:] = ewma(x, span)[:-1]
    return Band(forecast, k * noise_sigma(x) if x.size > 1 else 0.0)


def band_outliers(
    metric: str,
    days: Sequence[date],
    values: Sequence[float] | np.ndarray,
    span: int = 20,
    k: float = 3.0,
    warmup: int = 7,
) -> list[Anomaly]:
    """Days whose value lies more than k·σ̂ from the EWMA of the days before."""
    x = np.asarray(values, dtype=np.float64)
    band = ewma_band(x, span, k)
    sigma = band.half_width / k if k else 0.0
    if sigma <= 0.0:
        return []
    flags = []
    for t in range(max(warmup, 1), x.size):
        gap = x[t] - band.forecast[t]
        if abs(gap) > band.half_width:
            flags.append(
                Anomaly(
                    metric,
                    days[t],
                    "ewma_band",
                    "down" if gap < 0 else "up",
                    float(x[t]),
                    float(band.forecast[t]),
                    sigma,
                )
            )
    return flags


def mean_shifts(
    metric: str,
    days: Sequence[date],
    values: Sequence[float] | np.ndarray,
    min_shift: float = 0.02,
) -> list[Anomaly]:
    """Change points of the piecewise-constant fit with a jump ≥ max(min_shift, 2σ̂)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 4:
        return []
    sigma = noise_sigma(x)
    segments = piecewise_constant(x)
    flags = []
    for j in range(1, len(segments.starts)):
        before, after = segments.means[j - 1], segments.means[j]
        jump = after - before
        if abs(jump) >= max(min_shift, 2.0 * sigma):
            flags.append(
                Anomaly(
                    metric,
                    days[segments.starts[j]],
                    "mean_shift",
                    "down" if jump < 0 else "up",
                    after,
                    before,
                    sigma,
                )
            )
    return flags


def detect(
    metric: str,
    days: Sequence[date],
    values: Sequence[float] | np.ndarray,
    span: int = 20,
    k: float = 3.0,
    min_shift: float = 0.02,
) -> list[Anomaly]:
    """Both detectors on one series, sorted by day."""
    found = band_outliers(metric, days, values, span, k) + mean_shifts(
        metric, days, values, min_shift
    )
    return sorted(found, key=lambda a: (a.day, a.kind))


def alerts(anomalies: Sequence[Anomaly], since: date | None = None) -> list[Anomaly]:
    """The anomalies that alert (module docstring), dated on or after `since` when given.

    A run of consecutive-day downward band flags alerts once, at its first day, when it is at
    least two days long.
    """
    raised: list[Anomaly] = []
    for metric in QUALITY_METRICS:
        mine = [a for a in anomalies if a.metric == metric and a.direction == "down"]
        raised += [a for a in mine if a.kind == "mean_shift"]
        band_days = sorted((a for a in mine if a.kind == "ewma_band"), key=lambda a: a.day)
        run: list[Anomaly] = []
        for flag in band_days:
            if run and (flag.day - run[-1].day).days == 1:
                run.append(flag)
                continue
            if len(run) >= 2:
                raised.append(run[0])
            run = [flag]
        if len(run) >= 2:
            raised.append(run[0])
    if since is not None:
        raised = [a for a in raised if a.day >= since]
    return sorted(raised, key=lambda a: (a.day, a.metric, a.kind))
