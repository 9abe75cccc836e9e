"""Alerting on simulated 90-day histories: the report's rule vs a fixed daily threshold.

For each seed, one history with a precision drop (0.90 → 0.75 on day 40 + 4·seed) and one
without, 800 pairs per weekday, labels after 1–10 days (bem.monitor.simulate), stored in a
temporary SQLite file. Prints, per seed, the first alert's distance in days from the drop and
the alerts on the clean history, for
  - report: `bem.monitor.report.build_report` (weighted EWMA band + piecewise-constant shifts)
  - naive:  any day (≥ 30 labels) whose precision is below 0.85

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/monitor_detection.py [first_seed] [seeds]
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path

from bem.monitor.report import ReportOptions, build_report
from bem.monitor.simulate import simulate_history
from bem.monitor.store import open_store

END = date(2026, 11, 24)
NAIVE_FLOOR = 0.85


def _alert_days(directory: Path, seed: int, drop_day: int | None) -> tuple[list, list, date | None]:
    history = simulate_history(END, pairs_per_day=800, seed=seed, drop_day=drop_day)
    engine = open_store(f"sqlite:///{directory / f'{seed}-{drop_day}.db'}")
    with engine.begin() as connection:
        history.store(connection)
    with engine.connect() as connection:
        report = build_report(connection, ReportOptions(end=END, alert_window_days=0))
    engine.dispose()
    reported = sorted({date.fromisoformat(a["day"]) for a in report.summary["alerts"]})
    naive = [
        date.fromisoformat(d["day"])
        for d in report.summary["daily"]
        if d["labeled"] >= 30 and d["precision"] is not None and d["precision"] < NAIVE_FLOOR
    ]
    return reported, naive, history.drop_date


def main() -> None:
    first = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    totals = {"report": [0, 0, 0], "naive": [0, 0, 0]}  # within 2 days, clean alerts, false days
    print("seed  drop        report: first alert Δdays, clean alerts | naive: Δdays, clean alerts")
    with tempfile.TemporaryDirectory() as directory:
        for seed in range(first, first + count):
            drop_day = 40 + 4 * (seed % 10)
            reported, naive, drop = _alert_days(Path(directory), seed, drop_day)
            clean_reported, clean_naive, _ = _alert_days(Path(directory), seed, None)
            assert drop is not None
            cells = []
            for name, days, clean in (
                ("report", reported, clean_reported),
                ("naive", naive, clean_naive),
            ):
                delta = (days[0] - drop).days if days else None
                totals[name][0] += delta is not None and abs(delta) <= 2
                totals[name][1] += bool(clean)
                totals[name][2] += sum(1 for d in days if (d - drop).days < -2)
                cells.append(f"{delta!s:>5} {len(clean):3d}")
            print(f"{seed:4d}  {drop}   {cells[0]:>20} | {cells[1]:>12}")
    for name, (found, noisy, early) in totals.items():
        print(
            f"{name:6s}: drop alerted within 2 days in {found}/{count}; clean histories with an "
            f"alert {noisy}/{count}; alerts more than 2 days before the drop {early}"
        )


if __name__ == "__main__":
    main()
