"""Smoothing and trend functions against pandas and against their formulas."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from bem.monitor import smoothing
from bem.monitor.anomalies import alerts, band_outliers, detect, mean_shifts


@pytest.fixture
def noisy() -> np.ndarray:
    return 0.9 + np.random.default_rng(4).normal(0, 0.02, 60)


@pytest.mark.parametrize("span", [3, 5, 10, 20])
def test_ewma_equals_pandas_ewm_span(noisy: np.ndarray, span: int) -> None:
    expected = pd.Series(noisy).ewm(span=span).mean().to_numpy()
    np.testing.assert_allclose(smoothing.ewma(noisy, span), expected, rtol=1e-12)
    np.testing.assert_allclose(smoothing.SMOOTHERS[f"ewma_{span}"](noisy), expected, rtol=1e-12)


@pytest.mark.parametrize("window", [3, 5, 7, 9])
def test_rolling_median_equals_pandas(noisy: np.ndarray, window: int) -> None:
    expected = pd.Series(noisy).rolling(window, min_periods=1).median().to_numpy()
    np.testing.assert_allclose(smoothing.SMOOTHERS[f"median_{window}"](noisy), expected)


def test_median_removes_a_single_spike() -> None:
    values = np.full(9, 0.9)
    values[4] = 0.1
    assert smoothing.median_3(values)[5] == pytest.approx(0.9)
    assert smoothing.ewma_3(values)[5] < 0.8  # the mean is pulled, the median is not


def test_trend_line_recovers_an_exact_line() -> None:
    values = 0.95 - 0.002 * np.arange(30)
    fit = smoothing.trend_line(values)
    assert fit.slope == pytest.approx(-0.002)
    assert fit.intercept == pytest.approx(0.95)
    np.testing.assert_allclose(fit.fitted, values)


def test_robust_trend_ignores_outliers_that_tilt_ols() -> None:
    rng = np.random.default_rng(1)
    values = 0.9 - 0.001 * np.arange(60) + rng.normal(0, 0.005, 60)
    values[50:54] = 0.2  # four broken days near the end
    ols, huber = smoothing.trend_line(values), smoothing.robust_trend(values)
    assert abs(huber.slope - -0.001) < 0.0003
    assert abs(ols.slope - -0.001) > 0.001


def test_robust_trend_agrees_with_sklearn_huber_on_clean_data() -> None:
    from sklearn.linear_model import HuberRegressor

    rng = np.random.default_rng(2)
    t = np.arange(80)
    values = 0.8 + 0.0005 * t + rng.normal(0, 0.01, 80)
    reference = HuberRegressor(epsilon=1.345, alpha=0.0).fit(t[:, None], values)
    assert smoothing.robust_trend(values).slope == pytest.approx(reference.coef_[0], abs=1e-4)


def test_noise_sigma_is_robust_to_a_mean_shift() -> None:
    rng = np.random.default_rng(3)
    values = np.r_[0.9 + rng.normal(0, 0.02, 50), 0.6 + rng.normal(0, 0.02, 50)]
    assert smoothing.noise_sigma(values) == pytest.approx(0.02, rel=0.3)


def test_piecewise_constant_finds_the_shift_and_uses_the_stated_penalty() -> None:
    rng = np.random.default_rng(5)
    values = np.r_[0.9 + rng.normal(0, 0.02, 40), 0.8 + rng.normal(0, 0.02, 30)]
    segments = smoothing.piecewise_constant(values)
    assert segments.starts[1:] == (40,)
    assert segments.means[0] == pytest.approx(values[:40].mean())
    sigma = smoothing.noise_sigma(values)
    assert segments.penalty == pytest.approx(4 * sigma**2 * np.log(70))
    flat = smoothing.piecewise_constant(0.9 + rng.normal(0, 0.02, 70))
    assert flat.starts == (0,)


def test_smoothers_refuse_missing_values() -> None:
    with pytest.raises(ValueError, match="finite"):
        smoothing.ewma_5([0.9, float("nan"), 0.8])


def _days(n: int) -> list[date]:
    return [date(2026, 1, 1) + timedelta(days=i) for i in range(n)]


def test_band_outliers_flag_points_far_from_the_previous_ewma() -> None:
    rng = np.random.default_rng(6)
    values = 0.9 + rng.normal(0, 0.01, 40)
    values[30] = 0.75
    flags = band_outliers("precision", _days(40), values)
    assert [(f.day, f.direction) for f in flags] == [(date(2026, 1, 31), "down")]
    assert flags[0].expected == pytest.approx(smoothing.ewma_20(values[:30])[-1])


def test_alerts_need_a_downward_shift_or_two_days_below_the_band() -> None:
    rng = np.random.default_rng(7)
    values = 0.9 + rng.normal(0, 0.01, 40)
    values[20] = 0.7  # one bad day: an anomaly, not an alert
    found = detect("precision", _days(40), values)
    assert any(a.kind == "ewma_band" for a in found)
    assert alerts(found) == []
    values[21] = 0.7  # two in a row: an alert at the first
    raised = alerts(detect("precision", _days(40), values))
    assert [(a.day, a.kind) for a in raised] == [(date(2026, 1, 21), "ewma_band")]


def test_alerts_ignore_upward_shifts_and_label_free_metrics() -> None:
    rng = np.random.default_rng(8)
    up = np.r_[0.8 + rng.normal(0, 0.01, 30), 0.9 + rng.normal(0, 0.01, 30)]
    shifts = mean_shifts("precision", _days(60), up)
    assert [(s.direction, s.day) for s in shifts] == [("up", date(2026, 1, 31))]
    down = up[::-1].copy()
    assert alerts(mean_shifts("match_rate", _days(60), down)) == []
    assert len(alerts(mean_shifts("recall", _days(60), down))) == 1


def test_band_outliers_allow_more_on_days_with_fewer_pairs() -> None:
    rng = np.random.default_rng(9)
    weights = np.full(40, 100.0)
    values = 0.9 + rng.normal(0, 0.3 / np.sqrt(weights))  # σ_t = 0.03 at 100 pairs
    values[30] = 0.78  # 4σ below at 100 pairs, but only 1.3σ at 10 pairs
    flagged = band_outliers("precision", _days(40), values, weights=weights)
    assert date(2026, 1, 31) in [f.day for f in flagged]
    weights[30] = 10.0
    quiet = band_outliers("precision", _days(40), values, weights=weights)
    assert date(2026, 1, 31) not in [f.day for f in quiet]
