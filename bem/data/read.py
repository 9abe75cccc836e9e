"""Reading a history file as it comes: encoding and delimiter sniffed, JSON and Parquet too.

CSV files may be UTF-8 (with or without BOM), Windows-1252 or Latin-1, separated by commas,
semicolons, tabs or pipes; the header line decides the delimiter. JSON (a list of objects,
{"rows": [...]} or {"labels": [...]}), JSON lines and Parquet (a file or a directory of
parts) are read as well.
Rows are streamed, each with its line number (its row number for Parquet), as often as asked:
a check of a million rows never holds them all. A file that cannot be read as a table stops
with one line naming where (huge fields, unterminated quotes, deep nesting).
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bem.data.columns import HistoryError

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SHOWN_CHARS = 80  # an error line never echoes more of a cell than this
EXTRA = "__extra__"  # key of the cells beyond the header's columns
Row = dict[str, Any]


def shown(value: Any) -> str:
    """A cell as an error line shows it: empty for None, at most SHOWN_CHARS characters."""
    text = "" if value is None else str(value)
    return repr(text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…")


@dataclass
class Source:
    """One table file: its header, how it is written, and its rows on demand."""

    path: Path
    header: list[str]
    encoding: str
    delimiter: str | None  # None for JSON and Parquet
    kind: str  # "csv", "json" or "parquet"

    def describe(self, n_rows: int) -> str:
        layout = DELIMITER_NAMES.get(self.delimiter or "", self.kind.upper())
        encoding = f", {self.encoding}" if self.kind != "parquet" else ""
        return f"{n_rows} rows, {len(self.header)} columns{encoding}, {layout}"

    def rows(self) -> Iterator[tuple[int, Row]]:
        """(line, row) of every non-empty row; empty cells are None."""
        if self.kind == "csv":
            return _csv_rows(self)
        if self.kind == "parquet":
            return _parquet_rows(self.path)
        return _json_rows(self.path, self.encoding)


def _first_decoding(blocks: Callable[[], Iterator[bytes]]) -> str:
    """The first of ENCODINGS that decodes every block `blocks()` gives, in turn."""
    for encoding in ENCODINGS[:-1]:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for block in blocks():
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return ENCODINGS[-1]  # latin-1 decodes any bytes


def detect_encoding(path: Path) -> str:
    """The first of ENCODINGS that decodes the whole file (read in blocks)."""

    def blocks() -> Iterator[bytes]:
        with path.open("rb") as stream:
            yield from iter(lambda: stream.read(1 << 20), b"")

    return _first_decoding(blocks)


def decode(data: bytes) -> tuple[str, str]:
    """The text of `data` and the first of ENCODINGS that reads it (as `detect_encoding`)."""
    encoding = _first_decoding(lambda: iter((data,)))
    return data.decode(encoding), encoding


def sniff_delimiter(header_line: str) -> str:
    """The candidate delimiter that splits the header line into the most columns."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise HistoryError(
            "the header line has no comma, semicolon, tab or pipe: is this a CSV with a header?"
        )
    return best


def open_source(path: Path) -> Source:
    """The table of a CSV, JSON, JSON-lines or Parquet file (or directory of Parquet parts)."""
    if path.is_dir() or path.suffix.lower() == ".parquet":
        return Source(path, _parquet_header(path), "parquet", None, "parquet")
    try:
        with path.open("rb") as stream:
            head = stream.read(1 << 16)
    except OSError as error:
        raise HistoryError(f"{path}: cannot read ({error.strerror})") from error
    encoding = detect_encoding(path)
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    if not text.strip():
        raise HistoryError(f"{path}: the file is empty; start from `bem data template`")
    if path.suffix.lower() in (".json", ".jsonl") or text.lstrip()[:1] in ("[", "{"):
        header: list[str] = []
        for _, row in _json_rows(path, encoding):
            header.extend(k for k in row if k not in header)
        return Source(path, header, encoding, None, "json")
    header_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = sniff_delimiter(header_line)
    with path.open(encoding=encoding, newline="") as handle:
        first = next(csv.reader(handle, delimiter=delimiter), [])
    return Source(path, [h.strip() for h in first if h.strip()], encoding, delimiter, "csv")


def _csv_rows(source: Source) -> Iterator[tuple[int, Row]]:
    delimiter = source.delimiter or ","
    with source.path.open(encoding=source.encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = [name.strip() for name in next(reader, [])]
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise HistoryError(
                    f"{source.path}: line {start}: {error}: a quote opened there is never "
                    "closed, or a cell is far longer than any value"
                ) from None
            if not any(cell.strip() for cell in record):
                continue
            if reader.line_num > start and any("\n" in c and delimiter in c for c in record):
                raise HistoryError(
                    f"{source.path}: line {start}: a quoted cell runs to line "
                    f"{reader.line_num} across delimiters: an unterminated quote?"
                )
            row: Row = {
                name: (cell.strip() or None)
                for name, cell in zip(header, record, strict=False)
                if name
            }
            if len(record) > len(header):
                row[EXTRA] = record[len(header) :]
            yield start, row


def _json_rows(path: Path, encoding: str) -> Iterator[tuple[int, Row]]:
    """Rows of a JSON document (list or {"rows": [...]}) or of JSON lines."""
    text = path.read_text(encoding=encoding).lstrip("\ufeff")
    try:
        loaded: Any = _loads(text, path, 1)
        listed: Any = loaded
        if isinstance(loaded, dict):
            listed = loaded.get("rows", loaded.get("labels"))
        numbered = list(enumerate(listed, 1))
    except _NotJson:
        numbered = [
            (number, _loads(line, path, number))
            for number, line in enumerate(text.splitlines(), 1)
            if line.strip()
        ]
    except TypeError:  # neither a list nor {"rows": [...]}
        numbered = [(1, loaded)]
    for number, row in numbered:
        if not isinstance(row, dict):
            raise HistoryError(
                f"{path}: row {number} is no object: expected a JSON list of row objects or "
                f'{{"rows": [...]}}'
            )
        yield number, {k: (None if v == "" else v) for k, v in row.items()}


class _NotJson(Exception):
    pass


def _loads(text: str, path: Path, line: int) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise HistoryError(f"{path}: line {line}: JSON nested too deeply to be a row") from None
    except json.JSONDecodeError as error:
        if line == 1 and "\n" in text.strip():
            raise _NotJson from error
        raise HistoryError(
            f"{path}: line {line}: neither JSON nor JSON lines ({error.msg})"
        ) from None


def _parquet_dataset(path: Path) -> Any:
    import pyarrow.dataset as ds

    try:
        return ds.dataset(str(path), format="parquet")
    except (OSError, ValueError) as error:
        raise HistoryError(f"{path}: not a Parquet table ({str(error)[:200]})") from None


def _parquet_header(path: Path) -> list[str]:
    return list(_parquet_dataset(path).schema.names)


def _parquet_rows(path: Path) -> Iterator[tuple[int, Row]]:
    """Rows of a Parquet table; timestamps and dates as ISO text (as a CSV would hold them)."""
    number = 0
    for batch in _parquet_dataset(path).to_batches():
        for row in batch.to_pylist():
            number += 1
            yield number, {k: _cell(v) for k, v in row.items()}


def _cell(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return value
