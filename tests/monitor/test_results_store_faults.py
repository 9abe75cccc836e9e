"""The results store under faults, on SQLite and PostgreSQL: nothing lost, nothing merged."""

from __future__ import annotations

import copy
import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from monitor_helpers import make_outcome

from bem.monitor.store import open_store, results
from budget_matcher.result_rows import rows_from_outcome
from budget_matcher.results_db import OLD_KEY
from budget_matcher.results_sink import REJECTED_DIR, ResultsSink, result_lines, spool_files


def _stored(url: str) -> list[Any]:
    engine = open_store(url)
    with engine.connect() as connection:
        rows = list(connection.execute(sa.select(results)).all())
    engine.dispose()
    return rows


def _twin_users(seed: dict[str, Any]) -> dict[str, Any]:
    """Two users whose budgets and line items carry the same ids."""
    return {"users": [{"user_id": "ann", **seed}, {"user_id": "bob", **copy.deepcopy(seed)}]}


def test_store_same_ids_of_two_users_are_two_rows(
    db_url: str, seed_payload: dict[str, Any], tmp_path: Path
) -> None:
    sink = ResultsSink(db_url=db_url, spool_dir=tmp_path / "spool", log_lines=False)
    rows = rows_from_outcome(make_outcome(_twin_users(seed_payload), "req-twins"))
    assert len(rows) == 2
    assert sink.write(rows) == "db"
    sink.dispose()
    stored = _stored(db_url)
    assert sorted(row.user_id for row in stored) == ["ann", "bob"]


