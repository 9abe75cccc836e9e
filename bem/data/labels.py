"""A history as labels for monitoring (`bem monitor label`): the same reader and shapes as
training, each record numbered by its line in the file.

Pairs rows are labels as they are; a records history's rows with both sides are matches
unless labelled otherwise, and its one-sided rows (budgets nobody expensed, charges with no
budget) name no pair; a tables history's links are its labels. The user's label words become
1/0; other columns (labeled_at, resolved_at) pass through.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bem.data.columns import Mapping
from bem.data.grouping import read_label
from bem.data.read import open_source
from bem.data.shapes import RECORDS, row_kind, shape_of, table_paths
from budget_matcher import contract

LINE = "line"  # the key of each record's line number (not a label field)


def label_records(path: Path, mapping: Mapping | None = None) -> Iterator[dict[str, Any]]:
    """The label records of a history or label file, in our names, each with its LINE."""
    mapping = mapping or Mapping()
    tables = table_paths(path)
    source = open_source(tables.links if tables else path)

    def renamed(raw: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for theirs, value in raw.items():
            for ours in mapping.columns.get(theirs, [theirs]):
                row[ours] = value
        return row

    has_label = any(contract.LABEL in mapping.columns.get(h, [h]) for h in source.header)
    unlabelled = one_sided = rows = 0
    if tables is None and has_label:
        for _, raw in source.rows():
            row, rows = renamed(raw), rows + 1
            if row_kind(row) in ("budget", "item"):
                unlabelled += row.get(contract.LABEL) is None
                one_sided += read_label(row.get(contract.LABEL), mapping.labels) != 1
    implied = tables is not None or shape_of(has_label, unlabelled, one_sided, rows) == RECORDS
    for line, raw in source.rows():
        row = renamed(raw)
        label = row.get(contract.LABEL)
        one_sided = tables is None and row_kind(row) in ("budget", "item")
        if one_sided and read_label(label, mapping.labels) != 1:
            continue  # a budget or a charge alone: no pair (a match alone is rejected)
        if label is None and implied and not one_sided:
            row[contract.LABEL] = 1
        elif read_label(label, mapping.labels) is not None:
            row[contract.LABEL] = read_label(label, mapping.labels)
        row[LINE] = line
        yield row
