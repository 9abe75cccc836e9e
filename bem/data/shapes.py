"""The three shapes of a history, read by one reader (bem.data.check):

- pairs: one row per candidate pair, budget fields and line-item fields side by side, with
  `is_match` (1/0 or the user's own words);
- records: a reconciliation export. A row with both sides is a reconciled pair (a match unless
  its `is_match` says no); a row with only budget fields is a budget nobody expensed; a row
  with only line-item fields a charge with no budget. Every user's candidate pairs are all its
  budgets × all its charges, and the pairs no row lists are no match;
- tables: a directory holding budgets, items and links (budget_id, itemization_id, optional
  is_match and user_id), each `.csv`, `.parquet` or a directory of Parquet parts — the inputs
  `bem batch score` reads (`table_paths` finds them; Spark may share it).

`shape_of` tells pairs from records by the rows; `row_kind` classifies one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bem.data.columns import HistoryError
from budget_matcher import contract

PAIRS, RECORDS, TABLES = "pairs", "records", "tables"
RECORDS_SHARE = 0.05  # above this share of one-sided rows a labelled file is records
TABLE_NAMES = ("budgets", "items", "links")
TABLE_SUFFIXES = (".csv", ".parquet", ".json", ".jsonl", "")
# What each table's rows are, and the columns it must have.
TABLE_KINDS = {"budgets": "budget", "items": "item", "links": "link"}
TABLE_REQUIRED = {
    "budgets": (contract.USER_ID_KEY, contract.BUDGET_ID),
    "items": (contract.USER_ID_KEY, contract.ITEM_ID),
    "links": (contract.BUDGET_ID, contract.ITEM_ID),
}
_BUDGET_VALUES = tuple(f for f in contract.BUDGET_FIELDS if f != contract.BUDGET_ID)
_ITEM_VALUES = tuple(f for f in contract.ITEM_FIELDS if f != contract.ITEM_ID)


@dataclass(frozen=True)
class TablePaths:
    """Where a tables-shaped history's three tables are."""

    budgets: Path
    items: Path
    links: Path

    def named(self) -> list[tuple[str, Path]]:
        return [("budgets", self.budgets), ("items", self.items), ("links", self.links)]


def table_paths(directory: Path) -> TablePaths | None:
    """The budgets/items/links tables of `directory` (None when it holds no budgets/items)."""
    if not directory.is_dir():
        return None
    found: dict[str, Path] = {}
    for name in TABLE_NAMES:
        for suffix in TABLE_SUFFIXES:
            candidate = directory / f"{name}{suffix}"
            if candidate.exists():
                found[name] = candidate
                break
    if "budgets" not in found and "items" not in found:
        return None
    absent = [name for name in TABLE_NAMES if name not in found]
    if absent:
        raise HistoryError(
            f"{directory}: a tables history holds budgets, items and links "
            f"(.csv, .parquet or a directory of parts); {', '.join(absent)} not found"
        )
    return TablePaths(found["budgets"], found["items"], found["links"])


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def row_kind(row: dict[str, Any]) -> str:
    """ "pair", "budget", "item", or why the row fits no shape ("no_shape", "missing_id in
    budget_id" / "missing_id in itemization_id": a side's fields without its id)."""
    has_budget = _present(row.get(contract.BUDGET_ID))
    has_item = _present(row.get(contract.ITEM_ID))
    if has_budget and has_item:
        return "pair"
    budget_values = any(_present(row.get(name)) for name in _BUDGET_VALUES)
    item_values = any(_present(row.get(name)) for name in _ITEM_VALUES)
    if has_budget or (budget_values and not item_values):
        return (
            f"missing_id in {contract.ITEM_ID}"
            if item_values
            else ("budget" if has_budget else f"missing_id in {contract.BUDGET_ID}")
        )
    if has_item or item_values:
        return (
            f"missing_id in {contract.BUDGET_ID}"
            if budget_values
            else ("item" if has_item else f"missing_id in {contract.ITEM_ID}")
        )
    return "no_shape"


def shape_of(has_label_column: bool, unlabelled: int, one_sided: int = 0, rows: int = 0) -> str:
    """records when there is no label column, or some one-sided row carries no label
    (`unlabelled`), or one-sided rows are more than RECORDS_SHARE of the rows (their label a
    word for no match); else pairs, where a one-sided row is a row with a missing id."""
    if not has_label_column or unlabelled or one_sided > RECORDS_SHARE * rows:
        return RECORDS
    return PAIRS
