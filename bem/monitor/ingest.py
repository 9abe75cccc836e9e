"""Load scored results from the handler's result log lines (the CloudWatch-export path).

Reads plain log files, gzip files (CloudWatch's S3 export writes `<timestamp> <message>` lines
in .gz objects), the JSON of `aws logs filter-log-events` / `get-log-events`
(`{"events": [{"message": ...}]}`), or a log group directly through FilterLogEvents (boto3
client injected). Lines that are not result lines are skipped. Each file loads in its own
transaction: a corrupt or truncated file, or one whose rows the store refuses, is reported and
loads nothing, while the others load. Decompression is bounded (`budget_matcher.gunzip`). Loading is
idempotent: a result already stored (same request id, budget id, itemization id) is skipped,
so overlapping exports can be loaded again.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bem.monitor.store import insert_results
from budget_matcher.gunzip import CHUNK, gunzip_chunks
from budget_matcher.results_sink import BadResultLine, is_data_error, read_result_line

logger = logging.getLogger(__name__)

BATCH_ROWS = 5000
# A CloudWatch Logs filter pattern term: only events holding result lines are fetched.
DEFAULT_FILTER_PATTERN = '"bem_results"'
# Bounds of one export file: its decompressed bytes (streamed), a line (CloudWatch caps an
# event at 256 KiB), and a JSON document export (read whole).
MAX_LOG_FILE_BYTES = 8 * 1024**3
MAX_LINE_BYTES = 1024 * 1024
MAX_DOCUMENT_BYTES = 512 * 1024**2


@dataclass
class IngestReport:
    """Files read, result lines found, rows offered to the store; files and lines that could
    not be read (`bad_files`: path and reason, nothing of them stored)."""

    files: int = 0
    lines: int = 0
    rows: int = 0
    bad_lines: int = 0
    bad_files: list[tuple[str, str]] = field(default_factory=list)


class _FileTooLarge(ValueError):
    """A document export larger than MAX_DOCUMENT_BYTES."""


def _raw_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _byte_chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes, decompressed (bounded, `budget_matcher.gunzip`) when it is .gz."""
    if path.suffix == ".gz":
        return gunzip_chunks(_raw_chunks(path), max_bytes=MAX_LOG_FILE_BYTES)
    return _raw_chunks(path)


def _raw_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines of `chunks`; a line longer than MAX_LINE_BYTES is cut (no result line is)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from lines
        if len(pending) > MAX_LINE_BYTES:
            yield pending[:MAX_LINE_BYTES]
            pending = b""
    if pending:
        yield pending


def _text_lines(path: Path) -> Iterator[str]:
    """The message lines of one export: plain or gzip lines, or the JSON document of
    `aws logs filter-log-events` (at most MAX_DOCUMENT_BYTES)."""
    chunks = iter(_byte_chunks(path))
    first = next(chunks, b"")
    chunks = itertools.chain([first], chunks)
    if first[:1] == b"{":
        document_bytes = b""
        for chunk in chunks:
            document_bytes += chunk
            if len(document_bytes) > MAX_DOCUMENT_BYTES:
                raise _FileTooLarge(f"a JSON document over {MAX_DOCUMENT_BYTES} bytes")
        text = document_bytes.decode("utf-8", errors="replace")
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
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
    for raw in _raw_lines(chunks):
        yield raw.decode("utf-8", errors="replace")


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
    """Load every result line among `lines` into the store, in one transaction. A result line
    that cannot be read is counted (`bad_lines`) and skipped; a row the store refuses raises
    (the transaction rolls back)."""
    report = report or IngestReport()
    batch: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for line in lines:
            try:
                rows = read_result_line(line)
            except BadResultLine:
                report.bad_lines += 1
                continue
            if not rows:
                continue
            report.lines += 1
            batch += rows
            if len(batch) >= BATCH_ROWS:
                report.rows += insert_results(connection, batch)
                batch = []
        report.rows += insert_results(connection, batch)
    return report


def _per_file(
    engine: Engine,
    paths: Iterable[Path],
    load: Callable[[Engine, Path, IngestReport], IngestReport],
) -> IngestReport:
    """`load` each file in its own transaction: a file that cannot be read (corrupt,
    truncated, a row the store refuses) is rolled back alone and reported in `bad_files`."""
    report = IngestReport()
    for path in paths:
        report.files += 1
        try:
            one = load(engine, path, IngestReport())
        except Exception as error:
            if not (is_data_error(error) or isinstance(error, (OSError, EOFError))):
                raise  # the database itself (sqlalchemy's OperationalError): stop
            reason = f"{type(error).__name__}: {error}"[:300]
            logger.warning("%s not loaded: %s", path, reason)
            report.bad_files.append((str(path), reason))
            continue
        report.lines += one.lines
        report.rows += one.rows
        report.bad_lines += one.bad_lines
    return report


def ingest_log_files(engine: Engine, paths: Iterable[Path]) -> IngestReport:
    """Load every result line found in `paths` into the store, one transaction per file."""
    return _per_file(
        engine,
        iter_paths(paths),
        lambda engine, path, report: ingest_lines(engine, _text_lines(path), report),
    )


def ingest_scores_parquet(engine: Engine, paths: Iterable[Path]) -> IngestReport:
    """Load the scores Parquet of `bem batch score` (files or directories) into the store,
    one transaction per file (a bad file is reported in `bad_files`, the rest load).

    Its columns are the store's result columns; rows that name no pair (records without an id)
    are skipped. Idempotent like the log path: the run id is the rows' request id.
    """
    return _per_file(
        engine, (p for p in iter_paths(paths) if p.suffix == ".parquet"), _load_parquet
    )


def _load_parquet(engine: Engine, path: Path, report: IngestReport) -> IngestReport:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from budget_matcher.result_rows import COLUMN_NAMES

    with engine.begin() as connection:
        try:
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
        except pa.ArrowException as error:
            raise ValueError(f"not a readable Parquet file: {error}") from error
    return report
