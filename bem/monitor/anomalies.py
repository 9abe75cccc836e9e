"""Anomaly flags over a daily series and the alert rule built on them. Pure functions.

A series x_0 … x_{n−1} has one point per day, oldest first, and optionally a weight w_t per day:
the count the day's ratio was computed from (e.g. TP + FP for precision). A ratio over w_t
pairs has noise ∝ 1/√w_t, so a weekend or a half-labelled day is allowed to wander further.

- Noise: σ̂₁ = 1.4826 · MAD of the standardised first differences
  (x_t − x_{t−1}) / √(1/w_t + 1/w_{t−1}); the day's noise is σ_t = σ̂₁ / √w_t. Without weights
  (all w_t = 1) this is `smoothing.noise_sigma`: 1.4826 · MAD(Δx) / √2.
- EWMA band: the forecast of day t is the EWMA (span N, default 20) of x_0 … x_{t−1}; day t is
  outside the band when |x_t − forecast_t| > k · σ_t (k = 3), from day `warmup` on.
- Mean shift: a change point of `smoothing.piecewise_constant(x)` (β = 4σ̂² ln n, unweighted)
  between levels — segments of at least `min_segment` = 5 days; shorter ones are excursions
  and are skipped — whose jump |level_after − level_before| is at least `min_shift`
  (absolute, default 0.02) and 2σ̂ (σ̂ = `smoothing.noise_sigma(x)`).

- Pooled drop (for segments, whose daily ratios rest on a few pairs): on day t the ratio pooled
  over the `window` days ending at t, r_w = Σnum / Σden, against the ratio pooled over the
  `baseline` days before them, r_b; flagged when r_b − r_w ≥ `min_shift` and
  z = (r_b − r_w) / √(var_w + var_b) ≥ `z` (default 4), var = Σ var_num / (Σden)² (for a
  realised ratio var_num = r(1 − r)·den; for an estimate, the Poisson-binomial variance).

Alert rule (`alerts`): for a quality metric (precision, recall, F1) a downward mean shift, or a
run of ≥ 2 consecutive days below the EWMA band (unless it follows a downward shift of the same
metric by ≤ 20 days: the same incident), raises an alert dated at its first day; so does the
first day of a run of pooled-drop flags (not again within `settle_days` of the previous one).
Upward moves and flags on volume or match rate are reported but never alert. Each series —
a metric of one source (realised from labels, or estimated from scores) and one segment — is
judged on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np

from bem.monitor.smoothing import ewma, noise_sigma, piecewise_constant, robust_scale

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
    source: str = "realised"  # "realised" (labels) or "estimate" (scores, before labels)
    segment: str = "all"  # "all", or e.g. "budget_type=hotel", "vendor=other"

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return data


@dataclass(frozen=True)
class Band:
    """The EWMA forecast of each day (NaN on day 0) and the band's half-width k·σ_t per day."""

    forecast: np.ndarray
    half_width: np.ndarray


