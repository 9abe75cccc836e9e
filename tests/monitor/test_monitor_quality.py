"""The report on simulated histories: a drop in the last days seen from the scores, a drop
of the world under confident scores said to be invisible until labels come, a segment's drop
alerted with its name, and a clean history without any alert."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from bem.monitor.report import ReportOptions, build_report
from bem.monitor.simulate import simulate_history
from bem.monitor.store import open_store

END = date(2026, 11, 24)
DAYS = 60


def _summary(seed: int, labels_until: date | None = None, **drop: Any) -> dict[str, Any]:
    history = simulate_history(
        END, days=DAYS, pairs_per_day=800, seed=seed, labels_until=labels_until, **drop
    )
    engine = open_store("sqlite://")
    with engine.begin() as connection:
        history.store(connection)
    options = ReportOptions(end=END, days=DAYS, alert_window_days=0, render=False)
    with engine.connect() as connection:
        summary = build_report(connection, options).summary
    engine.dispose()
    return summary


@pytest.mark.slow
def test_report_alerts_a_shift_in_the_last_days_from_the_estimate() -> None:
    summary = _summary(11, drop_day=DAYS - 5, drop_kind="shift")
    drop = END - timedelta(days=5)
    estimated = [a for a in summary["alerts"] if a["source"] == "estimate"]
    assert estimated and all(a["segment"] == "all" for a in estimated)
    assert all(drop <= date.fromisoformat(a["day"]) < END for a in estimated)
    assert {a["metric"] for a in estimated} & {"precision", "f1"}
    open_days = summary["unlabelled_days"]
    assert len(open_days) >= 4 and open_days[-1] == (END - timedelta(days=1)).isoformat()
    last = summary["estimate"][-1]
    assert last["best_precision_source"] == "estimate" and last["best_precision"] < 0.84


@pytest.mark.slow
def test_report_is_blind_to_a_concept_drop_until_its_labels_arrive() -> None:
    before = _summary(12, drop_day=DAYS - 5, drop_kind="concept")
    assert not [a for a in before["alerts"] if a["source"] == "estimate"]
    assert "invisible until its labels arrive" in before["estimate_note"]
    after = _summary(
        12, labels_until=END + timedelta(days=12), drop_day=DAYS - 5, drop_kind="concept"
    )
    assert [a for a in after["alerts"] if a["source"] == "realised"]


@pytest.mark.slow
def test_report_names_the_segment_whose_precision_falls_while_the_total_holds() -> None:
    summary = _summary(
        13,
        drop_day=30,
        drop_kind="concept",
        drop_to=0.55,
        drop_segment=("travel_vendor", "Hilton"),
    )
    named = [a for a in summary["alerts"] if a["segment"] == "vendor=hilton"]
    assert named and named[0]["metric"] == "precision"
    assert date.fromisoformat(named[0]["day"]) >= END - timedelta(days=DAYS - 30)
    assert not [a for a in summary["alerts"] if a["segment"] == "all"]
    hilton = summary["segments"]["vendor=hilton"]
    assert hilton["dimension"] == "vendor" and hilton["precision"] < 0.8


@pytest.mark.slow
def test_report_raises_nothing_on_a_clean_history() -> None:
    summary = _summary(14)
    assert summary["alerts"] == []
    assert not any(g["broken"] for g in summary["calibration"])
    assert [v["model_version"] for v in summary["versions"]] == ["2026.1", "2026.2"]
