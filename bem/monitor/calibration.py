"""Calibration over time: reliability bins and expected calibration error (ECE) per model
version and per week, over labelled pairs, and the alert when calibration breaks.

- Reliability: the scores cut into `bins` equal bins of [0, 1]; per bin the pair count, the mean
  score and the observed match rate.
- ECE = Σ_b (n_b / N) · |match rate_b − mean score_b| over those bins; "matched ECE" is the same
  over the matched pairs only (scores ≥ threshold, `bins // 2` bins of [threshold, 1]): the
  region where decisions are made, which the mass of low scores would otherwise hide.
- A perfectly calibrated model still shows some ECE on a finite sample. The limit of a group is
  the 99th percentile of its ECE under calibration (`draws` simulated label sets, y ~ Bernoulli
  of the group's own scores) plus `margin` (0.02); a week above its limit is broken, and the
  first broken week of a run alerts (`calibration_alerts`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np

from bem.monitor.anomalies import Anomaly
from bem.monitor.pairs import Pairs


@dataclass(frozen=True)
class CalibrationGroup:
    """One model version over one week (or the whole period: week None)."""

    model_version: str
    week: date | None
    pairs: int
    ece: float
    ece_limit: float
    matched_pairs: int
    matched_ece: float | None
    matched_ece_limit: float | None
    bins: list[dict[str, float]]

    @property
    def broken(self) -> bool:
        """ECE or matched ECE above its limit."""
        over_all = self.ece > self.ece_limit
        over_matched = self.matched_ece is not None and self.matched_ece > (
            self.matched_ece_limit or 0.0
        )
        return over_all or over_matched

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["week"] = self.week.isoformat() if self.week else None
        data["broken"] = self.broken
        return data


def _edges(low: float, bins: int) -> np.ndarray:
    return np.linspace(low, 1.0, bins + 1)


def _ece(score: np.ndarray, truth: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """ECE of each row of `truth` (2-D: label sets) against the same scores."""
    index = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, edges.size - 2)
    total = np.zeros(truth.shape[0])
    for b in np.unique(index):
        inside = index == b
        gap = truth[:, inside].mean(axis=1) - score[inside].mean()
        total += inside.sum() / score.size * np.abs(gap)
    return total


def ece_with_limit(
    score: np.ndarray,
    truth: np.ndarray,
    edges: np.ndarray,
    rng: np.random.Generator,
    draws: int = 200,
    margin: float = 0.02,
) -> tuple[float, float]:
    """(ECE, limit): the limit is the 99th percentile under calibration plus `margin`."""
    observed = float(_ece(score, truth[None, :].astype(np.float64), edges)[0])
    simulated = (rng.random((draws, score.size)) < score).astype(np.float64)
    return observed, float(np.quantile(_ece(score, simulated, edges), 0.99)) + margin


def reliability(score: np.ndarray, truth: np.ndarray, edges: np.ndarray) -> list[dict[str, float]]:
    """Per non-empty bin: its lower edge, pair count, mean score and observed match rate."""
    index = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, edges.size - 2)
    out = []
    for b in np.unique(index):
        inside = index == b
        out.append(
            {
                "low": float(edges[b]),
                "pairs": float(inside.sum()),
                "mean_score": float(score[inside].mean()),
                "match_rate": float(truth[inside].mean()),
            }
        )
    return out


def _group(
    version: str,
    week: date | None,
    score: np.ndarray,
    truth: np.ndarray,
    threshold: float,
    bins: int,
    seed: int,
) -> CalibrationGroup:
    rng = np.random.default_rng(seed)
    ece, limit = ece_with_limit(score, truth, _edges(0.0, bins), rng)
    high = score >= threshold
    matched_ece = matched_limit = None
    if high.sum() >= 10:
        matched_ece, matched_limit = ece_with_limit(
            score[high], truth[high], _edges(threshold, max(bins // 2, 1)), rng
        )
    return CalibrationGroup(
        version,
        week,
        int(score.size),
        ece,
        limit,
        int(high.sum()),
        matched_ece,
        matched_limit,
        reliability(score, truth, _edges(0.0, bins)),
    )


def calibration_groups(
    pairs: Pairs, threshold: float = 0.5, bins: int = 10, min_pairs: int = 100, seed: int = 0
) -> list[CalibrationGroup]:
    """Per model version: the whole period (week None), then each week with `min_pairs` labels."""
    labelled = pairs.labelled
    monday = pairs.day - ((pairs.day.astype("datetime64[D]").astype(np.int64) + 3) % 7)
    groups: list[CalibrationGroup] = []
    for version in sorted(set(pairs.model_version[labelled].tolist())):
        mine = labelled & (pairs.model_version == version)
        groups.append(
            _group(version, None, pairs.score[mine], pairs.label[mine], threshold, bins, seed)
        )
        for week in np.unique(monday[mine]):
            inside = mine & (monday == week)
            if inside.sum() >= min_pairs:
                groups.append(
                    _group(
                        version,
                        week.item(),
                        pairs.score[inside],
                        pairs.label[inside],
                        threshold,
                        bins,
                        seed,
                    )
                )
    return groups


def calibration_anomalies(groups: list[CalibrationGroup]) -> list[Anomaly]:
    """One flag per broken weekly group, dated at the week's Monday (metric "calibration")."""
    found = []
    for g in groups:
        if g.week is None or not g.broken:
            continue
        matched_over = g.matched_ece is not None and g.matched_ece > (g.matched_ece_limit or 0)
        value = g.matched_ece if matched_over else g.ece
        limit = g.matched_ece_limit if matched_over else g.ece_limit
        found.append(
            Anomaly(
                "calibration",
                g.week,
                "matched_ece" if matched_over else "ece",
                "up",
                float(value or 0.0),
                float(limit or 0.0),
                0.0,
                "realised",
                f"model_version={g.model_version}",
            )
        )
    return found


def calibration_alerts(
    flags: list[Anomaly], quality_alerts: list[Anomaly], echo_days: int = 14
) -> list[Anomaly]:
    """The first week of each run of consecutive broken weeks of a version alerts, unless a
    realised quality alert of the whole traffic within `echo_days` of it already tells the
    same incident (with a sharper day)."""
    totals = [a.day for a in quality_alerts if a.segment == "all" and a.source == "realised"]
    raised = []
    for version in sorted({f.segment for f in flags}):
        previous: date | None = None
        for flag in sorted((f for f in flags if f.segment == version), key=lambda f: f.day):
            first_of_run = previous is None or (flag.day - previous).days > 7
            previous = flag.day
            echo = any(abs((flag.day - day).days) <= echo_days for day in totals)
            if first_of_run and not echo:
                raised.append(flag)
    return raised
