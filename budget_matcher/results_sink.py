"""Runtime writer of scored results: results database, local spool on faults, result log lines.

- With `BEM_RESULTS_DB_URL` set, each answer's rows go to the `scored_results` table
  (SQLAlchemy is imported only then). Any database fault spools the rows to
  `BEM_RESULTS_SPOOL_DIR` as one JSON-lines file per answer (written to a temporary name and
  renamed, so a reader never sees half a file); `bem monitor replay` or the next successful
  write loads them. After a fault the database is not tried again for `retry_after_s`, so an
  outage costs one connect timeout, not one per request.
- Result log lines, which `bem monitor ingest-logs` loads from a CloudWatch export, follow
  `BEM_RESULTS_LOG`: `auto` (default) prints only the rows the database did not take (the
  durable copy of a spool that dies with its container, or of rows the full spool dropped),
  gzip+base64 compressed, and nothing without a database; `gzip` prints every answer's rows
  compressed (`{"bem_results": 2, "gz": ...}`); `full` (or `1`) as compact JSON
  (`{"bem_results": 1, "cols": [...], "rows": [...]}`, ~8x the bytes); `off` (or `0`) never.
  Lines stay under 200 kB. docs/costs.md has the CloudWatch cost per million pairs of each.
- Faults are told apart: a row the database refuses (a data error) never marks the database
  down; the batch is retried row by row and only the refused rows go to `rejected/` in the
  spool directory (JSON lines with the error; never replayed automatically, never deleted).
- The spool is bounded (`BEM_RESULTS_SPOOL_MAX_BYTES`): at the bound, further rows are not
  spooled (`write` answers "dropped" and logs a warning); their result log lines still carry
  them, unless `BEM_RESULTS_LOG=0`.
- Replay claims a file by renaming it before reading it, so two processes replaying the same
  spool load each file once; a claim older than `STALE_CLAIM_S` (a crashed replayer) is
  returned to the spool.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from budget_matcher import config
from budget_matcher.gunzip import gunzip
from budget_matcher.result_rows import COLUMN_NAMES, rows_from_compact, rows_to_compact

logger = logging.getLogger(__name__)

LOG_MARKER = "bem_results"
LOG_LINE_MAX_BYTES = 200_000
LOG_MODES = ("auto", "gzip", "full", "off")
_LOG_ALIASES = {"1": "full", "0": "off", "true": "full", "false": "off"}
# Compact JSON compresses ~8x: blocks of this many raw bytes make gzip lines near the cap.
GZIP_BLOCK_BYTES = 1_000_000


def log_mode(value: bool | str | None = None) -> str:
    """The result-log mode: explicit value > BEM_RESULTS_LOG > "auto" (unknown values too)."""
    if isinstance(value, bool):
        return "full" if value else "off"
    text = (value if value is not None else os.environ.get(config.ENV_RESULTS_LOG, "")).lower()
    text = _LOG_ALIASES.get(text, text)
    return text if text in LOG_MODES else config.DEFAULT_RESULTS_LOG


SPOOL_SUFFIX = ".jsonl"
CLAIM_MARK = ".claim-"
REJECTED_DIR = "rejected"
STALE_CLAIM_S = 600.0


@dataclass
class ReplayReport:
    """What one replay of the spool did."""

    files: int = 0
    rows: int = 0
    failed_files: int = 0
    rejected_rows: int = 0


def is_data_error(error: BaseException) -> bool:
    """True when the database refused the rows themselves (not a connection or schema fault)."""
    if isinstance(error, (ValueError, TypeError, OverflowError)):  # a row that cannot be converted
        return True
    try:
        from sqlalchemy import exc
    except ImportError:
        return False
    if isinstance(error, (exc.DataError, exc.IntegrityError)):
        return True
    return type(error) is exc.StatementError and isinstance(
        error.orig, (ValueError, TypeError, OverflowError)
    )


def result_lines(rows: Sequence[dict[str, Any]], max_bytes: int = LOG_LINE_MAX_BYTES) -> list[str]:
    """Rows as compact JSON lines, `{"bem_results": 1, "cols": [...], "rows": [[...]]}`.

    Rows are split across lines so no line exceeds `max_bytes` (CloudWatch caps an event at
    256 KiB); a single row longer than that still gets a line of its own. Blocks of rows are
    encoded in one `json.dumps` call each, sized from the first row and halved when too big.
    """
    compact = rows_to_compact(rows)
    if not compact:
        return []
    head = json.dumps({LOG_MARKER: 1, "cols": list(COLUMN_NAMES)}, separators=(",", ":"))[:-1]
    first_row_bytes = len(_encode(compact[:1])) + 1
    per_line = max(1, (max_bytes - len(head) - 16) // (2 * first_row_bytes))
    lines: list[str] = []
    for start in range(0, len(compact), per_line):
        _append_lines(compact[start : start + per_line], head, max_bytes, lines)
    return lines


def _encode(block: Sequence[Sequence[Any]]) -> str:
    return json.dumps(block, separators=(",", ":"), default=str)


def _append_lines(
    block: Sequence[Sequence[Any]], head: str, max_bytes: int, lines: list[str]
) -> None:
    """Append `block` as one line, or as halves (recursively) when the line would be too long."""
    line = f'{head},"rows":{_encode(block)}}}'
    if len(line) <= max_bytes or len(block) == 1:
        lines.append(line)
        return
    middle = len(block) // 2
    _append_lines(block[:middle], head, max_bytes, lines)
    _append_lines(block[middle:], head, max_bytes, lines)


def gzip_lines(rows: Sequence[dict[str, Any]], max_bytes: int = LOG_LINE_MAX_BYTES) -> list[str]:
    """Rows as `{"bem_results": 2, "gz": "<base64 gzip of a compact line>"}` lines."""
    block_bytes = GZIP_BLOCK_BYTES
    while True:
        lines = [
            json.dumps({LOG_MARKER: 2, "gz": _gzip_text(raw)}, separators=(",", ":"))
            for raw in result_lines(rows, block_bytes)
        ]
        if all(len(line) <= max_bytes for line in lines) or block_bytes <= max_bytes:
            return lines
        block_bytes //= 2


def _gzip_text(text: str) -> str:
    packed = gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)
    return base64.b64encode(packed).decode("ascii")


class BadResultLine(ValueError):
    """A result line (it carries the marker) whose rows cannot be read."""


# Bounds of a `gz` field: a line is under LOG_LINE_MAX_BYTES, its rows ~8x that.
GZ_FIELD_MAX_BYTES = 64 * LOG_LINE_MAX_BYTES


def read_result_line(line: str) -> list[dict[str, Any]] | None:
    """The rows of one result line (also when wrapped in a log prefix or a JSON `message`);
    None for a line that is no result line; BadResultLine for a result line that cannot be
    read (bad JSON, wrong shape, too deep, a `gz` field that is no bounded gzip)."""
    start = line.find("{")
    if start < 0 or LOG_MARKER not in line:
        return None
    try:
        document, _ = json.JSONDecoder().raw_decode(line, start)
    except (ValueError, RecursionError) as error:
        if LOG_MARKER in line[start : start + 32]:  # it meant to be a result line
            raise BadResultLine(f"not JSON: {type(error).__name__}") from None
        return None
    try:
        return _rows_from_document(document, 0)
    except (TypeError, KeyError, IndexError, RecursionError) as error:
        raise BadResultLine(f"wrong shape: {type(error).__name__}") from None


def rows_from_line(line: str) -> list[dict[str, Any]] | None:
    """The rows of one result line; None for any other line, and for one that cannot be read."""
    try:
        return read_result_line(line)
    except BadResultLine:
        return None


def _rows_from_document(document: Any, depth: int) -> list[dict[str, Any]] | None:
    if not isinstance(document, dict) or depth > 4:
        return None
    marker = document.get(LOG_MARKER)
    if marker == 1 and isinstance(document.get("rows"), list):
        columns, values = document.get("cols", COLUMN_NAMES), document["rows"]
        if not isinstance(columns, (list, tuple)) or not all(
            isinstance(name, str) for name in columns
        ):
            raise BadResultLine("wrong shape: cols is not a list of names")
        if not all(isinstance(entry, list) for entry in values):
            raise BadResultLine("wrong shape: a row is not a list")
        return rows_from_compact(columns, values)
    if marker == 2 and isinstance(document.get("gz"), str):
        try:
            inner = gunzip(
                base64.b64decode(document["gz"], validate=True), max_bytes=GZ_FIELD_MAX_BYTES
            )
            inner_document = json.loads(inner)
        except (ValueError, RecursionError) as error:
            raise BadResultLine(f"bad gz field: {error}"[:200]) from None
        return _rows_from_document(inner_document, depth + 1)
    message = document.get("message")
    if isinstance(message, dict):
        return _rows_from_document(message, depth + 1)
    if isinstance(message, str) and depth < 4:
        return read_result_line(message)
    return None


def spool_files(spool_dir: Path) -> list[Path]:
    """Complete spool files, oldest first."""
    if not spool_dir.is_dir():
        return []
    return sorted(spool_dir.glob(f"*{SPOOL_SUFFIX}"))


def read_spool_file(
    path: Path, reject: Callable[[str, str], None] | None = None
) -> Iterator[dict[str, Any]]:
    """The rows of one spool file. A line that cannot be read (not UTF-8, a bad result line)
    goes to `reject(line, reason)` when given, and is skipped."""
    with path.open("rb") as handle:
        for raw in handle:
            try:
                line = raw.decode("utf-8")
                rows = read_result_line(line)
            except (UnicodeDecodeError, BadResultLine) as error:
                if reject is not None:
                    reject(raw.decode("utf-8", "replace"), f"{type(error).__name__}: {error}")
                continue
            if rows:
                yield from rows
            elif rows is None and line.strip() and reject is not None:
                reject(line, "not a result line")


class ResultsSink:
    """Writes each answer's rows to the database, or spools them; prints result log lines."""

    def __init__(
        self,
        db_url: str | None = None,
        spool_dir: Path | None = None,
        log_lines: bool | str | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry_after_s: float = 30.0,
        spool_max_bytes: int | None = None,
    ) -> None:
        self.db_url = db_url if db_url is not None else os.environ.get(config.ENV_RESULTS_DB_URL)
        self.spool_dir = spool_dir or config.env_path(
            config.ENV_RESULTS_SPOOL_DIR, config.DEFAULT_RESULTS_SPOOL_DIR
        )
        self.log_mode = log_mode(log_lines)
        self.stream = stream
        self.clock = clock
        self.retry_after_s = retry_after_s
        if spool_max_bytes is None:
            spool_max_bytes = config.env_int(
                config.ENV_RESULTS_SPOOL_MAX_BYTES, config.DEFAULT_RESULTS_SPOOL_MAX_BYTES
            )
        self.spool_max_bytes = spool_max_bytes
        self._engine: Any = None
        self._layout: tuple[tuple[str, ...], frozenset[str]] | None = None
        self._down_until = float("-inf")

    @property
    def keeps_rows(self) -> bool:
        """False when rows would go nowhere (no database, no result log lines)."""
        return bool(self.db_url) or self.log_mode in ("gzip", "full")

    def write(self, rows: Sequence[dict[str, Any]]) -> str:
        """Store `rows`; returns where they went: "db", "spool", "dropped" (spool full) or
        "none" (no database)."""
        if self.log_mode in ("gzip", "full") and rows:
            self._print(rows, self.log_mode)
        if not self.db_url or not rows:
            return "none"
        if self.clock() < self._down_until:
            return self._spool_and_log(rows)
        try:
            self._insert_or_reject(rows)
        except Exception as error:  # any driver, network or schema fault
            self._down_until = self.clock() + self.retry_after_s
            logger.warning("results database unavailable (%s); spooling %d rows", error, len(rows))
            return self._spool_and_log(rows)
        if spool_files(self.spool_dir):
            try:
                self.replay(max_files=1)
            except Exception as error:
                logger.warning("spool replay failed: %s", error)
        return "db"

    def _print(self, rows: Sequence[dict[str, Any]], mode: str) -> None:
        """Result log lines of `rows`; a broken log stream must not cost the database copy."""
        try:
            out = self.stream or sys.stdout
            for line in gzip_lines(rows) if mode == "gzip" else result_lines(rows):
                out.write(line + "\n")
            out.flush()
        except Exception as error:
            logger.warning("result log lines not written: %s", error)

    def _spool_and_log(self, rows: Sequence[dict[str, Any]]) -> str:
        """Spool rows the database did not take ("spool" or "dropped"); in auto mode also log
        them (the durable copy)."""
        try:
            return self._spool(rows)
        finally:
            if self.log_mode == "auto":
                self._print(rows, "gzip")

    def replay(self, max_files: int | None = None) -> ReplayReport:
        """Load spooled files into the database (idempotent) and delete each one loaded.

        Each file is claimed (renamed) first: a file another process claimed is skipped. Rows
        the database refuses go to `rejected/`; a database fault puts the file back and stops.
        """
        report = ReplayReport()
        self._return_stale_claims()
        for path in spool_files(self.spool_dir)[:max_files]:
            claimed = path.with_name(f"{path.name}{CLAIM_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # another replayer has it
            try:
                rows = list(read_spool_file(claimed, self._reject_line))
                rejected = self._insert_or_reject(rows)
            except BaseException as error:  # a database fault, or anything: never left claimed
                os.rename(claimed, path)
                logger.warning("replay of %s failed: %s", path.name, error)
                report.failed_files += 1
                if not isinstance(error, Exception):
                    raise
                break
            claimed.unlink()
            report.files += 1
            report.rows += len(rows) - rejected
            report.rejected_rows += rejected
        return report

    def _return_stale_claims(self) -> None:
        if not self.spool_dir.is_dir():
            return
        now = time.time()
        for claimed in self.spool_dir.glob(f"*{SPOOL_SUFFIX}{CLAIM_MARK}*"):
            try:
                if now - claimed.stat().st_mtime > STALE_CLAIM_S:
                    original = claimed.name.split(CLAIM_MARK)[0]
                    os.rename(claimed, claimed.with_name(original))
            except OSError:
                continue  # its replayer finished or another process returned it

    def _insert_or_reject(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert `rows`; on a data error, row by row, rejecting the refused ones. Returns how
        many were rejected. Connection and schema faults propagate."""
        try:
            self._insert(rows)
            return 0
        except Exception as error:
            if not is_data_error(error):
                raise
        rejected = 0
        for row in rows:
            try:
                self._insert([row])
            except Exception as error:
                if not is_data_error(error):
                    raise
                self._reject(row, error)
                rejected += 1
        return rejected

    def _reject(self, row: dict[str, Any], error: BaseException) -> None:
        self._set_aside({"error": f"{type(error).__name__}: {error}"[:500], "row": row})

    def _reject_line(self, line: str, reason: str) -> None:
        """A spool line that cannot be read, kept whole with its reason."""
        self._set_aside({"error": reason[:500], "line": line.rstrip("\n")})

    def _set_aside(self, record: dict[str, Any]) -> None:
        directory = self.spool_dir / REJECTED_DIR
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / f"rejected-{time.strftime('%Y%m%d')}{SPOOL_SUFFIX}").open(
            "a", encoding="utf-8"
        ) as handle:
            handle.write(json.dumps(record, default=str) + "\n")
        logger.warning("results set aside in %s: %s", directory, record["error"])

    def _insert(self, rows: Sequence[dict[str, Any]]) -> None:
        from budget_matcher import results_db

        if self._engine is None:
            if not self.db_url:
                raise RuntimeError(f"{config.ENV_RESULTS_DB_URL} is not set")
            self._engine = results_db.create_engine(self.db_url)
        layout = self._layout
        with self._engine.begin() as connection:
            if layout is None:  # kept only once committed: PostgreSQL rolls DDL back too
                results_db.metadata.create_all(connection, tables=[results_db.results])
                layout = results_db.table_layout(connection)
            results_db.insert_results(connection, rows, *layout)
        self._layout = layout

    def _spool(self, rows: Sequence[dict[str, Any]]) -> str:
        """Spool `rows` as one file; "dropped" (with a warning) when the spool is full."""
        lines = result_lines(rows)
        size = sum(len(line.encode("utf-8")) + 1 for line in lines)
        if self.spool_bytes() + size > self.spool_max_bytes:
            logger.warning(
                "results spool full (%d bytes max); %d rows not spooled",
                self.spool_max_bytes,
                len(rows),
            )
            return "dropped"
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        name = f"results-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
        temporary = self.spool_dir / f".{name}.tmp"
        with temporary.open("w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line + "\n")
        os.replace(temporary, self.spool_dir / f"{name}{SPOOL_SUFFIX}")
        return "spool"

    def spool_bytes(self) -> int:
        """Bytes of the spool files waiting for replay (claimed ones included)."""
        if not self.spool_dir.is_dir():
            return 0
        total = 0
        for path in self.spool_dir.glob(f"*{SPOOL_SUFFIX}*"):
            try:
                total += path.stat().st_size
            except OSError:
                continue
        return total

    def dispose(self) -> None:
        """Close pooled connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._layout = None
