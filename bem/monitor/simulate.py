"""A synthetic production history: scored pairs and their delayed labels, day by day.

Each day d of `days` (ending the day before `end`) has Poisson(pairs_per_day · f_d) scored
pairs, f_d = 1 on weekdays and 0.4 at weekends, in requests of about 20 pairs. Scores are
calibrated: a pair's score s is drawn from a mixture (with probability 0.113 Beta(9, 1), else
Beta(0.5, 24)) and the pair is a true match with probability s; matched ⇔ s ≥ 0.5. That gives
prevalence ≈ 0.12, precision ≈ 0.90 (= E[s | s ≥ 0.5] = 0.901), recall ≈ 0.85.

From `drop_day` on, the pairs of `drop_segment` (all pairs when None) lose precision, down to
`drop_to`, in one of two ways (`drop_kind`):

- "shift": the inputs change and the model sees it. A fraction q = (0.901 − drop_to) /
  (0.901 − 0.625) of the matched pairs get a score drawn from U(0.5, 0.75) instead, and their
  truth follows that score: the scores stay calibrated, so an estimate from scores sees the drop.
- "concept": the world changes under confident scores. Scores are unchanged, but a matched pair
  is a true match with probability s · drop_to / 0.901: calibration breaks, only labels see it.

The model version changes from "2026.1" to "2026.2" at `version_day`. A fraction `label_rate`
of pairs gets a label 1–10 days after scoring; only labels dated before `labels_until`
(default `end`) exist yet. A true match's resolved_at is scored_at + lognormal hours (median 20).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from bem.monitor.store import insert_results, upsert_labels
from budget_matcher.result_rows import COLUMN_NAMES

THRESHOLD = 0.5
DROP_KINDS = ("shift", "concept")
BASE_MATCHED_MEAN = 0.901  # E[s | s ≥ 0.5] of the score mixture
_NEAR_LOW, _NEAR_HIGH = 0.5, 0.75  # where shifted pairs land (mean 0.625)
BUDGET_TYPES = ("flight", "hotel", "car", "train")
_BUDGET_WEIGHTS = (0.40, 0.35, 0.10, 0.15)
VENDORS = ("Delta", "Marriott", "United", "Hilton", "Southwest Airlines", "Hertz", "Amtrak")
_VENDOR_WEIGHTS = (0.26, 0.22, 0.16, 0.12, 0.10, 0.08, 0.06)
_ITEM_TYPES = ("Airfare", "Hotel", "Car Rental", "Taxi", "Meals", "Train")


@dataclass(frozen=True)
class SimulatedHistory:
    """Rows for `scored_results`, rows for `match_labels`, and the day the drop began."""

    results: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    first_day: date
    drop_date: date | None
    version_date: date | None = None

    def store(self, connection: Connection) -> None:
        """Write the results and the labels into the monitoring store on `connection`."""
        insert_results(connection, self.results)
        upsert_labels(connection, self.labels)


def parse_segment(text: str | None) -> tuple[str, str] | None:
    """ "budget_type=car" → ("budget_type", "car"); None stays None."""
    if not text:
        return None
    column, sep, value = text.partition("=")
    if not sep or column not in ("budget_type", "travel_vendor") or not value:
        raise ValueError(f"segment must be budget_type=VALUE or travel_vendor=VALUE, got {text!r}")
    return column, value


def _draw_scores(rng: np.random.Generator, n: int) -> np.ndarray:
    high = rng.random(n) < 0.113
    return np.where(high, rng.beta(9, 1, n), rng.beta(0.5, 24, n))


def _apply_drop(
    rng: np.random.Generator, scores: np.ndarray, affected: np.ndarray, kind: str, drop_to: float
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and truth probabilities of one day after a drop of `kind` on `affected` pairs."""
    truth_p = scores.copy()
    hit = affected & (scores >= THRESHOLD)
    if kind == "shift":
        q = np.clip((BASE_MATCHED_MEAN - drop_to) / (BASE_MATCHED_MEAN - 0.625), 0.0, 1.0)
        moved = hit & (rng.random(scores.size) < q)
        scores = np.where(moved, rng.uniform(_NEAR_LOW, _NEAR_HIGH, scores.size), scores)
        truth_p = scores
    elif kind == "concept":
        truth_p = np.where(hit, scores * drop_to / BASE_MATCHED_MEAN, scores)
    else:
        raise ValueError(f"drop kind must be one of {DROP_KINDS}, got {kind!r}")
    return scores, truth_p


