"""Reading a history file as it comes: encoding and delimiter sniffed, JSON accepted.

CSV files may be UTF-8 (with or without BOM), Windows-1252 or Latin-1, separated by commas,
semicolons, tabs or pipes; the header line decides the delimiter. JSON (a list of objects or
{"rows": [...]}) and JSON lines are read as well. Every row keeps its line number.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bem.data.columns import HistoryError

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass
class RawTable:
    """The file's header and rows (values as read, empty cells as None)."""

    header: list[str]
    rows: list[dict[str, Any]]
    line_numbers: list[int]
    encoding: str
    delimiter: str | None  # None for JSON

    def describe(self) -> str:
        layout = DELIMITER_NAMES.get(self.delimiter or "", "JSON")
        return f"{len(self.rows)} rows, {len(self.header)} columns, {self.encoding}, {layout}"


def decode(data: bytes) -> tuple[str, str]:
    """The text and the first encoding of ENCODINGS that reads it."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def sniff_delimiter(header_line: str) -> str:
    """The candidate delimiter that splits the header line into the most columns."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise HistoryError(
            "the header line has no comma, semicolon, tab or pipe: is this a CSV with a header?"
        )
    return best


def read_table(path: Path) -> RawTable:
    """Read a CSV, JSON or JSON-lines history."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise HistoryError(f"{path}: cannot read ({error.strerror})") from error
    text, encoding = decode(data)
    if not text.strip():
        raise HistoryError(f"{path}: the file is empty; start from `bem data template`")
    if path.suffix.lower() in (".json", ".jsonl") or text.lstrip()[:1] in ("[", "{"):
        return _json_table(path, text, encoding)
    header_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = sniff_delimiter(header_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip() for name in next(reader)]
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        row: dict[str, Any] = {
            name: (cell.strip() or None) for name, cell in zip(header, record, strict=False) if name
        }
        if len(record) > len(header):
            row["__extra__"] = record[len(header) :]
        rows.append(row)
        lines.append(reader.line_num)
    return RawTable([h for h in header if h], rows, lines, encoding, delimiter)


def _json_table(path: Path, text: str, encoding: str) -> RawTable:
    try:
        loaded: Any = json.loads(text)
    except json.JSONDecodeError:
        try:
            loaded = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise HistoryError(f"{path}: neither JSON nor JSON lines ({error})") from error
    rows = loaded.get("rows") if isinstance(loaded, dict) else loaded
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise HistoryError(f'{path}: expected a JSON list of row objects or {{"rows": [...]}}')
    header: list[str] = []
    for row in rows:
        header.extend(k for k in row if k not in header)
    cleaned = [{k: (None if v == "" else v) for k, v in row.items()} for row in rows]
    return RawTable(header, cleaned, list(range(1, len(rows) + 1)), encoding, None)
