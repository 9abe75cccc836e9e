"""A history as an adopter's export looks: own column names, day-first dates, semicolons,
decimal commas and a share of unreadable rows. Shared by the data tests and the guide test."""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from budget_matcher import contract

THEIR_NAMES = {
    "user_id": "employee",
    "budget_id": "trip_id",
    "itemization_id": "line_id",
    "is_match": "matched",
    "expensed_amount_itemization": "amount",
}
Row = dict[str, Any]
Rows = list[Row]
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(.*)$")


def day_first(value: str | None) -> str | None:
    """ "2024-04-08 23:00:00" → "08/04/2024 23:00:00"."""
    match = _ISO.match(value or "")
    if not match:
        return value
    year, month, day, rest = match.groups()
    return f"{day}/{month}/{year}{rest}"


def decimal_comma(value: str | None) -> str | None:
    return value.replace(".", ",") if value and re.fullmatch(r"-?\d+\.\d{1,2}", value) else value


def their_values(row: Row, amount: Callable[[str | None, int], str | None], index: int) -> Row:
    """`row` with day-first dates and amounts written by `amount` (value, row index)."""
    out = dict(row)
    for name in contract.DATE_FIELDS:
        out[name] = day_first(out.get(name))
    for name in contract.AMOUNT_FIELDS:
        out[name] = amount(out.get(name), index)
    return out


def write_semicolons(path: Path, fields: list[str], rows: Rows) -> None:
    """`rows` (`fields` of each) as a semicolon CSV under their column names."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow([THEIR_NAMES.get(name, name) for name in fields])
        for row in rows:
            writer.writerow(["" if row.get(name) is None else row[name] for name in fields])


def write_their_history(
    rows: Iterable[dict[str, str | None]], path: Path, broken_share: float = 0.02, seed: int = 0
) -> list[int]:
    """Write `rows` their way to `path`; returns the indexes of the rows made unreadable
    (an impossible date in start_datetime_trips, or an amount that is no number)."""
    rows = list(rows)
    rng = random.Random(seed)
    broken = sorted(rng.sample(range(len(rows)), round(len(rows) * broken_share)))
    out_rows = []
    for index, row in enumerate(rows):
        out = their_values(row, lambda value, _: decimal_comma(value), index)
        if index in broken:
            if index % 2:
                out[contract.BUDGET_TRIP_START] = "31/02/2024 10:00:00"
            else:
                out[contract.ITEM_AMOUNT] = "n/a"
        out_rows.append(out)
    write_semicolons(path, list(rows[0]), out_rows)
    return broken


def renumbered(rows: Iterable[dict[str, str | None]]) -> list[dict[str, str | None]]:
    """The rows with ids as an export numbers them (emp-001, T0001, L00001 in order of first
    appearance), so a guide can name them whatever the generator draws."""
    names: dict[str, dict[str, str]] = {"user_id": {}, "budget_id": {}, "itemization_id": {}}
    forms = {"user_id": "emp-{:03d}", "budget_id": "T{:04d}", "itemization_id": "L{:05d}"}
    out = []
    for row in rows:
        copy = dict(row)
        for key, form in forms.items():
            value = copy.get(key)
            if value is not None:
                seen = names[key]
                copy[key] = seen.setdefault(value, form.format(len(seen) + 1))
        out.append(copy)
    return out


def european_amount(value: str | None, index: int) -> str | None:
    """ "1234.5" → "1.234,50", "1250.0" → "1.250", now and then with " €" after or "€"
    before."""
    if value is None or not re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    number = float(value)
    written = f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}"  # 1.250 reads both ways
    text = written.replace(",", " ").replace(".", ",").replace(" ", ".")
    return (text, f"{text} €", f"€{text}")[index % 3]


def split_pairs(rows: Rows) -> tuple[Rows, Rows, Rows]:
    """(budgets, items, links) of pairs-shaped rows: each user's distinct budgets and items
    (first row wins) and the matching pairs."""
    budgets: dict[tuple[Any, Any], Row] = {}
    items: dict[tuple[Any, Any], Row] = {}
    links: Rows = []
    for row in rows:
        user = row[contract.USER_ID_KEY]
        budgets.setdefault((user, row[contract.BUDGET_ID]), {
            contract.USER_ID_KEY: user, **{f: row.get(f) for f in contract.BUDGET_FIELDS}
        })  # fmt: skip
        items.setdefault((user, row[contract.ITEM_ID]), {
            contract.USER_ID_KEY: user, **{f: row.get(f) for f in contract.ITEM_FIELDS}
        })  # fmt: skip
        if row.get(contract.LABEL) == "1":
            links.append({f: row[f] for f in (contract.BUDGET_ID, contract.ITEM_ID)})
    return list(budgets.values()), list(items.values()), links


def as_records(rows: Rows, label: str | None = None) -> Rows:
    """Pairs-shaped rows as a reconciliation export: one row per match (both sides, `label`
    in is_match when given), a budget-only row per budget no match names, an item-only row
    per unmatched item."""
    budgets, items, links = split_pairs(rows)
    by_budget = {(b[contract.USER_ID_KEY], b[contract.BUDGET_ID]): b for b in budgets}
    by_item = {(i[contract.USER_ID_KEY], i[contract.ITEM_ID]): i for i in items}
    owner = {b[contract.BUDGET_ID]: b[contract.USER_ID_KEY] for b in budgets}
    fields = list(rows[0])
    out: Rows = []
    matched_budgets, matched_items = set(), set()
    for link in links:
        user = owner[link[contract.BUDGET_ID]]
        key_b, key_i = (user, link[contract.BUDGET_ID]), (user, link[contract.ITEM_ID])
        matched_budgets.add(key_b)
        matched_items.add(key_i)
        out.append({**dict.fromkeys(fields), **by_budget[key_b], **by_item[key_i]})
        out[-1][contract.LABEL] = label
    for key, budget in by_budget.items():
        if key not in matched_budgets:
            out.append({**dict.fromkeys(fields), **budget, contract.LABEL: None})
    for key, item in by_item.items():
        if key not in matched_items:
            out.append({**dict.fromkeys(fields), **item, contract.LABEL: None})
    return out


def write_their_records(
    rows: Rows,
    path: Path,
    label: str = "Yes (manual)",
    without: tuple[str, ...] = (),
    broken_share: float = 0.0,
    spare: str | None = None,
) -> tuple[int, int]:
    """A records-shaped export the European way: their column names, semicolons, day-first
    dates, decimal commas with thousands points (some with €), their own label word, without
    the columns `without`, and `broken_share` of the rows unreadable (an amount 'n/a' or an
    impossible date; never a row of the user `spare`). Returns (rows, unreadable rows)."""
    records = as_records(rows, label)
    fields = [f for f in records[0] if f not in without]
    candidates = [i for i, r in enumerate(records) if r[contract.USER_ID_KEY] != spare]
    broken = set(random.Random(1).sample(candidates, round(len(records) * broken_share)))
    out_rows = []
    for index, row in enumerate(records):
        out = their_values(row, european_amount, index)
        if index in broken:
            if out.get(contract.ITEM_ID):
                out[contract.ITEM_AMOUNT] = "n/a"
            else:
                out[contract.BUDGET_TRIP_START] = "31/02/2024 10:00:00"
        out_rows.append(out)
    write_semicolons(path, fields, out_rows)
    return len(records), len(broken)
