"""A synthetic production history: scored pairs and their delayed labels, day by day.

Each day d of `days` (ending the day before `end`) has Poisson(pairs_per_day · f_d) scored
pairs, f_d = 1 on weekdays and 0.4 at weekends, in requests of about 20 pairs. A pair is a true
match with probability `prevalence`; the model matches a true match with probability `recall`
and a non-match with the probability that gives `precision` (after `drop_day`: `drop_to`):
    fpr = prevalence · recall · (1 − precision) / (precision · (1 − prevalence)).
Scores agree with the decisions (matched ⇔ score ≥ threshold). The model version changes from
"2026.1" to "2026.2" at `version_day` (same quality). A fraction `label_rate` of pairs gets a
label 1–10 days after scoring (only labels dated before `end` exist yet); a true match's
resolved_at is scored_at + lognormal hours (median 20 h).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from budget_matcher.result_rows import COLUMN_NAMES, to_iso

THRESHOLD = 0.5
_BUDGET_TYPES = ("flight", "hotel", "car", "train")
_VENDORS = ("Southwest Airlines", "Delta", "United", "Marriott", "Hilton", "Hertz", "Amtrak")
_ITEM_TYPES = ("Airfare", "Hotel", "Car Rental", "Taxi", "Meals", "Train")


@dataclass(frozen=True)
class SimulatedHistory:
    """Rows for `scored_results`, rows for `match_labels`, and the day the drop began."""

    results: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    first_day: date
    drop_date: date | None


def _fpr(prevalence: float, recall: float, precision: float) -> float:
    return prevalence * recall * (1.0 - precision) / (precision * (1.0 - prevalence))


def simulate_history(
    end: date,
    days: int = 90,
    pairs_per_day: int = 1500,
    seed: int = 0,
    drop_day: int | None = None,
    precision: float = 0.90,
    drop_to: float = 0.75,
    recall: float = 0.85,
    prevalence: float = 0.12,
    label_rate: float = 0.9,
    version_day: int | None = 30,
) -> SimulatedHistory:
    """Generate the history (see the module docstring); `drop_day` is an index into the days."""
    rng = np.random.default_rng(seed)
    first_day = end - timedelta(days=days)
    cutoff = datetime.combine(end, datetime.min.time())
    results: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for d in range(days):
        day = first_day + timedelta(days=d)
        factor = 0.4 if day.weekday() >= 5 else 1.0
        n = int(rng.poisson(pairs_per_day * factor))
        level = drop_to if drop_day is not None and d >= drop_day else precision
        version = "2026.2" if version_day is not None and d >= version_day else "2026.1"
        truth = rng.random(n) < prevalence
        fpr = _fpr(prevalence, recall, level)
        matched = np.where(truth, rng.random(n) < recall, rng.random(n) < fpr)
        scores = _scores(rng, truth, matched)
        seconds = np.sort(rng.uniform(0, 86_400, n))
        labelled = rng.random(n) < label_rate
        delays = rng.uniform(1, 10, n)
        hours = rng.lognormal(np.log(20.0), 0.6, n)
        for i in range(n):
            scored_at = datetime.combine(day, datetime.min.time()) + timedelta(seconds=seconds[i])
            budget_id, item_id = f"b{d:03d}{i:05d}", f"i{d:03d}{i:05d}"
            results.append(
                _result_row(rng, f"sim-{d:03d}-{i // 20:04d}", budget_id, item_id, scored_at,
                            version, float(scores[i]), bool(matched[i]))
            )
            labeled_at = scored_at + timedelta(days=float(delays[i]))
            if labelled[i] and labeled_at < cutoff:
                resolved = scored_at + timedelta(hours=float(hours[i])) if truth[i] else None
                labels.append(
                    {
                        "budget_id": budget_id,
                        "itemization_id": item_id,
                        "is_match": bool(truth[i]),
                        "labeled_at": labeled_at,
                        "resolved_at": resolved,
                        "source": "simulation",
                        "ingested_at": cutoff,
                    }
                )
    drop_date = first_day + timedelta(days=drop_day) if drop_day is not None else None
    return SimulatedHistory(results, labels, first_day, drop_date)


def _scores(rng: np.random.Generator, truth: np.ndarray, matched: np.ndarray) -> np.ndarray:
    """Scores consistent with the decisions: above the threshold exactly when matched."""
    above = np.where(truth, rng.beta(5, 2, truth.size), rng.beta(1.5, 3, truth.size))
    below = np.where(truth, rng.beta(3, 1.5, truth.size), rng.beta(0.6, 4, truth.size))
    upper = THRESHOLD + (1 - THRESHOLD) * above
    lower = THRESHOLD * below * 0.999
    return np.round(np.where(matched, upper, lower), 4)


def _result_row(
    rng: np.random.Generator,
    request_id: str,
    budget_id: str,
    item_id: str,
    scored_at: datetime,
    version: str,
    score: float,
    matched: bool,
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    vendor = _VENDORS[int(rng.integers(len(_VENDORS)))]
    start = scored_at + timedelta(days=int(rng.integers(3, 30)))
    row.update(
        request_id=request_id,
        budget_id=budget_id,
        itemization_id=item_id,
        scored_at=to_iso(scored_at),
        model_version=version,
        threshold=THRESHOLD,
        score=score,
        matched=matched,
        user_id=f"u{int(rng.integers(5000)):04d}",
        budget_type=_BUDGET_TYPES[int(rng.integers(len(_BUDGET_TYPES)))],
        travel_vendor=vendor,
        purchase_vendor=vendor,
        budget_price=round(float(rng.uniform(80, 900)), 2),
        actual_cost=round(float(rng.uniform(80, 900)), 2),
        trip_start=to_iso(start),
        trip_end=to_iso(start + timedelta(days=int(rng.integers(1, 6)))),
        budget_generated_at=to_iso(scored_at - timedelta(days=2)),
        item_amount=round(float(rng.uniform(5, 900)), 2),
        item_date=to_iso(start),
        item_vendor=vendor if matched else _VENDORS[int(rng.integers(len(_VENDORS)))],
        item_type=_ITEM_TYPES[int(rng.integers(len(_ITEM_TYPES)))],
        item_category="travel",
        expense_type="Travel",
        expense_category="travel",
    )
    return row
