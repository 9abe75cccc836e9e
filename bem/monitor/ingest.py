"""Load scored results from the handler's result log lines (the CloudWatch-export path).

Reads plain log files, gzip files (CloudWatch's S3 export writes `<timestamp> <message>` lines
in .gz objects), the JSON of `aws logs filter-log-events` / `get-log-events`
(`{"events": [{"message": ...}]}`), or a log group directly through FilterLogEvents (boto3
client injected). Lines that are not result lines are skipped. Loading is
idempotent: a result already stored (same request id, budget id, itemization id) is skipped,
so overlapping exports can be loaded again.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bem.monitor.store import insert_results
from budget_matcher.results_sink import rows_from_line

BATCH_ROWS = 5000
# A CloudWatch Logs filter pattern term: only events holding result lines are fetched.
DEFAULT_FILTER_PATTERN = '"bem_results"'


@dataclass
class IngestReport:
    """Files read, result lines found, rows offered to the store."""

    files: int = 0
    lines: int = 0
    rows: int = 0


def _text_lines(path: Path) -> Iterator[str]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        head = handle.read(1)
        handle.seek(0)
        if head == "{":
            text = handle.read()
            try:
                document = json.loads(text)
            except json.JSONDecodeError:
                yield from text.splitlines()
                return
            events = document.get("events") if isinstance(document, dict) else None
            if isinstance(events, list):
                for event in events:
                    if isinstance(event, dict) and isinstance(event.get("message"), str):
                        yield from event["message"].splitlines()
                return
            yield from text.splitlines()
            return
        yield from handle


def iter_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files given, and the files under directories given (sorted)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def cloudwatch_lines(
    client: Any,
    log_group: str,
    start: datetime | None = None,
    end: datetime | None = None,
    filter_pattern: str = DEFAULT_FILTER_PATTERN,
) -> Iterator[str]:
    """The message lines of a log group's events (FilterLogEvents, all pages)."""
    arguments: dict[str, Any] = {"logGroupName": log_group, "filterPattern": filter_pattern}
    if start is not None:
        arguments["startTime"] = int(start.timestamp() * 1000)
    if end is not None:
        arguments["endTime"] = int(end.timestamp() * 1000)
    for page in client.get_paginator("filter_log_events").paginate(**arguments):
        for event in page.get("events", []):
            yield from str(event.get("message", "")).splitlines()


def ingest_lines(
    engine: Engine, lines: Iterable[str], report: IngestReport | None = None
) -> IngestReport:
    """Load every result line among `lines` into the store."""
    report = report or IngestReport()
    batch: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for line in lines:
            rows = rows_from_line(line)
            if not rows:
                continue
            report.lines += 1
            batch += rows
            if len(batch) >= BATCH_ROWS:
                report.rows += insert_results(connection, batch)
                batch = []
        report.rows += insert_results(connection, batch)
    return report


def ingest_log_files(engine: Engine, paths: Iterable[Path]) -> IngestReport:
    """Load every result line found in `paths` into the store."""
    report = IngestReport()

    def lines() -> Iterator[str]:
        for path in iter_paths(paths):
            report.files += 1
            yield from _text_lines(path)

    return ingest_lines(engine, lines(), report)


def ingest_scores_parquet(engine: Engine, paths: Iterable[Path]) -> IngestReport:
    """Load the scores Parquet of `bem batch score` (files or directories) into the store.

    Its columns are the store's result columns; rows that name no pair (records without an id)
    are skipped. Idempotent like the log path: the run id is the rows' request id.
    """
    import pyarrow.parquet as pq

    from budget_matcher.result_rows import COLUMN_NAMES

    report = IngestReport()
    with engine.begin() as connection:
        for path in iter_paths(paths):
            if path.suffix != ".parquet":
                continue
            report.files += 1
            parquet = pq.ParquetFile(path)
            wanted = [name for name in COLUMN_NAMES if name in parquet.schema_arrow.names]
            for block in parquet.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
                rows = [
                    row
                    for row in block.to_pylist()
                    if row.get("budget_id") is not None and row.get("itemization_id") is not None
                ]
                report.lines += block.num_rows
                report.rows += insert_results(connection, rows)
    return report