def simulate_history(
    end: date,
    days: int = 90,
    pairs_per_day: int = 1500,
    seed: int = 0,
    drop_day: int | None = None,
    drop_to: float = 0.75,
    drop_kind: str = "concept",
    drop_segment: tuple[str, str] | None = None,
    label_rate: float = 0.9,
    version_day: int | None = 30,
    labels_until: date | None = None,
) -> SimulatedHistory:
    """Generate the history (see the module docstring); `drop_day` is an index into the days."""
    if drop_kind not in DROP_KINDS:
        raise ValueError(f"drop kind must be one of {DROP_KINDS}, got {drop_kind!r}")
    rng = np.random.default_rng(seed)
    first_day = end - timedelta(days=days)
    cutoff = np.datetime64((labels_until or end).isoformat(), "us")
    ingested = np.datetime64(end.isoformat(), "us").item()
    results: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for d in range(days):
        day = first_day + timedelta(days=d)
        n = int(rng.poisson(pairs_per_day * (0.4 if day.weekday() >= 5 else 1.0)))
        version = "2026.2" if version_day is not None and d >= version_day else "2026.1"
        inputs = _inputs(rng, n, np.datetime64(day.isoformat(), "us"))
        scores = _draw_scores(rng, n)
        truth_p = scores
        if drop_day is not None and d >= drop_day:
            affected = np.ones(n, dtype=bool)
            if drop_segment is not None:
                affected = np.array(inputs[drop_segment[0]]) == drop_segment[1]
            scores, truth_p = _apply_drop(rng, scores, affected, drop_kind, drop_to)
        scores = np.round(scores, 4)
        truth = rng.random(n) < truth_p
        matched = scores >= THRESHOLD
        midnight = np.datetime64(day.isoformat(), "us")
        scored = midnight + np.sort(rng.integers(0, 86_400_000_000, n)).astype("timedelta64[us]")
        labelled = rng.random(n) < label_rate
        labeled_at = scored + (rng.uniform(1, 10, n) * 86_400e6).astype("timedelta64[us]")
        resolved = scored + (rng.lognormal(np.log(20.0), 0.6, n) * 3_600e6).astype(
            "timedelta64[us]"
        )
        inputs["trip_start"] = (scored + inputs.pop("_lead")).astype(str).tolist()
        inputs["item_date"] = inputs["trip_start"]
        for i in range(n):
            budget_id, item_id = f"b{d:03d}{i:05d}", f"i{d:03d}{i:05d}"
            row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
            row.update({name: column[i] for name, column in inputs.items()})
            row.update(
                request_id=f"sim-{d:03d}-{i // 20:04d}",
                budget_id=budget_id,
                itemization_id=item_id,
                scored_at=str(scored[i]),
                budget_generated_at=str(scored[i] - np.timedelta64(2, "D")),
                model_version=version,
                threshold=THRESHOLD,
                score=float(scores[i]),
                matched=bool(matched[i]),
            )
            results.append(row)
            if labelled[i] and labeled_at[i] < cutoff:
                labels.append(
                    {
                        "user_key": row["user_id"],
                        "budget_id": budget_id,
                        "itemization_id": item_id,
                        "is_match": bool(truth[i]),
                        "labeled_at": labeled_at[i].item(),
                        "resolved_at": resolved[i].item() if truth[i] else None,
                        "source": "simulation",
                        "ingested_at": ingested,
                    }
                )
    drop_date = first_day + timedelta(days=drop_day) if drop_day is not None else None
    version_date = first_day + timedelta(days=version_day) if version_day is not None else None
    return SimulatedHistory(results, labels, first_day, drop_date, version_date)


def _inputs(rng: np.random.Generator, n: int, midnight: np.datetime64) -> dict[str, Any]:
    """Plausible investigation inputs (budget and line-item fields) for n pairs."""
    vendor = rng.choice(np.array(VENDORS), size=n, p=_VENDOR_WEIGHTS).tolist()
    lead = (rng.integers(3, 30, n) * 86_400_000_000).astype("timedelta64[us]")
    end = midnight + lead + (rng.integers(1, 6, n) * 86_400_000_000).astype("timedelta64[us]")
    return {
        "_lead": lead,
        "user_id": [f"u{u:04d}" for u in rng.integers(5000, size=n).tolist()],
        "budget_type": rng.choice(np.array(BUDGET_TYPES), size=n, p=_BUDGET_WEIGHTS).tolist(),
        "travel_vendor": vendor,
        "purchase_vendor": vendor,
        "budget_price": np.round(rng.uniform(80, 900, n), 2).tolist(),
        "actual_cost": np.round(rng.uniform(80, 900, n), 2).tolist(),
        "trip_end": end.astype(str).tolist(),
        "item_amount": np.round(rng.uniform(5, 900, n), 2).tolist(),
        "item_vendor": rng.choice(np.array(VENDORS), size=n).tolist(),
        "item_type": np.array(_ITEM_TYPES)[rng.integers(len(_ITEM_TYPES), size=n)].tolist(),
        "item_category": ["travel"] * n,
        "expense_type": ["Travel"] * n,
        "expense_category": ["travel"] * n,
    }
