"""Quality before the labels, per segment: the report with the estimate vs the labels-only way.

For each seed, four simulated 60-day histories (`bem.monitor.simulate`, labels 1–10 days late,
model 2026.2 from day 30), each in an in-memory SQLite store, through `build_report` (no page
rendered):
  - clean:    no drop, 1500 pairs per weekday. Counts alerts (should be 0) and, on the days
              whose labels are all in (coverage ≥ 0.85: 10 days or older), the mean
              |estimated − realised| precision and the share of days whose realised precision
              lies inside the estimate's 95 % band.
The drop histories have 800 pairs per weekday:
  - shift:    "shift" drop to 0.75 from day 55 (the last 5 days): is it alerted from the
              estimate? The labels-only way (realised alerts of the whole traffic) is the naive.
              Then the labels of the next 12 days arrive: the mean (estimated − realised)
              precision over the drop days (as for the concept drop below).
  - concept:  "concept" drop to 0.75 from day 55: the estimate must stay quiet (invisible);
              then the labels of the next 12 days arrive, and the realised series or the
              calibration check must alert.
  - segment:  "concept" drop of vendor Hilton (12 % of pairs) to 0.55 from day 30: is it
              alerted with segment vendor=hilton? The naive way is the whole traffic alone.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/monitor_estimate.py [first_seed] [seeds]
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from typing import Any

import numpy as np

from bem.monitor.report import ReportOptions, build_report
from bem.monitor.simulate import SimulatedHistory, simulate_history
from bem.monitor.store import open_store, upsert_labels

END = date(2026, 11, 24)
DAYS, PAIRS_PER_DAY, CLEAN_PAIRS_PER_DAY, LAST5 = 60, 800, 1500, 55


def _summary(history: SimulatedHistory, extra_labels: list[dict[str, Any]] | None = None) -> dict:
    engine = open_store("sqlite://")
    with engine.begin() as connection:
        history.store(connection)
    options = ReportOptions(end=END, days=DAYS, alert_window_days=0, render=False)
    with engine.connect() as connection:
        before = build_report(connection, options).summary
    if extra_labels is None:
        engine.dispose()
        return {"before": before}
    with engine.begin() as connection:
        upsert_labels(connection, extra_labels)
    with engine.connect() as connection:
        after = build_report(connection, options).summary
    engine.dispose()
    return {"before": before, "after": after}


def _history(seed: int, pairs_per_day: int = PAIRS_PER_DAY, **drop: Any) -> SimulatedHistory:
    return simulate_history(END, days=DAYS, pairs_per_day=pairs_per_day, seed=seed, **drop)


def _alerts(summary: dict, source: str | None = None, segment: str | None = None) -> list[dict]:
    return [
        a
        for a in summary["alerts"]
        if (source is None or a["source"] == source)
        and (segment is None or a["segment"] == segment)
    ]


def _early(history: SimulatedHistory) -> SimulatedHistory:
    """The history with only the labels dated before END (the rest arrive later)."""
    early = [label for label in history.labels if label["labeled_at"].date() < END]
    return SimulatedHistory(history.results, early, history.first_day, history.drop_date)


def _drop_gap(summary: dict) -> float:
    """Mean (estimated − realised) precision over the drop days, once their labels are in."""
    drop = (END - timedelta(days=DAYS - LAST5)).isoformat()
    days = [e for e in summary["estimate"] if e["day"] >= drop and e["precision"] is not None]
    return float(np.mean([e["est_precision"] - e["precision"] for e in days]))


def main() -> None:
    first = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    tally = {k: 0 for k in ("clean", "shift_est", "shift_naive", "concept_est", "concept_after",
                            "segment", "segment_naive")}  # fmt: skip
    gaps: list[float] = []
    shift_gaps: list[float] = []
    concept_gaps: list[float] = []
    inside: list[float] = []
    started = time.perf_counter()
    print("seed  clean  |est-real| band  shift:est naive  concept:est after  segment:named naive")
    for seed in range(first, first + count):
        clean = _summary(_history(seed, CLEAN_PAIRS_PER_DAY))["before"]
        labelled = [e for e in clean["estimate"] if e["coverage"] >= 0.85 and e["precision"]]
        gap = float(np.mean([abs(e["est_precision"] - e["precision"]) for e in labelled]))
        cover = float(
            np.mean(
                [
                    abs(e["est_precision"] - e["precision"]) <= e["est_precision_half"]
                    for e in labelled
                ]
            )
        )
        gaps.append(gap)
        inside.append(cover)
        shift_history = _history(
            seed, drop_day=LAST5, drop_kind="shift", labels_until=END + timedelta(days=12)
        )
        shift_both = _summary(_early(shift_history), shift_history.labels)
        shift = shift_both["before"]
        shift_est = bool(_alerts(shift, "estimate", "all"))
        shift_naive = bool(_alerts(shift, "realised", "all"))
        shift_gaps.append(_drop_gap(shift_both["after"]))
        concept_history = _history(
            seed, drop_day=LAST5, drop_kind="concept", labels_until=END + timedelta(days=12)
        )
        concept = _summary(_early(concept_history), concept_history.labels)
        concept_gaps.append(_drop_gap(concept["after"]))
        concept_est = bool(_alerts(concept["before"], "estimate"))
        concept_after = bool(_alerts(concept["after"], "realised"))
        segment = _summary(
            _history(seed, drop_day=30, drop_kind="concept", drop_to=0.55,
                     drop_segment=("travel_vendor", "Hilton"))
        )["before"]  # fmt: skip
        named = bool(_alerts(segment, segment="vendor=hilton"))
        naive_segment = bool(_alerts(segment, "realised", "all"))
        for key, hit in (("clean", bool(clean["alerts"])), ("shift_est", shift_est),
                         ("shift_naive", shift_naive), ("concept_est", concept_est),
                         ("concept_after", concept_after), ("segment", named),
                         ("segment_naive", naive_segment)):  # fmt: skip
            tally[key] += hit
        print(
            f"{seed:4d}  {len(clean['alerts']):5d}  {gap:10.4f} {cover:4.2f}  "
            f"{shift_est!s:>9} {shift_naive!s:>5}  {concept_est!s:>11} {concept_after!s:>5}  "
            f"{named!s:>13} {naive_segment!s:>5}"
        )
    n = count
    print(f"\n{n} seeds, {DAYS} days, {CLEAN_PAIRS_PER_DAY} / {PAIRS_PER_DAY} pairs per weekday, "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    print(f"clean histories with an alert: {tally['clean']}/{n}")
    print(f"estimated vs realised precision, days with labels in: mean |gap| {np.mean(gaps):.4f} "
          f"(worst seed {max(gaps):.4f}); realised inside the 95 % band on "
          f"{100 * np.mean(inside):.1f} % of days")  # fmt: skip
    print(f"estimated − realised precision on the drop days once their labels are in: shift "
          f"{np.mean(shift_gaps):+.4f} (seeds {min(shift_gaps):+.3f}…{max(shift_gaps):+.3f}), "
          f"concept {np.mean(concept_gaps):+.4f} "
          f"(seeds {min(concept_gaps):+.3f}…{max(concept_gaps):+.3f})")  # fmt: skip
    print(f"shift drop in the last 5 days: alerted from the estimate {tally['shift_est']}/{n}; "
          f"labels-only way {tally['shift_naive']}/{n}")  # fmt: skip
    print(
        f"concept drop in the last 5 days: estimate alerts {tally['concept_est']}/{n} "
        f"(invisible); alerted once 12 more days of labels are in {tally['concept_after']}/{n}"
    )
    print(f"vendor=hilton drop: alerted with its segment {tally['segment']}/{n}; "
          f"whole-traffic labels-only way {tally['segment_naive']}/{n}")  # fmt: skip


if __name__ == "__main__":
    main()
