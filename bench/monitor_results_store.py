"""Cost of storing one answer's rows: the sink's batched idempotent insert vs row-by-row.

For answers of 10, 100 and 1000 pairs, writes 20 answers to a fresh SQLite file and a fresh
PostgreSQL schema (127.0.0.1:5432, user postgres, database test) and prints the median
milliseconds per answer of
  - batched: `ResultsSink.write` (one INSERT .. ON CONFLICT DO NOTHING executemany per answer)
  - naive:   one SELECT-then-INSERT round trip per row, each row its own transaction
and the bytes per pair of the compact result log line.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/monitor_results_store.py
"""

from __future__ import annotations

import functools
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from bem.monitor.simulate import simulate_history
from bem.monitor.store import open_store
from budget_matcher.results_db import results, to_db_rows
from budget_matcher.results_sink import ResultsSink, result_lines

ANSWERS = 20
SIZES = (10, 100, 1000)


def _naive(engine: sa.Engine, rows: list[dict[str, Any]]) -> None:
    for row in to_db_rows(rows):
        with engine.begin() as connection:
            key = [results.c[k] == row[k] for k in ("request_id", "budget_id", "itemization_id")]
            if connection.execute(sa.select(sa.literal(1)).where(*key)).first() is None:
                connection.execute(results.insert(), [row])


def _answers(size: int) -> list[list[dict[str, Any]]]:
    history = simulate_history(date(2026, 11, 24), days=1, pairs_per_day=size * ANSWERS * 2)
    pool = history.results
    answers = []
    for n in range(ANSWERS):
        batch = [
            dict(row, request_id=f"bench-{size}-{n}") for row in pool[n * size : (n + 1) * size]
        ]
        answers.append(batch)
    return answers


def _median_ms(write: Any, answers: list[list[dict[str, Any]]]) -> float:
    times = []
    for rows in answers:
        started = time.perf_counter()
        write(rows)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _urls(directory: Path) -> dict[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    return {
        "sqlite": f"sqlite:///{directory / 'bench.db'}",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1/test"
        f"?options=-csearch_path%3D{schema}",
        "_schema": schema,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        urls = _urls(Path(directory))
        try:
            print(f"median ms per answer over {ANSWERS} answers")
            for name in ("sqlite", "postgresql"):
                engine = open_store(urls[name])
                sink = ResultsSink(db_url=urls[name], log_lines=False)
                for size in SIZES:
                    batched = _median_ms(sink.write, _answers(size))
                    naive_answers = [
                        [dict(r, request_id=r["request_id"] + "-naive") for r in rows]
                        for rows in _answers(size)
                    ]
                    naive = _median_ms(functools.partial(_naive, engine), naive_answers)
                    print(
                        f"  {name:10s} {size:5d} pairs: batched {batched:8.2f} ms   "
                        f"naive {naive:9.2f} ms   ({naive / batched:5.1f}x)"
                    )
                sink.dispose()
                engine.dispose()
        finally:
            with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as c:
                c.execute(f'DROP SCHEMA "{urls["_schema"]}" CASCADE')
    rows = _answers(1000)[0]
    size = sum(len(line) + 1 for line in result_lines(rows))
    print(f"result log lines: {size / len(rows):.0f} bytes per pair")


if __name__ == "__main__":
    main()
