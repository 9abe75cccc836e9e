"""Datadog's smoothing and trend functions as pure functions of an evenly spaced series.

Inputs are 1-D sequences of finite floats, one point per day, oldest first (drop days without
a value before calling). Every function returns a new float64 array of the same length, except
the fits, which also return their parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HUBER_K = 1.345  # 95 % efficiency under Gaussian noise
MAD_TO_SIGMA = 1.482602218505602  # 1 / Φ⁻¹(3/4)


def _series(values: Sequence[float] | np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("expected a 1-D series")
    if not np.all(np.isfinite(x)):
        raise ValueError("series must be finite (drop missing days first)")
    return x


def ewma(values: Sequence[float] | np.ndarray, span: int) -> np.ndarray:
    """Exponentially weighted moving average over a span of N points (pandas `ewm(span=N)`).

    α = 2 / (N + 1);  y_t = Σ_{i=0..t} (1−α)^i · x_{t−i} / Σ_{i=0..t} (1−α)^i
    (the bias-corrected form, pandas' `adjust=True`, so early points are not pulled to 0).
    """
    if span < 1:
        raise ValueError("span must be >= 1")
    x = _series(values)
    decay = 1.0 - 2.0 / (span + 1.0)
    out = np.empty_like(x)
    numerator = denominator = 0.0
    for t, value in enumerate(x):
        numerator = value + decay * numerator
        denominator = 1.0 + decay * denominator
        out[t] = numerator / denominator
    return out


def ewma_3(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """`ewma(values, 3)`: α = 0.5."""
    return ewma(values, 3)


def ewma_5(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """`ewma(values, 5)`: α = 1/3."""
    return ewma(values, 5)


def ewma_10(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """`ewma(values, 10)`: α = 2/11."""
    return ewma(values, 10)


def ewma_20(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """`ewma(values, 20)`: α = 2/21."""
    return ewma(values, 20)


def rolling_median(values: Sequence[float] | np.ndarray, window: int) -> np.ndarray:
    """Median of the last N points: y_t = median(x_{max(0, t−N+1)} … x_t).

    The first N−1 points use the points available (pandas `rolling(N, min_periods=1).median()`);
    an even count takes the mean of the middle two.
    """
    if window < 1:
        raise ValueError("window must be >= 1")
    x = _series(values)
    return np.array([np.median(x[max(0, t - window + 1) : t + 1]) for t in range(x.size)])


def median_3(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """`rolling_median(values, 3)`."""
    return rolling_median(values, 3)


def median_5(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """`rolling_median(values, 5)`."""
    return rolling_median(values, 5)


def median_7(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """`rolling_median(values, 7)`."""
    return rolling_median(values, 7)


def median_9(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """`rolling_median(values, 9)`."""
    return rolling_median(values, 9)


@dataclass(frozen=True)
class LineFit:
    """y ≈ intercept + slope · t with t = 0, 1, …, n−1 (slope per point, i.e. per day)."""

    intercept: float
    slope: float
    fitted: np.ndarray


def trend_line(values: Sequence[float] | np.ndarray) -> LineFit:
    """Ordinary least squares line: minimises Σ (x_t − a − b·t)²."""
    x = _series(values)
    if x.size == 0:
        return LineFit(float("nan"), float("nan"), x.copy())
    if x.size == 1:
        return LineFit(float(x[0]), 0.0, x.copy())
    t = np.arange(x.size, dtype=np.float64)
    slope, intercept = np.polyfit(t, x, 1)
    return LineFit(float(intercept), float(slope), intercept + slope * t)


def robust_scale(residuals: np.ndarray) -> float:
    """σ̂ = 1.4826 · median(|r − median(r)|): the MAD, scaled to σ under Gaussian noise."""
    if residuals.size == 0:
        return 0.0
    return float(MAD_TO_SIGMA * np.median(np.abs(residuals - np.median(residuals))))


def robust_trend(
    values: Sequence[float] | np.ndarray, k: float = HUBER_K, max_iter: int = 100
) -> LineFit:
    """Huber-loss line: minimises Σ ρ((x_t − a − b·t) / σ̂) by iteratively reweighted LS.

    ρ(u) = u²/2 for |u| ≤ k, k·|u| − k²/2 otherwise (k = 1.345), i.e. weights
    w_t = min(1, k / |u_t|); σ̂ = `robust_scale` of the current residuals, re-estimated each
    iteration; starts from the OLS line, stops when a and b move less than 1e-10.
    """
    start = trend_line(values)
    x = _series(values)
    if x.size < 3:
        return start
    t = np.arange(x.size, dtype=np.float64)
    design = np.column_stack([np.ones_like(t), t])
    intercept, slope = start.intercept, start.slope
    for _ in range(max_iter):
        residuals = x - (intercept + slope * t)
        scale = robust_scale(residuals)
        if scale <= 0.0:
            break
        u = np.abs(residuals) / scale
        weights = np.minimum(1.0, k / np.maximum(u, 1e-12))
        root = np.sqrt(weights)
        solution, *_ = np.linalg.lstsq(design * root[:, None], x * root, rcond=None)
        new_intercept, new_slope = float(solution[0]), float(solution[1])
        moved = abs(new_intercept - intercept) + abs(new_slope - slope)
        intercept, slope = new_intercept, new_slope
        if moved < 1e-10:
            break
    return LineFit(intercept, slope, intercept + slope * t)


def noise_sigma(values: Sequence[float] | np.ndarray) -> float:
    """σ̂ of the point-to-point noise: 1.4826 · MAD(x_t − x_{t−1}) / √2.

    Differencing removes the level, so one mean shift barely moves it (it is one outlying
    difference); √2 because the difference of two independent noises has variance 2σ².
    """
    x = _series(values)
    if x.size < 2:
        return 0.0
    return robust_scale(np.diff(x)) / np.sqrt(2.0)


@dataclass(frozen=True)
class Segments:
    """Constant pieces: `starts[j]` is the index where segment j begins, `means[j]` its level."""

    starts: tuple[int, ...]
    means: tuple[float, ...]
    fitted: np.ndarray
    penalty: float


def piecewise_constant(
    values: Sequence[float] | np.ndarray, penalty: float | None = None, min_size: int = 2
) -> Segments:
    """Constant segments by penalised change-point search (ruptures `KernelCPD(kernel="linear")`).

    Minimises Σ_segments Σ_{t∈s} (x_t − mean_s)² + β · (number of change points), solved
    exactly (PELT on the linear kernel); β = 4 · σ̂² · ln n with σ̂ = `noise_sigma(values)`
    unless `penalty` is given. Each segment is at least `min_size` points long.
    """
    x = _series(values)
    n = x.size
    if penalty is None:
        sigma = max(noise_sigma(x), 1e-9)
        penalty = 4.0 * sigma * sigma * float(np.log(max(n, 2)))
    if n < 2 * min_size:
        ends = [n]
    else:
        import ruptures

        ends = ruptures.KernelCPD(kernel="linear", min_size=min_size).fit(x).predict(pen=penalty)
    starts = [0, *ends[:-1]]
    fitted = np.empty_like(x)
    means = []
    for begin, end in zip(starts, ends, strict=True):
        level = float(x[begin:end].mean()) if end > begin else float("nan")
        fitted[begin:end] = level
        means.append(level)
    return Segments(tuple(int(s) for s in starts), tuple(means), fitted, float(penalty))


SMOOTHERS = {
    "ewma_3": ewma_3,
    "ewma_5": ewma_5,
    "ewma_10": ewma_10,
    "ewma_20": ewma_20,
    "median_3": median_3,
    "median_5": median_5,
    "median_7": median_7,
    "median_9": median_9,
}
