"""Precision, recall and F1 estimated from calibrated scores, before the labels arrive.

Confidence-based performance estimation: when scores are calibrated, a pair with score s is a
true match with probability s, so over the pairs of one day (matched = s ≥ threshold)

    E[TP] = Σ_matched s        E[FP] = Σ_matched (1 − s)        E[FN] = Σ_unmatched s
    precision ≈ E[TP] / n_matched      recall ≈ E[TP] / (E[TP] + E[FN])
    F1 ≈ 2·E[TP] / (E[TP] + n_matched + E[FN])

and the band is ±1.96 σ with the truths taken as independent Bernoulli(s): Var TP = Σ_matched
s(1 − s), Var FN = Σ_unmatched s(1 − s), propagated by the delta method. The band is the spread
of the realised value of a fully labelled day *if calibration holds*; it says nothing about a
change that leaves the scores confident (concept drift), which only labels can show.

A day counts as labelled once its labels cover `min_coverage` of its pairs and number at least
`min_labels`; its realised figures then replace the estimate (`DayQuality.best`).

The estimate itself moves from day to day only as the scores that arrive move: the spread of
a pooled estimated precision is Σ (s − s̄)² / n² over the matched pairs (`matched_score_ss`),
much narrower than the band — what the pooled detector of a segment's estimate uses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np

from bem.monitor.pairs import Pairs

Z95 = 1.959963984540054
METRICS = ("precision", "recall", "f1")


@dataclass(frozen=True)
class DayQuality:
    """One day of one group of pairs: volume, labels, estimate with band, realised values."""

    day: date
    volume: int
    matched: int
    labeled: int
    coverage: float  # labelled share of the day's pairs
    labelled_day: bool  # enough labels: the realised value is the day's figure
    est_precision: float | None
    est_precision_half: float | None
    est_recall: float | None
    est_recall_half: float | None
    est_f1: float | None
    est_f1_half: float | None
    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    matched_score_ss: float = 0.0  # Σ over matched pairs of (s − their mean s)²

    def best(self, metric: str) -> tuple[float | None, str]:
        """The day's figure of `metric` and where it comes from ("realised" or "estimate")."""
        if self.labelled_day and getattr(self, metric) is not None:
            return getattr(self, metric), "realised"
        return getattr(self, f"est_{metric}"), "estimate"

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return data


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def _half(variance: float, denominator: float) -> float | None:
    return Z95 * float(np.sqrt(max(variance, 0.0))) if denominator > 0 else None


def estimate_from_sums(n_matched: int, s_m: float, v_m: float, s_u: float, v_u: float) -> dict:
    """Estimates and 95 % half-widths from the score sums (module docstring)."""
    recall_d = s_m + s_u
    f1_d = s_m + n_matched + s_u
    return {
        "est_precision": _ratio(s_m, n_matched),
        "est_precision_half": _half(v_m / n_matched**2, n_matched) if n_matched else None,
        "est_recall": _ratio(s_m, recall_d),
        "est_recall_half": _half((s_u**2 * v_m + s_m**2 * v_u) / recall_d**4, recall_d)
        if recall_d > 0
        else None,
        "est_f1": _ratio(2 * s_m, f1_d),
        "est_f1_half": _half(4 * ((n_matched + s_u) ** 2 * v_m + s_m**2 * v_u) / f1_d**4, f1_d)
        if f1_d > 0
        else None,
    }


def daily_quality(
    pairs: Pairs,
    mask: np.ndarray | None = None,
    min_labels: int = 30,
    min_coverage: float = 0.5,
) -> list[DayQuality]:
    """Per day (oldest first), over the pairs selected by `mask`: estimate and realised values."""
    keep = np.ones(len(pairs), dtype=bool) if mask is None else mask
    if not keep.any():
        return []
    days, index = np.unique(pairs.day[keep], return_inverse=True)
    score, matched = pairs.score[keep], pairs.matched[keep]
    label = pairs.label[keep]
    labelled = ~np.isnan(label)
    truth = labelled & (label == 1.0)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(index, weights=values.astype(np.float64), minlength=days.size)

    var = score * (1.0 - score)
    volume, n_matched, n_labelled = total(np.ones(score.size)), total(matched), total(labelled)
    s_m, v_m = total(np.where(matched, score, 0.0)), total(np.where(matched, var, 0.0))
    s_u, v_u = total(np.where(matched, 0.0, score)), total(np.where(matched, 0.0, var))
    mean_m = s_m / np.maximum(n_matched, 1)
    ss_m = total(np.where(matched, (score - mean_m[index]) ** 2, 0.0))
    tp = total(matched & truth)
    fp = total(matched & labelled & ~truth)
    fn = total(~matched & truth)
    out = []
    for i, day in enumerate(days):
        coverage = n_labelled[i] / volume[i] if volume[i] else 0.0
        t, f_p, f_n = int(tp[i]), int(fp[i]), int(fn[i])
        out.append(
            DayQuality(
                day=day.item(),
                volume=int(volume[i]),
                matched=int(n_matched[i]),
                labeled=int(n_labelled[i]),
                coverage=float(coverage),
                labelled_day=bool(n_labelled[i] >= min_labels and coverage >= min_coverage),
                **estimate_from_sums(int(n_matched[i]), s_m[i], v_m[i], s_u[i], v_u[i]),
                tp=t,
                fp=f_p,
                fn=f_n,
                precision=_ratio(t, t + f_p),
                recall=_ratio(t, t + f_n),
                f1=_ratio(2 * t, 2 * t + f_p + f_n),
                matched_score_ss=float(ss_m[i]),
            )
        )
    return out


def inverse_variance(half_width: float | None) -> float:
    """The weight of an estimate with 95 % half-width `half_width` (0 when unknown)."""
    if not half_width:
        return 0.0
    return float((Z95 / half_width) ** 2)