def test_store_nul_byte_is_stored_and_does_not_down_the_database(
    db_url: str, seed_payload: dict[str, Any], tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    sink = ResultsSink(db_url=db_url, spool_dir=spool, log_lines=False)
    poisoned = copy.deepcopy(seed_payload)
    poisoned["all_user_expense_lineitems"][0]["vendor_name_expense"] = "UBER\x00TRIP"
    assert sink.write(rows_from_outcome(make_outcome(poisoned, "req-nul"))) == "db"
    assert sink.write(rows_from_outcome(make_outcome(seed_payload, "req-next"))) == "db"
    sink.dispose()
    stored = {row.request_id: row for row in _stored(db_url)}
    assert stored["req-nul"].item_vendor == "UBER\ufffdTRIP"
    assert "req-next" in stored and spool_files(spool) == []


def test_store_refused_row_is_kept_aside_and_the_rest_stored(
    db_url: str, batch_payload: Any, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    sink = ResultsSink(db_url=db_url, spool_dir=spool, log_lines=False)
    rows = rows_from_outcome(make_outcome(batch_payload, "req-bad"))
    rows[1]["item_date"] = "not a timestamp"  # e.g. a row written by an older, buggy version
    assert sink.write(rows) == "db"
    later = rows_from_outcome(make_outcome(batch_payload, "req-later"))
    assert sink.write(later) == "db"  # the database was not marked down
    sink.dispose()
    assert len(_stored(db_url)) == len(rows) - 1 + len(later)
    rejected = [
        json.loads(line)
        for path in (spool / REJECTED_DIR).iterdir()
        for line in path.read_text().splitlines()
    ]
    assert [entry["row"]["itemization_id"] for entry in rejected] == [rows[1]["itemization_id"]]


def _spool_file(spool: Path, name: str, rows: list[dict[str, Any]]) -> None:
    spool.mkdir(parents=True, exist_ok=True)
    (spool / name).write_text("".join(line + "\n" for line in result_lines(rows)))


def test_store_poisoned_spool_file_does_not_block_replay(
    db_url: str, batch_payload: Any, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    poisoned = rows_from_outcome(make_outcome(batch_payload, "req-0"))
    poisoned[0]["trip_start"] = "garbage"
    _spool_file(spool, "results-0.jsonl", poisoned)
    healthy = [rows_from_outcome(make_outcome(batch_payload, f"req-{n}")) for n in (1, 2)]
    for n, rows in enumerate(healthy, start=1):
        _spool_file(spool, f"results-{n}.jsonl", rows)
    sink = ResultsSink(db_url=db_url, spool_dir=spool, log_lines=False)
    fresh = rows_from_outcome(make_outcome(batch_payload, "req-3"))
    for _ in range(3):  # each healthy write replays one spooled file on the way
        assert sink.write(fresh) == "db"
    sink.dispose()
    assert spool_files(spool) == []
    expected = len(poisoned) - 1 + sum(map(len, healthy)) + len(fresh)
    assert len(_stored(db_url)) == expected


def _replay(db_url: str, spool: str, queue: Any) -> None:
    sink = ResultsSink(db_url=db_url, spool_dir=Path(spool), log_lines=False)
    report = sink.replay()
    sink.dispose()
    queue.put((report.files, report.rows, report.failed_files))


@pytest.mark.slow
def test_store_two_processes_replaying_one_spool_load_each_file_once(
    db_url: str, batch_payload: Any, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    expected = 0
    for n in range(40):
        rows = rows_from_outcome(make_outcome(batch_payload, f"req-{n:02d}", seed=n))
        _spool_file(spool, f"results-{n:02d}.jsonl", rows)
        expected += len(rows)
    open_store(db_url).dispose()  # the schema exists before the race
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_replay, args=(db_url, str(spool), queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    reports = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert sum(files for files, _, _ in reports) == 40
    assert sum(rows for _, rows, _ in reports) == expected
    assert all(failed == 0 for _, _, failed in reports)
    assert spool_files(spool) == [] and not list(spool.glob("*.claim-*"))
    assert len(_stored(db_url)) == expected


def test_store_spool_is_bounded_and_says_so(batch_payload: Any, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    down = ResultsSink(
        db_url="sqlite:////nonexistent/dir/store.db",
        spool_dir=spool,
        log_lines=False,
        spool_max_bytes=6_000,
    )
    outcomes = [
        down.write(rows_from_outcome(make_outcome(batch_payload, f"r{n}"))) for n in range(8)
    ]
    assert outcomes[0] == "spool" and outcomes[-1] == "dropped"
    assert down.spool_bytes() <= 6_000


def test_store_same_request_stored_once_however_often_it_is_written(
    db_url: str, batch_payload: Any, tmp_path: Path
) -> None:
    sink = ResultsSink(db_url=db_url, spool_dir=tmp_path / "spool", log_lines=False)
    rows = rows_from_outcome(make_outcome(batch_payload, "req-retried"))
    for _ in range(3):  # e.g. Lambda retrying an asynchronous invocation: same request id
        assert sink.write(rows) == "db"
    other = rows_from_outcome(make_outcome(batch_payload, "req-resent"))
    assert sink.write(other) == "db"  # the same payload sent again is a new request
    sink.dispose()
    assert len(_stored(db_url)) == 2 * len(rows)


def test_store_of_the_older_layout_keeps_storing_under_its_old_key(
    db_url: str, batch_payload: Any, tmp_path: Path
) -> None:
    """A store created before `user_key`: the sink writes against its three-column key
    instead of failing every write into the spool."""
    engine = sa.create_engine(db_url)
    old = sa.MetaData()
    sa.Table(
        "scored_results",
        old,
        *(
            sa.Column(column.name, column.type, primary_key=column.name in OLD_KEY)
            for column in results.columns
            if column.name != "user_key"
        ),
    )
    old.create_all(engine)
    engine.dispose()
    spool = tmp_path / "spool"
    sink = ResultsSink(db_url=db_url, spool_dir=spool, log_lines=False)
    rows = rows_from_outcome(make_outcome(batch_payload, "req-old"))
    assert sink.write(rows) == "db"
    assert sink.write(rows) == "db"  # idempotent under the old key too
    sink.dispose()
    assert spool_files(spool) == []
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT COUNT(*) FROM scored_results")).scalar()
    engine.dispose()
    assert count == len(rows)
