"""Daily metrics in SQL against hand-computed figures, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner

from bem.cli import main
from bem.monitor.metrics_sql import daily_metrics, score_histogram, text_table
from bem.monitor.store import insert_results, open_store, upsert_labels
from budget_matcher.result_rows import COLUMN_NAMES, to_iso

# (pair, day, hour, version, score, matched, is_match or None, hours to resolution or None)
PAIRS = [
    ("p1", 1, 9, "v1", 0.9, True, True, 10.0),
    ("p2", 1, 10, "v1", 0.8, True, False, None),
    ("p3", 1, 11, "v1", 0.2, False, True, 30.0),
    ("p4", 1, 12, "v1", 0.1, False, False, None),
    ("p5", 1, 13, "v1", 0.7, True, None, None),
    ("p6", 1, 14, "v1", None, None, True, 1.0),  # an error item: not scored, not counted
    ("p7", 1, 23, "v2", 0.95, True, True, 5.0),
    ("p8", 2, 1, "v1", 0.6, True, True, 2.0),
    ("p9", 2, 2, "v1", 0.65, True, True, 4.0),
    ("p10", 2, 3, "v1", 0.99, True, True, 9.0),
]


def _load(db_url: str) -> None:
    result_rows, label_rows = [], []
    for pair, day, hour, version, score, matched, truth, hours in PAIRS:
        scored_at = datetime(2026, 11, day, hour, 15)
        row = dict.fromkeys(COLUMN_NAMES)
        row.update(
            request_id=f"r-{pair}",
            budget_id=f"b-{pair}",
            itemization_id=f"i-{pair}",
            scored_at=to_iso(scored_at),
            model_version=version,
            threshold=0.5,
            score=score,
            matched=matched,
        )
        result_rows.append(row)
        if truth is not None:
            label_rows.append(
                {
                    "budget_id": f"b-{pair}",
                    "itemization_id": f"i-{pair}",
                    "is_match": truth,
                    "labeled_at": scored_at + timedelta(days=3),
                    "resolved_at": scored_at + timedelta(hours=hours) if hours else None,
                    "source": "test",
                    "ingested_at": None,
                }
            )
    engine = open_store(db_url)
    with engine.begin() as connection:
        insert_results(connection, result_rows)
        upsert_labels(connection, label_rows)
    engine.dispose()


def test_daily_metrics_match_hand_computed_figures(db_url: str) -> None:
    _load(db_url)
    engine = open_store(db_url)
    with engine.connect() as connection:
        by_version = {(m.day, m.model_version): m for m in daily_metrics(connection)}
        overall = {m.day: m for m in daily_metrics(connection, by_version=False)}
    engine.dispose()

    first = by_version[(date(2026, 11, 1), "v1")]
    assert (first.volume, first.matched, first.labeled) == (5, 3, 4)
    assert (first.tp, first.fp, first.fn) == (1, 1, 1)
    assert first.match_rate == pytest.approx(0.6)
    assert first.precision == pytest.approx(0.5)
    assert first.recall == pytest.approx(0.5)
    assert first.f1 == pytest.approx(0.5)
    assert first.median_hours_to_completion == pytest.approx(20.0)  # mean of middle two

    second_day = by_version[(date(2026, 11, 2), "v1")]
    assert second_day.precision == pytest.approx(1.0)
    assert second_day.median_hours_to_completion == pytest.approx(4.0)  # odd count

    day_one = overall[date(2026, 11, 1)]
    assert day_one.model_version == "all"
    assert (day_one.volume, day_one.tp, day_one.fp, day_one.fn) == (6, 2, 1, 1)
    assert day_one.precision == pytest.approx(2 / 3)
    assert day_one.median_hours_to_completion == pytest.approx(10.0)


def test_daily_metrics_window_and_empty_denominators(db_url: str) -> None:
    _load(db_url)
    engine = open_store(db_url)
    with engine.connect() as connection:
        only_second = daily_metrics(
            connection, start=datetime(2026, 11, 2), end=datetime(2026, 11, 3)
        )
        v2 = next(m for m in daily_metrics(connection) if m.model_version == "v2")
    engine.dispose()
    assert [m.day for m in only_second] == [date(2026, 11, 2)]
    assert v2.recall == pytest.approx(1.0)
    assert v2.fn == 0 and v2.fp == 0


def test_score_histogram_counts_by_version(db_url: str) -> None:
    _load(db_url)
    engine = open_store(db_url)
    with engine.connect() as connection:
        histogram = score_histogram(connection, bins=10)
    engine.dispose()
    assert sum(histogram["v1"]) == 8 and sum(histogram["v2"]) == 1
    assert histogram["v1"][9] == 2  # 0.9 and 0.99
    assert histogram["v1"][1] == 1 and histogram["v1"][2] == 1  # 0.1 and 0.2
    assert histogram["v2"][9] == 1


def test_metrics_command_prints_csv(db_url: str) -> None:
    _load(db_url)
    result = CliRunner().invoke(
        main,
        [
            "monitor",
            "metrics",
            "--db",
            db_url,
            "--end",
            "2026-11-03",
            "--days",
            "5",
            "--all-versions",
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("day,model_version,volume")
    assert lines[1].startswith("2026-11-01,all,6,4,5,2,1,1,")


def test_text_table_pads_columns_rounds_floats_and_dashes_missing_figures() -> None:
    rows = [{"day": "2026-11-01", "model_version": "v1", "precision": 2 / 3, "recall": None}]
    lines = text_table(rows, ["day", "model_version", "precision", "recall"])
    assert lines == [
        "       day  model_vers   precision      recall",
        "2026-11-01          v1      0.6667           -",
    ]
    assert text_table([], ["day"]) == ["       day"]


def test_errors_command_lists_false_positives_and_negatives(db_url: str) -> None:
    _load(db_url)
    runner = CliRunner()
    common = ["--db", db_url, "--end", "2026-11-03", "--days", "5"]
    fp = runner.invoke(main, ["monitor", "errors", "fp", *common])
    assert fp.exit_code == 0, fp.output
    fp_rows = list(csv.DictReader(io.StringIO(fp.output)))
    assert [r["budget_id"] for r in fp_rows] == ["b-p2"]
    assert fp_rows[0]["score"] == "0.8" and fp_rows[0]["is_match"] in ("False", "0")
    fn = runner.invoke(main, ["monitor", "errors", "fn", *common, "--model-version", "v1"])
    assert [r["budget_id"] for r in csv.DictReader(io.StringIO(fn.output))] == ["b-p3"]
    none = runner.invoke(main, ["monitor", "errors", "fn", *common, "--model-version", "v2"])
    assert none.exit_code == 0 and "b-p" not in none.output


def test_errors_lists_a_pair_scored_again_once_at_its_latest_scoring(db_url: str) -> None:
    _load(db_url)
    again = dict.fromkeys(COLUMN_NAMES)
    again.update(
        request_id="r-p2-retry",
        budget_id="b-p2",
        itemization_id="i-p2",
        scored_at=to_iso(datetime(2026, 11, 2, 8, 0)),
        model_version="v1",
        threshold=0.5,
        score=0.7,
        matched=True,
    )
    engine = open_store(db_url)
    with engine.begin() as connection:
        insert_results(connection, [again])
    common = ["--db", db_url, "--end", "2026-11-03", "--days", "5"]

    fp = CliRunner().invoke(main, ["monitor", "errors", "fp", *common])

    rows = list(csv.DictReader(io.StringIO(fp.output)))
    assert [(r["budget_id"], r["request_id"], r["times_scored"]) for r in rows] == [
        ("b-p2", "r-p2-retry", "2")
    ]


def test_errors_command_neutralises_formula_cells(db_url: str) -> None:
    """Text from the data that a spreadsheet would run as a formula is written as text;
    numbers, negative ones included, stay numbers."""
    hostile = {
        "item_vendor": '=HYPERLINK("http://x","y")',
        "budget_type": "@SUM(1)",
        "travel_vendor": "+1+cmd|' /C calc'!A0",
        "purchase_vendor": "-2+3",
        "item_type": "\tTAB",
        "item_category": "\rCR",
        "actual_cost": -12.5,
    }
    row = dict.fromkeys(COLUMN_NAMES)
    row.update(request_id="r-x", budget_id="=b", itemization_id="i-x", model_version="v1",
               scored_at=to_iso(datetime(2026, 11, 2, 9)), threshold=0.5, score=0.9,
               matched=True, **hostile)  # fmt: skip
    engine = open_store(db_url)
    with engine.begin() as connection:
        insert_results(connection, [row])
        upsert_labels(connection, [{"budget_id": "=b", "itemization_id": "i-x", "is_match": False,
                                    "labeled_at": datetime(2026, 11, 3), "resolved_at": None,
                                    "source": "t", "ingested_at": None}])  # fmt: skip
    engine.dispose()
    result = CliRunner().invoke(
        main, ["monitor", "errors", "fp", "--db", db_url, "--end", "2026-11-03", "--days", "5"]
    )
    assert result.exit_code == 0, result.output
    (written,) = list(csv.DictReader(io.StringIO(result.output)))
    assert written["budget_id"] == "'=b"
    for column, value in hostile.items():
        expected = str(value) if column == "actual_cost" else "'" + str(value)
        assert written[column] == expected, column
