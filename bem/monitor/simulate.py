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
from datetime import date, timedelta
from typing import Any

import numpy as np

from budget_matcher.result_rows import COLUMN_NAMES

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
    cutoff = np.datetime64(end.isoformat(), "us")
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
        midnight = np.datetime64(day.isoformat(), "us")
        scored = midnight + np.sort(rng.integers(0, 86_400_000_000, n)).astype("timedelta64[us]")
        labelled = rng.random(n) < label_rate
        labeled_at = scored + (rng.uniform(1, 10, n) * 86_400e6).astype("timedelta64[us]")
        resolved = scored + (rng.lognormal(np.log(20.0), 0.6, n) * 3_600e6).astype(
            "timedelta64[us]"
        )
        inputs = _inputs(rng, n, scored)
        for i in range(n):
            budget_id, item_id = f"b{d:03d}{i:05d}", f"i{d:03d}{i:05d}"
            row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
            row.update({name: column[i] for name, column in inputs.items()})
            row.update(
                request_id=f"sim-{d:03d}-{i // 20:04d}",
                budget_id=budget_id,
                itemization_id=item_id,
                scored_at=str(scored[i]),
                model_version=version,
                threshold=THRESHOLD,
                score=float(scores[i]),
                matched=bool(matched[i]),
            )
            results.append(row)
            if labelled[i] and labeled_at[i] < cutoff:
                labels.append(
                    {
                        "budget_id": budget_id,
                        "itemization_id": item_id,
                        "is_match": bool(truth[i]),
                        "labeled_at": labeled_at[i].item(),
                        "resolved_at": resolved[i].item() if truth[i] else None,
                        "source": "simulation",
                        "ingested_at": cutoff.item(),
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


def _inputs(rng: np.random.Generator, n: int, scored: np.ndarray) -> dict[str, list[Any]]:
    """Plausible investigation inputs (budget and line-item fields) for n pairs."""
    vendors = np.array(_VENDORS)
    vendor = vendors[rng.integers(len(_VENDORS), size=n)].tolist()
    start = scored + (rng.integers(3, 30, n) * 86_400_000_000).astype("timedelta64[us]")
    end = start + (rng.integers(1, 6, n) * 86_400_000_000).astype("timedelta64[us]")
    generated = scored - np.timedelta64(2, "D")
    return {
        "user_id": [f"u{u:04d}" for u in rng.integers(5000, size=n).tolist()],
        "budget_type": np.array(_BUDGET_TYPES)[rng.integers(len(_BUDGET_TYPES), size=n)].tolist(),
        "travel_vendor": vendor,
        "purchase_vendor": vendor,
        "budget_price": np.round(rng.uniform(80, 900, n), 2).tolist(),
        "actual_cost": np.round(rng.uniform(80, 900, n), 2).tolist(),
        "trip_start": start.astype(str).tolist(),
        "trip_end": end.astype(str).tolist(),
        "budget_generated_at": generated.astype(str).tolist(),
        "item_amount": np.round(rng.uniform(5, 900, n), 2).tolist(),
        "item_date": start.astype(str).tolist(),
        "item_vendor": vendors[rng.integers(len(_VENDORS), size=n)].tolist(),
        "item_type": np.array(_ITEM_TYPES)[rng.integers(len(_ITEM_TYPES), size=n)].tolist(),
        "item_category": ["travel"] * n,
        "expense_type": ["Travel"] * n,
        "expense_category": ["travel"] * n,
    }
