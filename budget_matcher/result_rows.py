"""One flat row per scored pair: the record the results store, the spool and the log lines share.

A row holds what was decided (request id, time, model version, threshold, score, matched) and
the inputs needed to investigate a false positive or negative later (budget type, vendors,
amounts and dates of both sides). Pure functions, standard library only: this module ships in
the Lambda zip and must not import SQLAlchemy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from budget_matcher import contract as c

if TYPE_CHECKING:
    from budget_matcher.outcome import ScoringOutcome
    from budget_matcher.pairs import CandidatePairs, RecordTable

TEXT_LIMIT = 256  # characters kept of any free-text input

# (column, kind) in store order; kind is one of "str", "float", "bool", "datetime".
# The first three columns are the idempotency key of a result.
RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("request_id", "str"),
    ("budget_id", "str"),
    ("itemization_id", "str"),
    ("scored_at", "datetime"),
    ("model_version", "str"),
    ("threshold", "float"),
    ("score", "float"),
    ("matched", "bool"),
    ("user_id", "str"),
    ("error_code", "str"),
    ("budget_type", "str"),
    ("travel_vendor", "str"),
    ("purchase_vendor", "str"),
    ("budget_price", "float"),
    ("actual_cost", "float"),
    ("trip_start", "datetime"),
    ("trip_end", "datetime"),
    ("budget_generated_at", "datetime"),
    ("item_amount", "float"),
    ("item_date", "datetime"),
    ("item_vendor", "str"),
    ("item_type", "str"),
    ("item_category", "str"),
    ("expense_type", "str"),
    ("expense_category", "str"),
)
RESULT_KEY = ("request_id", "budget_id", "itemization_id")
COLUMN_NAMES = tuple(name for name, _ in RESULT_COLUMNS)

# row column -> contract field, for the inputs copied from the candidate pairs
_BUDGET_INPUTS = {
    "budget_type": c.BUDGET_TYPE,
    "travel_vendor": c.BUDGET_TRAVEL_VENDOR,
    "purchase_vendor": c.BUDGET_PURCHASE_VENDOR,
    "budget_price": c.BUDGET_PRICE,
    "actual_cost": c.BUDGET_ACTUAL_COST,
    "trip_start": c.BUDGET_TRIP_START,
    "trip_end": c.BUDGET_TRIP_END,
    "budget_generated_at": c.BUDGET_GENERATED_AT,
}
_ITEM_INPUTS = {
    "item_amount": c.ITEM_AMOUNT,
    "item_date": c.ITEM_DATE,
    "item_vendor": c.ITEM_VENDOR,
    "item_type": c.ITEM_TYPE_NAME,
    "item_category": c.ITEM_CATEGORY,
    "expense_type": c.EXPENSE_TYPE_NAME,
    "expense_category": c.EXPENSE_CATEGORY,
}
_KINDS = dict(RESULT_COLUMNS)


def rows_from_outcome(outcome: ScoringOutcome) -> list[dict[str, Any]]:
    """One JSON-ready row per response item that names both a budget and a line item.

    Items of records that could not be read at all (no budget id or no itemization id) are
    counted by the live metrics but not stored: they have no pair to investigate.
    """
    inputs = _pair_inputs(outcome.pairs)
    scored_at = to_iso(outcome.received_at)
    rows = []
    for item in outcome.items:
        budget_id, item_id = item.get(c.BUDGET_ID), item.get(c.ITEM_ID)
        if budget_id is None or item_id is None:
            continue
        user_id = item.get(c.USER_ID_KEY)
        error = item.get("error")
        row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
        row.update(
            request_id=str(outcome.request_id),
            budget_id=str(budget_id),
            itemization_id=str(item_id),
            scored_at=scored_at,
            model_version=outcome.model_version,
            threshold=_finite(outcome.threshold),
            score=_finite(item.get("score")),
            matched=item.get("matched") if isinstance(item.get("matched"), bool) else None,
            user_id=None if user_id is None else str(user_id),
            error_code=error.get("code") if isinstance(error, dict) else None,
        )
        row.update(inputs.get((row["user_id"], row["budget_id"], row["itemization_id"]), {}))
        rows.append(row)
    return rows


def _pair_inputs(pairs: CandidatePairs | None) -> dict[tuple[str | None, str, str], dict[str, Any]]:
    """(user id, budget id, itemization id) -> the investigation inputs of that pair."""
    if pairs is None:
        return {}
    budgets, items = pairs.budgets, pairs.items
    found: dict[tuple[str | None, str, str], dict[str, Any]] = {}
    for b, i in zip(pairs.budget_index.tolist(), pairs.item_index.tolist(), strict=True):
        values = {
            col: _column_value(budgets, field, b, col) for col, field in _BUDGET_INPUTS.items()
        }
        values.update(
            {col: _column_value(items, field, i, col) for col, field in _ITEM_INPUTS.items()}
        )
        found[(budgets.users[b], budgets.ids[b], items.ids[i])] = values
    return found


def _column_value(table: RecordTable, field: str, row: int, column: str) -> Any:
    kind = _KINDS[column]
    if field in table.texts:
        text = table.texts[field][row]
        return None if text is None else str(text)[:TEXT_LIMIT]
    if field in table.numbers:
        number = _finite(table.numbers[field][row])
        if number is None or kind != "datetime":
            return number
        return to_iso(datetime.fromtimestamp(number, tz=UTC))
    return None


def _finite(value: Any) -> float | None:
    """A float, or None for missing / NaN / infinite / non-numeric values."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def to_iso(moment: datetime) -> str:
    """ISO 8601 in UTC without offset (the store keeps naive UTC timestamps)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def parse_iso(text: str | None) -> datetime | None:
    """The inverse of `to_iso`; offsets are converted to naive UTC."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def rows_to_compact(rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """Rows as lists in `COLUMN_NAMES` order (the compact log-line form)."""
    return [[row.get(name) for name in COLUMN_NAMES] for row in rows]


def rows_from_compact(columns: Sequence[str], values: Iterable[Sequence[Any]]) -> list[dict]:
    """Rows back from the compact form; unknown columns are dropped, missing ones are None."""
    known = [(index, name) for index, name in enumerate(columns) if name in _KINDS]
    rows = []
    for entry in values:
        row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
        for index, name in known:
            row[name] = entry[index] if index < len(entry) else None
        rows.append(row)
    return rows
