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
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from budget_matcher import contract as c

if TYPE_CHECKING:
    from budget_matcher.outcome import ScoringOutcome
    from budget_matcher.pairs import RecordTable

TEXT_LIMIT = 256  # characters kept of any free-text input

# (column, kind) in store order; kind is one of "str", "float", "bool", "datetime", "int".
# The first three columns and the user are the key of a result (results_db.DB_KEY).
# `pair_index` is the row's position among its answer's items (0-based): the order of the
# request's budgets and line items, which the rank features break ties by, follows from it.
# It comes last, where adding it to an older store puts it too.
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
    ("pair_index", "int"),
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
# The same, public: the learning loop rebuilds a request's records from its stored rows.
BUDGET_INPUTS, ITEM_INPUTS = dict(_BUDGET_INPUTS), dict(_ITEM_INPUTS)
_KINDS = dict(RESULT_COLUMNS)
# The columns copied from each pair's budget and line item (for investigating mistakes).
INPUT_COLUMN_NAMES = (*_BUDGET_INPUTS, *_ITEM_INPUTS)


def rows_from_outcome(outcome: ScoringOutcome) -> list[dict[str, Any]]:
    """One JSON-ready row per response item that names both a budget and a line item.

    The response lists the candidate pairs first, in pair order (budget_matcher.responses),
    so item k < len(pairs) is pair k and takes that pair's inputs; the error items after them
    belong to records that never became pairs and carry no inputs. Inputs are converted once
    per budget and per line item, not once per pair. Items of records that could not be read
    at all (no budget id or no itemization id) are counted by the live metrics but not
    stored: they have no pair to investigate.
    """
    template: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    template.update(
        request_id=str(outcome.request_id),
        scored_at=to_iso(outcome.received_at),
        model_version=outcome.model_version,
        threshold=_finite(outcome.threshold),
    )
    pairs = outcome.pairs
    n_pairs = len(pairs) if pairs is not None else 0
    budget_inputs = _record_inputs(pairs.budgets, _BUDGET_INPUTS) if pairs is not None else []
    item_inputs = _record_inputs(pairs.items, _ITEM_INPUTS) if pairs is not None else []
    budget_of = pairs.budget_index.tolist() if pairs is not None else []
    item_of = pairs.item_index.tolist() if pairs is not None else []
    rows = []
    for position, item in enumerate(outcome.items):
        budget_id, item_id = item.get(c.BUDGET_ID), item.get(c.ITEM_ID)
        if budget_id is None or item_id is None:
            continue
        user_id = item.get(c.USER_ID_KEY)
        error = item.get("error")
        matched = item.get("matched")
        row = {
            **template,
            "budget_id": str(budget_id),
            "itemization_id": str(item_id),
            "score": _finite(item.get("score")),
            "matched": matched if isinstance(matched, bool) else None,
            "user_id": None if user_id is None else str(user_id),
            "error_code": error.get("code") if isinstance(error, dict) else None,
            "pair_index": position,
        }
        if position < n_pairs:
            row.update(budget_inputs[budget_of[position]])
            row.update(item_inputs[item_of[position]])
        rows.append(row)
    return rows


def record_input_columns(table: RecordTable, kind: str) -> dict[str, list[Any]]:
    """The investigation inputs `rows_from_outcome` copies, for every record of `table`
    ("budget" or "item"), as columns (batch output joins them to the pairs column-wise)."""
    inputs = _BUDGET_INPUTS if kind == "budget" else _ITEM_INPUTS
    return {column: _column_values(table, field, column) for column, field in inputs.items()}


def _record_inputs(table: RecordTable, inputs: dict[str, str]) -> list[dict[str, Any]]:
    """Per record of `table`: its investigation inputs, converted column by column."""
    columns = {column: _column_values(table, field, column) for column, field in inputs.items()}
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _column_values(table: RecordTable, field: str, column: str) -> list[Any]:
    """One input column as row values: clipped text, finite numbers, ISO datetimes."""
    if field in table.texts:
        return [None if t is None else str(t)[:TEXT_LIMIT] for t in table.texts[field]]
    if field not in table.numbers:
        return [None] * len(table)
    numbers = [_finite(number) for number in table.numbers[field]]
    if _KINDS[column] != "datetime":
        return numbers
    seen: dict[float, str] = {}
    return [
        None
        if number is None
        else seen.get(number) or seen.setdefault(number, _iso_of_epoch(number))
        for number in numbers
    ]


def _iso_of_epoch(seconds: float) -> str:
    return to_iso(datetime.fromtimestamp(seconds, tz=UTC))


def whole(value: Any) -> int | None:
    """An int, or None for missing / fractional / non-numeric values (an "int" column)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    number = _finite(value)
    return int(number) if number is not None and number.is_integer() else None


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


def rows_to_compact(rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows as tuples in `COLUMN_NAMES` order (the compact log-line form)."""
    pick = itemgetter(*COLUMN_NAMES)
    return [pick(row) for row in rows]


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
