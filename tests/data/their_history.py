"""A history as an adopter's export looks: own column names, day-first dates, semicolons,
decimal commas and a share of unreadable rows. Shared by the data tests and the guide test."""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Iterable
from pathlib import Path

from budget_matcher import contract

THEIR_NAMES = {
    "user_id": "employee",
    "budget_id": "trip_id",
    "itemization_id": "line_id",
    "is_match": "matched",
    "expensed_amount_itemization": "amount",
}
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


def write_their_history(
    rows: Iterable[dict[str, str | None]], path: Path, broken_share: float = 0.02, seed: int = 0
) -> list[int]:
    """Write `rows` their way to `path`; returns the indexes of the rows made unreadable
    (an impossible date in start_datetime_trips, or an amount that is no number)."""
    rows = list(rows)
    rng = random.Random(seed)
    broken = sorted(rng.sample(range(len(rows)), round(len(rows) * broken_share)))
    header = [THEIR_NAMES.get(name, name) for name in rows[0]]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        for index, row in enumerate(rows):
            out = dict(row)
            for name in contract.DATE_FIELDS:
                out[name] = day_first(out.get(name))
            for name in contract.AMOUNT_FIELDS:
                out[name] = decimal_comma(out.get(name))
            if index in broken:
                if index % 2:
                    out[contract.BUDGET_TRIP_START] = "31/02/2024 10:00:00"
                else:
                    out[contract.ITEM_AMOUNT] = "n/a"
            writer.writerow(["" if out[name] is None else out[name] for name in rows[0]])
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
