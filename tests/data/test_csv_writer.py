"""The tools' one CSV writer: formula cells neutralised (OWASP), numbers left as numbers."""

from __future__ import annotations

import csv
import io

from bem.data.csv_writer import restore_cell, safe_cell, write_csv


def test_safe_cell_prefixes_formula_text_and_keeps_numbers() -> None:
    for text in ("=1+1", "+A1", "-A1", "@SUM(A1)", "\tx", "\rx", "-1+2", "=", "-"):
        assert safe_cell(text) == "'" + text
    for value in ("plain", "", "1-2", " =x", "-12.50", "+3", "-1e5", ".5", -3, 2.5, None, True):
        assert safe_cell(value) == value


def test_write_csv_writes_sequences_and_mappings_safely() -> None:
    out = io.StringIO()
    count = write_csv(out, ["a", "b"], [["=x", -1.5], {"a": "@y", "b": "-7"}, {"b": "+z"}])
    assert count == 3
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["a", "b"], ["'=x", "-1.5"], ["'@y", "-7"], ["", "'+z"],
    ]  # fmt: skip


def test_restore_cell_undoes_safe_cell_exactly() -> None:
    values = ["=1+1", "+A1", "-A1", "@x", "\tx", "-12.50", "plain", "", "'", "'x", "'=x", "''=x",
              "'-12", "''", "'@'", "=", "'\tx", " =x"]  # fmt: skip
    written = [safe_cell(value) for value in values]
    assert [restore_cell(cell) for cell in written] == values
    assert len(set(written)) == len(values)  # no written cell means two values
    assert safe_cell("'=x") == "''=x" and safe_cell("'x") == "'x"
    assert restore_cell("=x") == "=x"  # saved without its `'` by a spreadsheet: the same id
