"""Travellers as a labelled history in the records shape `bem data` reads: a row with both a
budget's and a line's fields is a line paying for that budget; a budget-only row is a booking
no line pays; a line-only row belongs to no budget. Three more columns, which the reader
ignores, carry the truth for the breakdown: the line's behaviour, its modifiers, and the
budget it was made beside."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from feedgen.records import Budget, Feed, Line, Noise
from feedgen.travellers import traveller

BUDGET_COLUMNS = (
    "budget_id",
    "budget_type_budget",
    "budget_price_budget",
    "actual_cost_budget",
    "travel_vendor_receipts",
    "purchase_vendor_receipts",
    "start_datetime_trips",
    "end_datetime_trips",
    "generated_at_budget",
)
ITEM_COLUMNS = (
    "itemization_id",
    "expensed_amount_itemization",
    "expense_type_name_itemization",
    "expense_category_itemization",
    "transaction_date_itemization",
    "vendor_name_expense",
    "expense_type_name_expense",
    "expense_category_expense",
)
TRUTH_COLUMNS = ("budget_behaviour", "item_behaviour", "item_modifiers", "item_relates_to")
COLUMNS = ("user_id", *BUDGET_COLUMNS, *ITEM_COLUMNS, *TRUTH_COLUMNS)
STAMP = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Written:
    users: int
    budgets: int
    lines: int
    matches: int
    pairs: int


def travellers(users: int, seed: int, noise: float) -> Iterator[Feed]:
    for index in range(users):
        yield traveller(seed, index, Noise(noise))


def _budget_fields(budget: Budget) -> dict[str, str]:
    return {
        "budget_id": budget.budget_id,
        "budget_type_budget": budget.kind,
        "budget_price_budget": f"{budget.budgeted:.2f}",
        "actual_cost_budget": "" if budget.actual is None else f"{budget.actual:.2f}",
        "travel_vendor_receipts": budget.vendor,
        "purchase_vendor_receipts": budget.purchase_vendor or "",
        "start_datetime_trips": budget.start.strftime(STAMP),
        "end_datetime_trips": budget.end.strftime(STAMP),
        "generated_at_budget": budget.created.strftime(STAMP),
        "budget_behaviour": "+".join([budget.behaviour, *sorted(budget.modifiers)]),
    }


def _line_fields(line: Line) -> dict[str, str]:
    return {
        "itemization_id": line.item_id,
        "expensed_amount_itemization": f"{line.amount:.2f}",
        "expense_type_name_itemization": line.type_item or "",
        "expense_category_itemization": line.category_item or "",
        "transaction_date_itemization": f"{line.day.isoformat()} 00:00:00",
        "vendor_name_expense": line.vendor or "",
        "expense_type_name_expense": line.type_expense or "",
        "expense_category_expense": line.category_expense or "",
        "item_behaviour": line.behaviour,
        "item_modifiers": ";".join(sorted(line.modifiers)),
        "item_relates_to": line.relates_to or "",
    }


def user_rows(feed: Feed) -> list[dict[str, str]]:
    """One traveller's rows, in an order of the traveller's own (exports list no order)."""
    budgets = {budget.budget_id: budget for budget in feed.budgets}
    paid = {line.owner for line in feed.lines if line.owner is not None}
    rows = []
    for line in feed.lines:
        row = {"user_id": feed.user_id, **_line_fields(line)}
        if line.owner is not None:
            row.update(_budget_fields(budgets[line.owner]))
        rows.append(row)
    for budget in feed.budgets:
        if budget.budget_id not in paid:
            rows.append({"user_id": feed.user_id, **_budget_fields(budget)})
    random.Random(feed.user_id).shuffle(rows)
    return rows


def write_history(path: Path, feeds: Iterable[Feed]) -> Written:
    """Write the travellers' rows as CSV; counts of what was written."""
    users = budgets = lines = matches = pairs = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, restval="")
        writer.writeheader()
        for feed in feeds:
            writer.writerows(user_rows(feed))
            users += 1
            budgets += len(feed.budgets)
            lines += len(feed.lines)
            matches += sum(line.owner is not None for line in feed.lines)
            pairs += len(feed.budgets) * len(feed.lines)
    return Written(users, budgets, lines, matches, pairs)