def _weights(weights: Sequence[float] | np.ndarray | None, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or np.any(w <= 0):
        raise ValueError("weights must be positive, one per point")
    return w


def unit_sigma(
    values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray
) -> float:
    """σ̂₁ = 1.4826 · MAD((x_t − x_{t−1}) / √(1/w_t + 1/w_{t−1})): noise at weight 1."""
    x = np.asarray(values, dtype=np.float64)
    w = _weights(weights, x.size)
    if x.size < 2:
        return 0.0
    return robust_scale(np.diff(x) / np.sqrt(1.0 / w[1:] + 1.0 / w[:-1]))


def ewma_band(
    values: Sequence[float] | np.ndarray,
    span: int = 20,
    k: float = 3.0,
    weights: Sequence[float] | np.ndarray | None = None,
) -> Band:
    """forecast_t = EWMA_span(x_0 … x_{t−1}); half-width_t = k · σ̂₁ / √w_t."""
    x = np.asarray(values, dtype=np.float64)
    w = _weights(weights, x.size)
    forecast = np.full(x.size, np.nan)
    if x.size > 1:
        forecast[1:] = ewma(x, span)[:-1]
    return Band(forecast, k * unit_sigma(x, w) / np.sqrt(w))


def band_outliers(
    metric: str,
    days: Sequence[date],
    values: Sequence[float] | np.ndarray,
    span: int = 20,
    k: float = 3.0,
    warmup: int = 7,
    weights: Sequence[float] | np.ndarray | None = None,
) -> list[Anomaly]:
    """Days whose value lies more than k·σ_t from the EWMA of the days before."""
    x = np.asarray(values, dtype=np.float64)
    band = ewma_band(x, span, k, weights)
    flags = []
    for t in range(max(warmup, 1), x.size):
        gap = x[t] - band.forecast[t]
        if band.half_width[t] > 0 and abs(gap) > band.half_width[t]:
            flags.append(
                Anomaly(
                    metric,
                    days[t],
                    "ewma_band",
                    "down" if gap < 0 else "up",
                    float(x[t]),
                    float(band.forecast[t]),
                    float(band.half_width[t] / k),
                )
            )
    return flags


def mean_shifts(
    metric: str,
    days: Sequence[date],
    values: Sequence[float] | np.ndarray,
    min_shift: float = 0.02,
    min_segment: int = 5,
) -> list[Anomaly]:
    """Level changes of the piecewise-constant fit with a jump ≥ max(min_shift, 2σ̂).

    Segments shorter than `min_segment` points are excursions, not levels: they are skipped
    and the next long segment is compared with the last long one (short glitches are the band
    detector's business; a shift at the very end shows once it has lasted `min_segment` days).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size < 4:
        return []
    sigma = noise_sigma(x)
    segments = piecewise_constant(x)
    ends = [*segments.starts[1:], x.size]
    flags = []
    level: float | None = None
    for start, end, mean in zip(segments.starts, ends, segments.means, strict=True):
        if end - start < min_segment:
            continue
        if level is not None and abs(mean - level) >= max(min_shift, 2.0 * sigma):
            flags.append(
                Anomaly(
                    metric,
                    days[start],
                    "mean_shift",
                    "down" if mean < level else "up",
                    mean,
                    level,
                    sigma,
                )
            )
        level = mean
    return flags


def detect(
    metric: str,
    days: Sequence[date],
    values: Sequence[float] | np.ndarray,
    span: int = 20,
    k: float = 3.0,
    min_shift: float = 0.02,
    weights: Sequence[float] | np.ndarray | None = None,
) -> list[Anomaly]:
    """Both detectors on one series, sorted by day."""
    found = band_outliers(metric, days, values, span, k, weights=weights)
    found += mean_shifts(metric, days, values, min_shift)
    return sorted(found, key=lambda a: (a.day, a.kind))


def pooled_drops(
    metric: str,
    days: Sequence[date],
    num: Sequence[float] | np.ndarray,
    den: Sequence[float] | np.ndarray,
    var_num: Sequence[float] | np.ndarray | None = None,
    window: int = 14,
    baseline: int = 28,
    z: float = 4.0,
    min_shift: float = 0.03,
) -> list[Anomaly]:
    """Days whose pooled `window`-day ratio fell below the pooled baseline before it."""
    n, d = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    flags = []
    for t in range(window + 7 - 1, n.size):  # at least a week of baseline
        w = slice(t - window + 1, t + 1)
        b = slice(max(0, t - window + 1 - baseline), t - window + 1)
        den_w, den_b = d[w].sum(), d[b].sum()
        if den_w <= 0 or den_b <= 0:
            continue
        r_w, r_b = n[w].sum() / den_w, n[b].sum() / den_b
        if var_num is None:
            var_w, var_b = r_w * (1 - r_w) / den_w, r_b * (1 - r_b) / den_b
        else:
            v = np.asarray(var_num, dtype=np.float64)
            var_w, var_b = v[w].sum() / den_w**2, v[b].sum() / den_b**2
        spread = float(np.sqrt(var_w + var_b))
        if r_b - r_w >= min_shift and spread > 0 and (r_b - r_w) / spread >= z:
            flags.append(Anomaly(metric, days[t], "pooled_drop", "down", r_w, r_b, spread))
    return flags


def alerts(
    anomalies: Sequence[Anomaly], since: date | None = None, settle_days: int = 20
) -> list[Anomaly]:
    """The anomalies that alert (module docstring), dated on or after `since` when given.

    A run of consecutive-day downward band flags alerts once, at its first day, when it is at
    least two days long. A run that starts within `settle_days` after a downward mean shift of
    the same metric is that incident's aftermath (the EWMA is still catching up with the new
    level) and does not alert again.
    """
    raised: list[Anomaly] = []
    series = sorted({(a.metric, a.source, a.segment) for a in anomalies})
    for metric, source, segment in series:
        if metric not in QUALITY_METRICS:
            continue
        mine = [
            a
            for a in anomalies
            if (a.metric, a.source, a.segment) == (metric, source, segment)
            and a.direction == "down"
        ]
        shifts = [a for a in mine if a.kind == "mean_shift"]
        raised += shifts
        for run in _runs([a for a in mine if a.kind == "ewma_band"]):
            first = run[0]
            aftermath = any(0 <= (first.day - s.day).days <= settle_days for s in shifts)
            if len(run) >= 2 and not aftermath:
                raised.append(first)
        last: date | None = None
        for run in _runs([a for a in mine if a.kind == "pooled_drop"]):
            if last is None or (run[0].day - last).days > settle_days:
                raised.append(run[0])
                last = run[0].day
    if since is not None:
        raised = [a for a in raised if a.day >= since]
    return sorted(raised, key=lambda a: (a.day, a.metric, a.kind, a.source, a.segment))


def _runs(flags: Sequence[Anomaly]) -> list[list[Anomaly]]:
    """Flags grouped into runs of consecutive days, oldest first."""
    runs: list[list[Anomaly]] = []
    for flag in sorted(flags, key=lambda a: a.day):
        if runs and (flag.day - runs[-1][-1].day).days == 1:
            runs[-1].append(flag)
        else:
            runs.append([flag])
    return runs
