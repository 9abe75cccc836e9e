"""Units of the label-free view: the estimate's formulas, calibration, segments, the pooled
detector and the attribution of alerts to versions."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from bem.monitor.anomalies import Anomaly, alerts, pooled_drops
from bem.monitor.attribution import attribute, version_spans
from bem.monitor.calibration import calibration_anomalies, calibration_groups
from bem.monitor.estimate import daily_quality, estimate_from_sums
from bem.monitor.metrics_sql import DailyMetrics
from bem.monitor.pairs import Pairs, normalise_vendor
from bem.monitor.segments import segment_masks

DAY0 = date(2026, 11, 2)  # a Monday


def _pairs(
    score: np.ndarray,
    label: np.ndarray,
    days: np.ndarray | None = None,
    vendor: list[str] | None = None,
    budget_type: list[str] | None = None,
    version: str = "2026.1",
) -> Pairs:
    n = score.size
    day = np.array([DAY0], dtype="datetime64[D]").repeat(n) if days is None else days
    return Pairs(
        day=day,
        model_version=np.array([version] * n, dtype=object),
        score=score,
        matched=score >= 0.5,
        budget_type=np.array(budget_type or ["hotel"] * n, dtype=object),
        vendor=np.array(vendor or ["delta"] * n, dtype=object),
        label=label,
        label_age_days=np.where(np.isnan(label), np.nan, 3.0),
    )


def test_estimate_from_sums_follows_the_formulas() -> None:
    # scores 0.9, 0.8 matched; 0.3, 0.1 not: E[TP] = 1.7, E[FN] = 0.4
    s = np.array([0.9, 0.8, 0.3, 0.1])
    m, u = s[:2], s[2:]
    got = estimate_from_sums(2, m.sum(), (m * (1 - m)).sum(), u.sum(), (u * (1 - u)).sum())
    assert got["est_precision"] == pytest.approx(0.85)
    assert got["est_recall"] == pytest.approx(1.7 / 2.1)
    assert got["est_f1"] == pytest.approx(3.4 / (1.7 + 2 + 0.4))
    assert got["est_precision_half"] == pytest.approx(1.959964 * np.sqrt(0.09 + 0.16) / 2)


def test_estimate_band_holds_the_realised_value_when_scores_are_calibrated() -> None:
    rng = np.random.default_rng(3)
    n_days, per_day = 40, 600
    score = np.where(rng.random(n_days * per_day) < 0.2, rng.beta(6, 1.5, n_days * per_day),
                     rng.beta(0.6, 8, n_days * per_day))  # fmt: skip
    label = (rng.random(score.size) < score).astype(float)
    days = (np.datetime64(DAY0) + np.repeat(np.arange(n_days), per_day)).astype("datetime64[D]")
    quality = daily_quality(_pairs(score, label, days))
    real = np.array([q.precision for q in quality], dtype=float)
    est = np.array([q.est_precision for q in quality], dtype=float)
    half = np.array([q.est_precision_half for q in quality], dtype=float)
    assert 0.85 <= np.mean(np.abs(real - est) <= half) <= 1.0
    assert abs(np.mean(real - est)) < 0.01
    # a broken world (true matches at 0.7 × score among matched) leaves the estimate where it was
    broken = np.where(score >= 0.5, rng.random(score.size) < 0.7 * score, label).astype(float)
    worse = daily_quality(_pairs(score, broken, days))
    assert [q.est_precision for q in worse] == [q.est_precision for q in quality]
    assert np.mean(np.array([q.precision for q in worse], dtype=float)) < np.mean(real) - 0.15


def test_day_is_labelled_only_with_enough_coverage() -> None:
    score = np.full(100, 0.8)
    label = np.where(np.arange(100) < 40, 1.0, np.nan)
    (q,) = daily_quality(_pairs(score, label), min_labels=30, min_coverage=0.5)
    assert not q.labelled_day and q.best("precision") == (pytest.approx(0.8), "estimate")
    (q,) = daily_quality(_pairs(score, np.ones(100)), min_labels=30, min_coverage=0.5)
    assert q.labelled_day and q.best("precision") == (1.0, "realised")


def test_calibration_flags_a_break_among_matched_pairs_only_when_it_happens() -> None:
    rng = np.random.default_rng(5)
    n = 14 * 500
    score = np.where(rng.random(n) < 0.15, rng.beta(9, 1, n), rng.beta(0.5, 20, n))
    days = (np.datetime64(DAY0) + np.repeat(np.arange(14), 500)).astype("datetime64[D]")
    truth_p = np.where((days >= np.datetime64(DAY0 + timedelta(days=7))) & (score >= 0.5),
                       0.75 * score, score)  # fmt: skip
    label = (rng.random(n) < truth_p).astype(float)
    groups = calibration_groups(_pairs(score, label, days))
    weekly = {g.week: g for g in groups if g.week is not None}
    assert set(weekly) == {DAY0, DAY0 + timedelta(days=7)}
    assert not weekly[DAY0].broken
    assert weekly[DAY0 + timedelta(days=7)].broken
    (flag,) = calibration_anomalies(groups)
    assert (flag.day, flag.kind, flag.segment) == (
        DAY0 + timedelta(days=7),
        "matched_ece",
        "model_version=2026.1",
    )


def test_segments_name_budget_types_top_vendors_the_rest_and_label_ages() -> None:
    vendors = ["delta"] * 5 + ["marriott"] * 4 + ["hertz"] * 2 + ["amtrak"]
    label = np.array([1.0, 0.0] * 5 + [np.nan, np.nan])
    pairs = _pairs(np.full(12, 0.7), label, vendor=vendors, budget_type=["car"] * 6 + [""] * 6)
    masks = segment_masks(pairs, vendors=2)
    assert set(masks) == {
        "budget_type=car",
        "budget_type=unknown",
        "vendor=delta",
        "vendor=marriott",
        "vendor=other",
        "label_age=0-2d",
        "label_age=2-5d",
        "label_age=5d+",
    }
    assert masks["vendor=other"][1].sum() == 3
    assert masks["label_age=2-5d"][1].sum() == 10  # the labelled ones (age 3 days)
    assert normalise_vendor("  DELTA   Air ") == "delta air"


def test_pooled_drop_finds_a_small_segment_drop_and_not_noise() -> None:
    rng = np.random.default_rng(1)
    days = [DAY0 + timedelta(days=i) for i in range(60)]
    den = rng.poisson(15, 60).astype(float)
    p = np.where(np.arange(60) >= 35, 0.6, 0.9)
    num = rng.binomial(den.astype(int), p).astype(float)
    found = pooled_drops("precision", days, num, den)
    assert found and found[0].day >= days[35]
    raised = alerts(found)
    assert len(raised) == 1  # one run of flags, one alert
    clean = rng.binomial(den.astype(int), 0.9).astype(float)
    assert pooled_drops("precision", days, clean, den) == []


def _daily(day: date, version: str, volume: int) -> DailyMetrics:
    return DailyMetrics(day, version, volume, 0, 0, 0, 0, 0, None, None, None, None, None)


def test_attribution_blames_the_version_a_drop_starts_with_and_nothing_earlier() -> None:
    rows = [_daily(DAY0 + timedelta(days=i), "2026.1", 100) for i in range(20)]
    rows += [_daily(DAY0 + timedelta(days=i), "2026.2", 5 if i < 10 else 200) for i in range(20)]
    spans = version_spans(rows)
    assert [(s.model_version, s.first_day) for s in spans] == [
        ("2026.1", DAY0),
        ("2026.2", DAY0 + timedelta(days=10)),
    ]

    def alert(day: int) -> Anomaly:
        return Anomaly(
            "precision", DAY0 + timedelta(days=day), "mean_shift", "down", 0.7, 0.9, 0.01
        )

    assert attribute(alert(12), spans).attributed
    assert attribute(alert(12), spans).model_version == "2026.2"
    late = attribute(alert(19), spans)
    assert not late.attributed and late.model_version == "2026.2"
    early = attribute(alert(8), spans)
    assert not early.attributed and early.model_version == "2026.1"
