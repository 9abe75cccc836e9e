"""Monitoring takes what training takes: history files as labels, a pair counted once whatever
its scorings, unlisted pairs as negatives, and a report that says why a plot is missing."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from bem.cli import main
from bem.data.convert import template_csv
from bem.monitor.metrics_sql import daily_metrics
from bem.monitor.report import ReportOptions, build_report
from bem.monitor.store import insert_results, labels, open_store, upsert_labels
from budget_matcher.result_rows import COLUMN_NAMES, to_iso


def _scored(pair: tuple[str, str], request: str, hour: int, score: float, user: str = "u1") -> dict:
    row = dict.fromkeys(COLUMN_NAMES)
    row.update(
        request_id=request,
        user_id=user,
        budget_id=pair[0],
        itemization_id=pair[1],
        scored_at=to_iso(datetime(2026, 11, 2, hour)),
        model_version="1.4.0",
        threshold=0.5,
        score=score,
        matched=score >= 0.5,
    )
    return row


def _label(pair: tuple[str, str], truth: bool, user: str = "u1") -> dict:
    return {
        "user_key": user,
        "budget_id": pair[0],
        "itemization_id": pair[1],
        "is_match": truth,
        "labeled_at": datetime(2026, 11, 5),
        "resolved_at": None,
        "source": "test",
        "ingested_at": None,
    }


def test_label_reads_a_training_history_without_labeled_at(db_url: str, tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    history.write_text(template_csv().replace(",", ";"))
    result = CliRunner().invoke(main, ["monitor", "label", "--db", db_url, str(history)])
    assert result.exit_code == 0, result.output
    assert "2 labels stored, 0 rejected" in result.output
    engine = open_store(db_url)
    with engine.connect() as connection:
        stored = {r.itemization_id: r for r in connection.execute(sa.select(labels))}
    engine.dispose()
    assert {k: v.is_match for k, v in stored.items()} == {"4659496": False, "4659497": True}
    assert abs((stored["4659497"].labeled_at - datetime.utcnow()).total_seconds()) < 120


def test_a_pair_scored_three_times_counts_once(db_url: str) -> None:
    engine = open_store(db_url)
    with engine.begin() as connection:
        insert_results(
            connection,
            [_scored(("b1", "i1"), f"r{n}", 9 + n, 0.9) for n in range(3)]
            + [_scored(("b2", "i2"), "r9", 12, 0.8)],
        )
        upsert_labels(connection, [_label(("b1", "i1"), True), _label(("b2", "i2"), False)])
    with engine.connect() as connection:
        (day,) = daily_metrics(connection)
    engine.dispose()
    assert (day.volume, day.labeled, day.tp, day.fp) == (2, 2, 1, 1)
    assert day.precision == 0.5


def test_label_unlisted_pairs_of_labelled_users_become_negatives(
    db_url: str, tmp_path: Path
) -> None:
    engine = open_store(db_url)
    with engine.begin() as connection:
        insert_results(
            connection,
            [
                _scored(("b1", "i1"), "r1", 9, 0.9),
                _scored(("b1", "i2"), "r1", 9, 0.7),  # a false positive the file leaves out
                _scored(("b2", "i1"), "r1", 9, 0.1),
                _scored(("b7", "i7"), "r2", 10, 0.8, user="u2"),  # another user: untouched
            ],
        )
    history = tmp_path / "labels.csv"
    history.write_text("user_id,budget_id,itemization_id,is_match\nu1,b1,i1,1\n")
    result = CliRunner().invoke(
        main, ["monitor", "label", "--db", db_url, str(history), "--unlisted", "negative"]
    )
    assert result.exit_code == 0, result.output
    assert "1 labels stored, 2 unlisted pairs labelled no match" in result.output
    with engine.connect() as connection:
        stored = {
            (r.budget_id, r.itemization_id): r.is_match
            for r in connection.execute(sa.select(labels))
        }
        (day,) = daily_metrics(connection)
    engine.dispose()
    assert stored == {("b1", "i1"): True, ("b1", "i2"): False, ("b2", "i1"): False}
    assert (day.tp, day.fp, day.precision) == (1, 1, 0.5)


def test_report_says_why_a_plot_is_missing(db_url: str) -> None:
    engine = open_store(db_url)
    with engine.begin() as connection:
        rows = [_scored((f"b{n}", f"i{n}"), f"r{n}", 9, 0.9 if n % 2 else 0.1) for n in range(40)]
        insert_results(connection, rows)
        upsert_labels(connection, [_label((f"b{n}", f"i{n}"), bool(n % 2)) for n in range(40)])
    with engine.connect() as connection:
        report = build_report(connection, ReportOptions(end=date(2026, 11, 10), min_labels=30))
        sparse = build_report(connection, ReportOptions(end=date(2026, 11, 10), min_labels=50))
    engine.dispose()
    why = report.summary["missing_plots"]["precision"]
    assert why.startswith("no precision plot: only 2026-11-02 has enough labelled pairs")
    assert "precision 1.000 that day" in why
    assert "only 2026-11-02 has enough" in report.html
    assert "fewer labelled pairs than --min-labels 50" in sparse.summary["missing_plots"]["recall"]
