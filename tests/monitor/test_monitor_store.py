"""Store schema (create, migrate), labels and log ingestion on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from monitor_helpers import make_outcome

from bem.cli import main
from bem.monitor.labels import parse_labels, read_label_records
from bem.monitor.store import create_engine, ensure_schema, labels, open_store, results
from budget_matcher.result_rows import rows_from_outcome
from budget_matcher.results_sink import result_lines


def test_ensure_schema_is_idempotent(db_url: str) -> None:
    engine = create_engine(db_url)
    first = ensure_schema(engine)
    assert "created table scored_results" in first
    assert "created table match_labels" in first
    assert ensure_schema(engine) == []
    engine.dispose()


def test_ensure_schema_adds_missing_columns_and_keeps_rows(db_url: str) -> None:
    engine = create_engine(db_url)
    old = sa.MetaData()
    sa.Table(
        "scored_results",
        old,
        sa.Column("request_id", sa.String(), primary_key=True),
        sa.Column("budget_id", sa.String(), primary_key=True),
        sa.Column("itemization_id", sa.String(), primary_key=True),
        sa.Column("score", sa.Float()),
    )
    old.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO scored_results VALUES ('r', 'b', 'i', 0.7)"))
    actions = ensure_schema(engine)
    assert "added column scored_results.model_version" in actions
    assert "added column scored_results.item_vendor" in actions
    with engine.connect() as connection:
        row = connection.execute(sa.select(results)).one()
    assert row.score == 0.7 and row.model_version is None
    engine.dispose()


def test_label_command_reads_csv_and_json_and_newest_label_wins(
    db_url: str, tmp_path: Path
) -> None:
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text(
        "budget_id,itemization_id,is_match,labeled_at,resolved_at\n"
        "b1,i1,1,2026-11-21T10:00:00Z,2026-11-21T09:00:00Z\n"
        "b2,i2,no,2026-11-21 10:00:00,\n"
        "b3,,1,2026-11-21,\n"
    )
    json_file = tmp_path / "later.json"
    json_file.write_text(
        json.dumps(
            {
                "labels": [
                    {
                        "budget_id": "b2",
                        "itemization_id": "i2",
                        "is_match": True,
                        "labeled_at": "2026-11-23T08:00:00+01:00",
                    }
                ]
            }
        )
    )
    runner = CliRunner()
    first = runner.invoke(main, ["monitor", "label", "--db", db_url, str(csv_file)])
    assert first.exit_code == 0  # everything readable was stored; the rest is named by line
    assert "2 labels stored, 1 rejected" in first.output
    assert "line 4: itemization_id is missing" in first.output
    second = runner.invoke(main, ["monitor", "label", "--db", db_url, str(json_file)])
    assert second.exit_code == 0, second.output
    engine = open_store(db_url)
    with engine.connect() as connection:
        stored = {r.budget_id: r for r in connection.execute(sa.select(labels))}
    engine.dispose()
    assert set(stored) == {"b1", "b2"}
    assert stored["b1"].is_match is True
    assert stored["b1"].resolved_at == datetime(2026, 11, 21, 9, 0)
    assert stored["b2"].is_match is True
    assert stored["b2"].labeled_at == datetime(2026, 11, 23, 7, 0)


def test_parse_labels_rejects_bad_values_with_reasons(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(
        '{"budget_id": 7, "itemization_id": 8.0, "is_match": 0, "labeled_at": "2026-11-01"}\n'
        '{"budget_id": "b", "itemization_id": "i", "is_match": "maybe", "labeled_at": "2026"}\n'
        '{"budget_id": "b", "itemization_id": "i", "is_match": "1", "labeled_at": "soon"}\n'
    )
    load = parse_labels(read_label_records(path))
    assert [(r["budget_id"], r["itemization_id"], r["is_match"]) for r in load.rows] == [
        ("7", "8", False)
    ]
    assert len(load.rejected) == 2
    assert "not a boolean" in load.rejected[0]


def test_ingest_logs_loads_exports_once(db_url: str, tmp_path: Path, batch_payload: Any) -> None:
    rows_a = rows_from_outcome(make_outcome(batch_payload, "req-a"))
    rows_b = rows_from_outcome(make_outcome(batch_payload, "req-b"))
    plain = tmp_path / "export" / "000000.gz"
    plain.parent.mkdir()
    with gzip.open(plain, "wt") as handle:
        handle.write("2026-11-20T12:00:00.000Z START RequestId: x\n")
        for line in result_lines(rows_a):
            handle.write(f"2026-11-20T12:00:01.000Z {line}\n")
        handle.write('{"_aws": {"CloudWatchMetrics": []}, "PairsScored": [3]}\n')
    events = tmp_path / "events.json"
    events.write_text(
        json.dumps({"events": [{"timestamp": 1, "message": line} for line in result_lines(rows_b)]})
    )
    runner = CliRunner()
    arguments = ["monitor", "ingest-logs", "--db", db_url, str(plain.parent), str(events)]
    first = runner.invoke(main, arguments)
    assert first.exit_code == 0, first.output
    assert "result lines 2" in first.output
    again = runner.invoke(main, arguments)  # overlapping exports load nothing twice
    assert again.exit_code == 0, again.output
    engine = open_store(db_url)
    with engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(results)).scalar()
        versions = connection.execute(sa.select(results.c.model_version).distinct()).scalars()
        assert set(versions) == {"2026.1"}
    engine.dispose()
    assert count == len(rows_a) + len(rows_b)


def test_init_db_command_creates_then_reports_up_to_date(db_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["monitor", "init-db", "--db", db_url])
    assert first.exit_code == 0, first.output
    assert "created table scored_results" in first.output
    second = runner.invoke(main, ["monitor", "init-db", "--db", db_url])
    assert second.output.strip() == "schema up to date"


def test_ingest_logs_reads_a_log_group_through_filter_log_events(
    db_url: str, batch_payload: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from moto import mock_aws

    for name, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-west-2"),
    ):
        monkeypatch.setenv(name, value)
    rows = rows_from_outcome(make_outcome(batch_payload, "req-cw"))
    with mock_aws():
        logs = boto3.client("logs")
        logs.create_log_group(logGroupName="/aws/lambda/bem")
        logs.create_log_stream(
            logGroupName="/aws/lambda/bem", logStreamName="2026/11/20/[$LATEST]a"
        )
        now = int(datetime.now().timestamp() * 1000)
        messages = ["START RequestId: req-cw", *result_lines(rows), "END RequestId: req-cw"]
        logs.put_log_events(
            logGroupName="/aws/lambda/bem",
            logStreamName="2026/11/20/[$LATEST]a",
            logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
        )
        result = CliRunner().invoke(
            main, ["monitor", "ingest-logs", "--db", db_url, "--log-group", "/aws/lambda/bem"]
        )
    assert result.exit_code == 0, result.output
    assert f"result lines 1, rows {len(rows)}" in result.output
    engine = open_store(db_url)
    with engine.connect() as connection:
        stored = connection.execute(sa.select(results.c.request_id)).scalars().all()
    engine.dispose()
    assert stored == ["req-cw"] * len(rows)


def _count_results(db_url: str) -> int:
    engine = open_store(db_url)
    with engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(results)).scalar()
    engine.dispose()
    return int(count or 0)


def test_ingest_logs_loads_each_good_file_and_reports_the_bad(
    db_url: str, tmp_path: Path, batch_payload: Any
) -> None:
    good = []
    exports = tmp_path / "export"
    exports.mkdir()
    for n in range(2):
        rows = rows_from_outcome(make_outcome(batch_payload, f"req-{n}"))
        good += rows
        with gzip.open(exports / f"{n}-good.gz", "wt") as handle:
            handle.writelines(f"2026-11-20T12:00:01.000Z {line}\n" for line in result_lines(rows))
    bad_rows = rows_from_outcome(make_outcome(batch_payload, "req-bad"))
    whole = gzip.compress("".join(line + "\n" for line in result_lines(bad_rows)).encode())
    (exports / "1-truncated.gz").write_bytes(whole[: len(whole) // 2])
    (exports / "1-corrupt.gz").write_bytes(whole[:20] + b"\x00garbage" * 50 + whole[-8:])
    refused = [{**bad_rows[0], "scored_at": "2026-02-30T00:00:00"}, *bad_rows[1:]]
    (exports / "1-refused.log").write_text("\n".join(result_lines(refused)) + "\n")

    result = CliRunner().invoke(main, ["monitor", "ingest-logs", "--db", db_url, str(exports)])
    assert result.exit_code == 1, result.output
    assert "files 5, result lines 2" in result.output
    assert "unreadable: 3 files" in result.output
    for name in ("1-truncated.gz", "1-corrupt.gz", "1-refused.log"):
        assert f"not loaded {exports / name}" in result.output
    assert _count_results(db_url) == len(good)


def test_ingest_scores_loads_each_good_parquet_and_reports_the_bad(
    db_url: str, tmp_path: Path, batch_payload: Any
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = rows_from_outcome(make_outcome(batch_payload, "run-1"))
    scores = tmp_path / "scores"
    scores.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), scores / "part-0.parquet")
    (scores / "part-1.parquet").write_bytes(b"PAR1 not really parquet PAR1")
    pq.write_table(
        pa.Table.from_pylist([{**rows[0], "request_id": "run-2", "pair_index": 10**12}]),
        scores / "part-2.parquet",
    )
    result = CliRunner().invoke(main, ["monitor", "ingest-scores", str(scores), "--db", db_url])
    assert result.exit_code == 1, result.output
    assert "unreadable files 2" in result.output
    assert _count_results(db_url) == len(rows)
