"""Results sink: rows from outcomes, result log lines, database faults, spool and replay."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from monitor_helpers import make_outcome

from bem.monitor.store import open_store, results
from budget_matcher.result_rows import COLUMN_NAMES, rows_from_outcome
from budget_matcher.results_sink import (
    ResultsSink,
    gzip_lines,
    result_lines,
    rows_from_line,
    spool_files,
)

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"


def _stored(url: str) -> list[Any]:
    engine = open_store(url)
    with engine.connect() as connection:
        rows = list(
            connection.execute(
                sa.select(results).order_by(results.c.request_id, results.c.budget_id)
            ).all()
        )
    engine.dispose()
    return rows


def test_rows_from_outcome_carry_decision_and_inputs(batch_payload: Any) -> None:
    outcome = make_outcome(batch_payload)
    rows = rows_from_outcome(outcome)
    scored = [item for item in outcome.items if item.get("score") is not None]
    assert len(rows) == len(scored) > 0
    first = rows[0]
    assert first["request_id"] == "req-1"
    assert first["scored_at"] == "2026-11-20T12:30:00.000000"
    assert first["model_version"] == "2026.1" and first["threshold"] == 0.5
    assert first["score"] == scored[0]["score"] and first["matched"] == scored[0]["matched"]
    assert first["budget_type"] == "flight"
    assert first["travel_vendor"] == "Southwest Airlines"
    assert first["budget_price"] == 140.0
    assert first["trip_start"] == "2017-04-18T04:00:00.000000"
    assert first["item_amount"] is not None and first["item_date"] is not None
    assert set(first) == set(COLUMN_NAMES)


def test_result_lines_round_trip_and_stay_under_the_size_bound(batch_payload: Any) -> None:
    rows = rows_from_outcome(make_outcome(batch_payload)) * 40
    lines = result_lines(rows, max_bytes=4000)
    assert len(lines) > 1
    assert all(len(line.encode()) <= 4000 for line in lines)
    back = [row for line in lines for row in rows_from_line(line) or []]
    assert back == rows


def test_rows_from_line_reads_wrapped_cloudwatch_forms(batch_payload: Any) -> None:
    rows = rows_from_outcome(make_outcome(batch_payload))
    line = result_lines(rows)[0]
    exported = f"2026-11-20T12:30:00.000Z {line}"
    wrapped = json.dumps({"level": "INFO", "message": json.loads(line)})
    assert rows_from_line(exported) == rows
    assert rows_from_line(wrapped) == rows
    assert rows_from_line('{"level": "INFO", "message": "request answered"}') is None


def test_sink_writes_rows_idempotently(db_url: str, batch_payload: Any) -> None:
    outcome = make_outcome(batch_payload)
    sink = ResultsSink(db_url=db_url, log_lines=False)
    rows = rows_from_outcome(outcome)
    assert sink.write(rows) == "db"
    assert sink.write(rows) == "db"  # a retried request stores nothing twice
    sink.dispose()
    stored = _stored(db_url)
    assert len(stored) == len(rows)
    assert {(r.budget_id, r.itemization_id) for r in stored} == {
        (r["budget_id"], r["itemization_id"]) for r in rows
    }


def test_sink_prints_result_lines_without_a_database(batch_payload: Any) -> None:
    stream = io.StringIO()
    sink = ResultsSink(db_url="", log_lines=True, stream=stream)
    rows = rows_from_outcome(make_outcome(batch_payload))
    assert sink.write(rows) == "none"
    printed = [row for line in stream.getvalue().splitlines() for row in rows_from_line(line) or []]
    assert printed == rows


def test_sink_database_down_loses_no_result_after_replay(
    db_url: str, batch_payload: Any, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    down = ResultsSink(db_url=_closed_port_url(), spool_dir=spool, log_lines=False)
    expected = set()
    for number in range(5):
        rows = rows_from_outcome(make_outcome(batch_payload, f"req-{number}", seed=number))
        expected |= {
            (r["request_id"], r["budget_id"], r["itemization_id"], r["score"]) for r in rows
        }
        assert down.write(rows) == "spool"
    assert len(spool_files(spool)) == 5
    assert not list(spool.glob(".*.tmp"))

    replay = subprocess.run(
        [
            sys.executable,
            "-m",
            "bem",
            "monitor",
            "replay",
            "--db",
            db_url,
            "--spool-dir",
            str(spool),
        ],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 0, replay.stderr
    assert "replayed 5 files" in replay.stdout
    stored = {(r.request_id, r.budget_id, r.itemization_id, r.score) for r in _stored(db_url)}
    assert stored == expected
    assert spool_files(spool) == []


def test_sink_stops_trying_a_failed_database_then_recovers(
    tmp_path: Path, batch_payload: Any
) -> None:
    database_dir = tmp_path / "later"  # SQLite cannot open a file in a missing directory
    url = f"sqlite:///{database_dir / 'store.db'}"
    now = [1000.0]
    sink = ResultsSink(
        db_url=url,
        spool_dir=tmp_path / "spool",
        log_lines=False,
        clock=lambda: now[0],
        retry_after_s=30.0,
    )
    batches = [rows_from_outcome(make_outcome(batch_payload, f"req-{n}")) for n in range(3)]
    assert sink.write(batches[0]) == "spool"
    database_dir.mkdir()  # the database is back, but the sink waits out its retry delay
    now[0] += 10
    assert sink.write(batches[1]) == "spool"
    now[0] += 30
    assert sink.write(batches[2]) == "db"  # and replays one spooled file on the way
    assert len(spool_files(tmp_path / "spool")) == 1
    assert sink.replay().files == 1
    sink.dispose()
    assert len(_stored(url)) == sum(len(b) for b in batches)


class _ClosedStream(io.StringIO):
    def write(self, text: str) -> int:
        raise ValueError("I/O operation on closed file")


def test_sink_broken_log_stream_does_not_cost_the_database_copy(
    tmp_path: Path, batch_payload: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    sink = ResultsSink(db_url=url, log_lines=True, stream=_ClosedStream())
    rows = rows_from_outcome(make_outcome(batch_payload))
    assert sink.write(rows) == "db"
    sink.dispose()
    assert len(_stored(url)) == len(rows)


def test_sink_log_modes_print_what_they_promise(
    batch_payload: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    rows = rows_from_outcome(make_outcome(batch_payload))
    printed: dict[str, str] = {}
    for mode in ("auto", "gzip", "full", "off"):
        stream = io.StringIO()
        sink = ResultsSink(db_url="", log_lines=mode, stream=stream)
        assert sink.write(rows) == "none"
        assert sink.keeps_rows is (mode in ("gzip", "full"))
        printed[mode] = stream.getvalue()
    assert printed["auto"] == printed["off"] == ""
    for mode in ("gzip", "full"):
        assert [
            r for line in printed[mode].splitlines() for r in rows_from_line(line) or []
        ] == rows
    monkeypatch.setenv("BEM_RESULTS_LOG", "0")
    assert ResultsSink(db_url="").log_mode == "off"
    monkeypatch.setenv("BEM_RESULTS_LOG", "sometimes")
    assert ResultsSink(db_url="").log_mode == "auto"


def test_sink_gzip_lines_stay_under_the_cap_and_shrink_the_bytes(batch_payload: Any) -> None:
    rows = rows_from_outcome(make_outcome(batch_payload)) * 3000
    full = result_lines(rows)
    packed = gzip_lines(rows, max_bytes=20_000)
    assert all(len(line) <= 20_000 for line in packed) and len(packed) > 1
    assert sum(map(len, packed)) * 4 < sum(map(len, full))
    assert [r for line in packed for r in rows_from_line(line) or []] == rows
    assert rows_from_line('{"bem_results":2,"gz":"not base64!"}') is None


def test_sink_auto_mode_logs_the_rows_the_database_did_not_take(
    batch_payload: Any, tmp_path: Path
) -> None:
    stream = io.StringIO()
    down = ResultsSink(db_url=_closed_port_url(), spool_dir=tmp_path / "spool", stream=stream)
    rows = rows_from_outcome(make_outcome(batch_payload))
    assert down.log_mode == "auto" and down.keeps_rows
    assert down.write(rows) == "spool"
    assert len(spool_files(tmp_path / "spool")) == 1
    assert [r for line in stream.getvalue().splitlines() for r in rows_from_line(line) or []] == (
        rows
    )


def test_sink_replay_sets_poison_lines_aside_and_replays_the_rest(
    db_url: str, batch_payload: Any, tmp_path: Path
) -> None:
    rows = rows_from_outcome(make_outcome(batch_payload))
    good = result_lines(rows[:2]) + result_lines(rows[2:])
    poison = [
        '{"bem_results": 1, "rows": ' + "[" * 100_000 + "]" * 100_000 + "}",  # too deep
        '{"bem_results": 1, "cols": ["budget_id"], "rows": [{"budget_id": "x"}]}',
        '{"bem_results": 1, "rows": [[' + '"a", ' * 3 + '{"a": 1}]]}',  # a dict as an id
        '{"bem_results": 2, "gz": "bm90IGd6aXA="}',
    ]
    spool = tmp_path / "spool"
    spool.mkdir()
    lines = [good[0], *poison, good[1]]
    (spool / "results-1.jsonl").write_bytes(
        ("\n".join(lines) + "\n").encode() + b"\xff\xfe not utf-8\n"
    )
    sink = ResultsSink(db_url=db_url, spool_dir=spool, log_lines=False)
    report = sink.replay()
    sink.dispose()
    assert (report.files, report.failed_files, report.rows) == (1, 0, len(rows))
    assert report.rejected_rows == 1  # the row with a dict as its id
    assert list(spool.glob("*.jsonl*")) == []  # nothing left claimed
    assert len(_stored(db_url)) == len(rows)
    set_aside = [
        json.loads(line)
        for path in (spool / "rejected").iterdir()
        for line in path.read_text().splitlines()
    ]
    assert len(set_aside) == len(poison) - 1 + 1 + 1  # lines, the refused row, the bytes
    assert all(record["error"] for record in set_aside)
    assert sum("line" in record for record in set_aside) == len(poison)
