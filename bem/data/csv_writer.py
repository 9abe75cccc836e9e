"""The one CSV writer of the tools' reports (`bem monitor errors`, `metrics --output csv`,
`bem evaluate`'s mistakes): cells that come from data are neutralised against formula
injection as OWASP describes.

A text cell starting with `=`, `+`, `-`, `@`, tab or carriage return would be run as a formula
by a spreadsheet opening the file (`=HYPERLINK(...)`, `@SUM(...)`); it is written with a
leading `'`, which spreadsheets show as text. Numbers stay numbers: an int or float, and a text
cell that is a plain decimal number (`-12.50`), are written as they are.

The prefix can be undone exactly (`restore_cell`, for ids read back, as `bem monitor label`
reads the label queue): a text that already starts with `'`s followed by one of those
characters gets one `'` more, so no written cell means two values.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """`value`, or `'` + `value` when it is text a spreadsheet would take for a formula (or
    `'`s before such text: see the module docstring)."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore_cell(text: str) -> str:
    """The text `safe_cell` was given for the cell `text` it wrote: a `'` before (more `'`s
    and) a formula character is dropped; any other text is returned as it is, so a cell the
    reader's spreadsheet saved without the `'` reads the same."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS):
        return text[1:]
    return text


def write_csv(
    handle: IO[str],
    header: Sequence[str],
    rows: Iterable[Sequence[Any] | Mapping[str, Any]],
) -> int:
    """`header`, then each row (a sequence in header order, or a mapping by column name; a
    column a mapping lacks is empty), every cell through `safe_cell`. Returns the rows written."""
    writer = csv.writer(handle)
    writer.writerow([safe_cell(name) for name in header])
    count = 0
    for row in rows:
        cells = [row.get(name) for name in header] if isinstance(row, Mapping) else row
        writer.writerow([safe_cell(cell) for cell in cells])
        count += 1
    return count
