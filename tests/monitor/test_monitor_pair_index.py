"""`pair_index` (each stored pair's position in its answer) through every path of result rows
on SQLite and PostgreSQL: results sink, log lines, S3 objects; and the stores and log lines of
older versions, which have no such column."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner
from monitor_helpers import make_outcome

from bem.cli import main
from bem.monitor.ingest_s3 import ingest_s3
from bem.monitor.store import open_store, results
from budget_matcher import contract as c
from budget_matcher.result_rows import COLUMN_NAMES, rows_from_outcome
from budget_matcher.results_s3 import S3ResultsSink
from budget_matcher.results_sink import ResultsSink, gzip_lines, result_lines, spool_files

Key = tuple[str, str, str]


def _positions(rows: list[dict[str, Any]]) -> dict[Key, Any]:
    return {
        (r["user_id"] or "", r["budget_id"], r["itemization_id"]): r["pair_index"] for r in rows
    }


def _stored_positions(url: str, request_id: str) -> dict[Key, Any]:
    """(user, budget, item) -> stored pair_index of a request (None where the store has no
    such column)."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        present = {col["name"] for col in sa.inspect(connection).get_columns("scored_results")}
        index = "pair_index" if "pair_index" in present else "NULL"
        stored = connection.execute(
            sa.text(
                f"SELECT user_id, budget_id, itemization_id, {index} FROM scored_results "
                "WHERE request_id = :request_id"
            ),
            {"request_id": request_id},
        ).all()
    engine.dispose()
    return {(u or "", b, i): p for u, b, i, p in stored}


def _with_a_bad_budget(payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` with one budget whose price cannot be read: error items that name a pair."""
    broken = copy.deepcopy(payload)
    broken["users"][0][c.BUDGETS_KEY][0][c.BUDGET_PRICE] = "twelve"
    return broken


def test_rows_carry_their_position_among_the_answer_items(batch_payload: Any) -> None:
    outcome = make_outcome(_with_a_bad_budget(batch_payload))
    rows = rows_from_outcome(outcome)
    expected = [
        k
        for k, item in enumerate(outcome.items)
        if item.get(c.BUDGET_ID) is not None and item.get(c.ITEM_ID) is not None
    ]
    assert [row["pair_index"] for row in rows] == expected
    n_pairs = len(outcome.pairs) if outcome.pairs is not None else 0
    assert any(row["error_code"] for row in rows)
    assert all(row["pair_index"] >= n_pairs for row in rows if row["error_code"])


def test_sink_and_log_lines_keep_pair_index(
    db_url: str, batch_payload: Any, tmp_path: Path
) -> None:
    payload = _with_a_bad_budget(batch_payload)
    direct = rows_from_outcome(make_outcome(payload, "req-direct"))
    sink = ResultsSink(db_url=db_url, spool_dir=tmp_path / "spool", log_lines=False)
    assert sink.write(direct) == "db"
    sink.dispose()
    full = rows_from_outcome(make_outcome(payload, "req-full"))
    packed = rows_from_outcome(make_outcome(payload, "req-gzip"))
    logs = tmp_path / "logs.txt"
    logs.write_text("\n".join([*result_lines(full), *gzip_lines(packed)]) + "\n")
    result = CliRunner().invoke(main, ["monitor", "ingest-logs", "--db", db_url, str(logs)])
    assert result.exit_code == 0, result.output
    for request_id, rows in (("req-direct", direct), ("req-full", full), ("req-gzip", packed)):
        assert _stored_positions(db_url, request_id) == _positions(rows)


def test_ingest_s3_keeps_pair_index(aws: str, db_url: str, batch_payload: Any) -> None:
    import boto3

    client = boto3.client("s3", region_name="us-west-2", endpoint_url=aws)
    client.create_bucket(
        Bucket="bem-order", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    outcome = make_outcome(batch_payload, "req-s3")
    rows = rows_from_outcome(outcome)
    sink = S3ResultsSink("s3://bem-order/results", client=client)
    assert sink.write(rows, outcome.request_id, outcome.received_at) == "s3"
    engine = open_store(db_url)
    assert ingest_s3(engine, client, "s3://bem-order/results").objects == 1
    engine.dispose()
    assert _stored_positions(db_url, "req-s3") == _positions(rows)


def test_store_and_log_lines_from_before_pair_index(
    db_url: str, batch_payload: Any, tmp_path: Path
) -> None:
    """A store without the column takes the sink's rows without it (nothing spooled) until
    `bem monitor init-db` adds it; log lines without it load with no position."""
    engine = sa.create_engine(db_url)
    old = sa.MetaData()
    sa.Table(
        "scored_results",
        old,
        *(sa.Column(col.name, col.type, primary_key=col.primary_key) for col in results.columns
          if col.name != "pair_index"),
    )  # fmt: skip
    old.create_all(engine)
    engine.dispose()
    spool = tmp_path / "spool"
    rows_old = rows_from_outcome(make_outcome(batch_payload, "req-old"))
    sink = ResultsSink(db_url=db_url, spool_dir=spool, log_lines=False)
    assert sink.write(rows_old) == "db"
    sink.dispose()
    assert spool_files(spool) == []
    assert set(_stored_positions(db_url, "req-old").values()) == {None}

    migrated = CliRunner().invoke(main, ["monitor", "init-db", "--db", db_url])
    assert migrated.exit_code == 0, migrated.output
    assert "added column scored_results.pair_index" in migrated.output
    rows_new = rows_from_outcome(make_outcome(batch_payload, "req-new"))
    sink = ResultsSink(db_url=db_url, spool_dir=spool, log_lines=False)
    assert sink.write(rows_new) == "db"
    sink.dispose()
    assert _stored_positions(db_url, "req-new") == _positions(rows_new)
    assert set(_stored_positions(db_url, "req-old").values()) == {None}

    older = [name for name in COLUMN_NAMES if name != "pair_index"]
    rows_line = rows_from_outcome(make_outcome(batch_payload, "req-old-line"))
    line = json.dumps({"bem_results": 1, "cols": older,
                       "rows": [[row[name] for name in older] for row in rows_line]})  # fmt: skip
    logs = tmp_path / "old.log"
    logs.write_text(f"2026-11-20T12:00:01.000Z {line}\n")
    result = CliRunner().invoke(main, ["monitor", "ingest-logs", "--db", db_url, str(logs)])
    assert result.exit_code == 0, result.output
    stored = _stored_positions(db_url, "req-old-line")
    assert set(stored) == set(_positions(rows_line)) and set(stored.values()) == {None}
