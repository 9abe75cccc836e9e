"""The tools' one CSV writer: formula cells neutralised (OWASP), numbers left as numbers."""

from __future__ import annotations

import csv
import io

from bem.data.csv_writer import safe_cell, write_csv


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
