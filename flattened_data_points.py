"""Payload → validated candidate pairs (column arrays) and per-record error items.

`FlattenedDataPoints(payload).all()` never raises on client data. It accepts one user's seed
payload, `{"users": [payload, ...]}` or a JSON list of payloads; pairs are the cross product of
one user's valid budgets and valid line items. Missing values are kept as missing (the model
handles them); values that are present but unreadable make their record an error, reported once
per pair the record would have formed. The first record with a given id wins; later duplicates
are reported as `duplicate_id` errors.

Bounds: a user of more than `max_pairs_per_user` candidate pairs is refused (`too_many_pairs`:
split the user's budgets across calls, each call with all of the user's line items); users are
admitted in order while the answer's estimated size fits `answer_bytes` (Lambda's 6 MB
response limit less room for the envelope), and each later user is refused on its own
(`answer_too_large`: send it in another call), so no answer exceeds what Lambda can return.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from budget_matcher import contract as c
from budget_matcher.pairs import CandidatePairs, RecordTable
from budget_matcher.records import RecordReader, Records, pair_errors
from budget_matcher.values import ValueProblem, decimal_digits, parse_amount, parse_datetime
from budget_matcher.values import parse_text as parse_text_value

_STR = frozenset({str})
DEFAULT_MAX_PAIRS_PER_USER = 50_000
# Lambda answers at most 6 MB (10^6 bytes each, conservatively); 64 kB stay for the envelope.
DEFAULT_ANSWER_BYTES = 6_000_000 - 64_000
# Bytes of one answer item beyond its ids, as the larger of a direct invoke's answer and an
# HTTP body (quotes escaped again): 82 (+17 with a user id); an error item's extra bytes
# (code, message of at most ~300 characters, field).
ITEM_BYTES = 84
USER_KEY_BYTES = 17
ERROR_ITEM_EXTRA_BYTES = 400

_BUDGET_NUMBERS = {
    c.BUDGET_PRICE: parse_amount,
    c.BUDGET_ACTUAL_COST: parse_amount,
    c.BUDGET_TRIP_START: parse_datetime,
    c.BUDGET_TRIP_END: parse_datetime,
    c.BUDGET_GENERATED_AT: parse_datetime,
}
_ITEM_NUMBERS = {c.ITEM_AMOUNT: parse_amount, c.ITEM_DATE: parse_datetime}
# (number fields, text fields) of each kind of record, in the order they are validated
_BUDGET_FIELDS = (
    tuple(_BUDGET_NUMBERS),
    (c.BUDGET_TYPE, c.BUDGET_TRAVEL_VENDOR, c.BUDGET_PURCHASE_VENDOR),
)
_ITEM_FIELDS = (
    tuple(_ITEM_NUMBERS),
    (c.ITEM_TYPE_NAME, c.ITEM_CATEGORY, c.ITEM_VENDOR, c.EXPENSE_TYPE_NAME, c.EXPENSE_CATEGORY),
)


@dataclass
class FlattenedBatch:
    """The flattened request: pairs to score, error items, and how many users it held."""

    pairs: CandidatePairs
    error_items: list[dict[str, Any]] = field(default_factory=list)
    n_users: int = 0


class FlattenedDataPoints:
    """Turns a request payload into candidate pairs plus error items."""

    def __init__(
        self,
        payload: object,
        max_pairs_per_user: int = DEFAULT_MAX_PAIRS_PER_USER,
        answer_bytes: int = DEFAULT_ANSWER_BYTES,
    ):
        self.payload = payload
        self.max_pairs_per_user = max_pairs_per_user
        self.answer_bytes = answer_bytes
        self._answer_left = answer_bytes
        self._reader = RecordReader(_BUDGET_NUMBERS | _ITEM_NUMBERS)

    def all(self) -> FlattenedBatch:
        """Validate every record and build the pairs of every user."""
        budgets, items = RecordTable(), RecordTable()
        budget_index: list[np.ndarray] = []
        item_index: list[np.ndarray] = []
        errors: list[dict[str, Any]] = []
        n_users = 0
        for user in self._users(errors):
            n_users += 1
            self._flatten_user(user, budgets, items, budget_index, item_index, errors)
        pairs = CandidatePairs.empty()
        if budget_index:
            pairs = CandidatePairs(
                budgets, items, np.concatenate(budget_index), np.concatenate(item_index)
            )
        return FlattenedBatch(pairs, errors, n_users)

    def _users(self, errors: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        payload = self.payload
        if isinstance(payload, dict) and c.USERS_KEY in payload:
            payload = payload[c.USERS_KEY]
            if not isinstance(payload, list):
                errors.append(c.error_item("invalid_payload", "'users' must be a list", "users"))
                return
        if isinstance(payload, dict):
            payload = [payload]
        if not isinstance(payload, list):
            kind = type(payload).__name__
            errors.append(
                c.error_item("invalid_payload", f"expected a JSON object or list, got {kind}")
            )
            return
        for position, user in enumerate(payload):
            if not isinstance(user, dict):
                errors.append(
                    c.error_item("invalid_payload", f"users[{position}] is not a JSON object")
                )
                continue
            try:
                parse_text_value(user.get(c.USER_ID_KEY))
            except ValueProblem as problem:
                message = f"users[{position}].{c.USER_ID_KEY}: {problem.message}"
                errors.append(c.error_item(problem.code, message, c.USER_ID_KEY))
                continue
            if c.BUDGETS_KEY not in user and c.LINE_ITEMS_KEY not in user:
                message = (
                    f"users[{position}] has neither '{c.BUDGETS_KEY}' nor '{c.LINE_ITEMS_KEY}'"
                )
                errors.append(c.error_item("missing_field", message, c.BUDGETS_KEY))
                continue
            yield user

    def _flatten_user(
        self,
        user: dict[str, Any],
        budgets: RecordTable,
        items: RecordTable,
        budget_index: list[np.ndarray],
        item_index: list[np.ndarray],
        errors: list[dict[str, Any]],
    ) -> None:
        user_id = parse_text_value(user.get(c.USER_ID_KEY))  # checked in _users
        n_pairs = _count(user, c.BUDGETS_KEY) * _count(user, c.LINE_ITEMS_KEY)
        if not self._admit(n_pairs, n_pairs * ITEM_BYTES, user_id, errors):
            return  # cheapest check first: the pairs alone cannot fit
        raw_budgets, raw_items = _raw_ids(user, c.BUDGETS_KEY), _raw_ids(user, c.LINE_ITEMS_KEY)
        # Refused before any record is validated when even an all-valid answer cannot fit.
        if not self._admit(n_pairs, _answer_size(raw_budgets, raw_items, user_id), user_id, errors):
            return
        user_budgets = self._records(user, c.BUDGETS_KEY, user_id, errors)
        user_items = self._records(user, c.LINE_ITEMS_KEY, user_id, errors)
        problems = len(user_budgets.problems) * max(len(user_items), 1) + len(
            user_items.problems
        ) * max(len(user_budgets), 1)
        size = _answer_size(raw_budgets, raw_items, user_id, problems)
        if not self._admit(n_pairs, size, user_id, errors):
            return
        self._answer_left -= size
        valid_budgets = _add_valid(budgets, user_budgets, user_id)
        valid_items = _add_valid(items, user_items, user_id)
        if valid_budgets and valid_items:
            b = np.arange(valid_budgets.start, valid_budgets.stop, dtype=np.int64)
            i = np.arange(valid_items.start, valid_items.stop, dtype=np.int64)
            budget_index.append(np.repeat(b, i.size))
            item_index.append(np.tile(i, b.size))
        if user_budgets.problems or user_items.problems:
            errors.extend(pair_errors(user_budgets, user_items, user_id))

    def _records(
        self, user: dict[str, Any], key: str, user_id: str | None, errors: list[dict[str, Any]]
    ) -> Records:
        """Validate the user's list of budgets or line items (see budget_matcher.records)."""
        raw = user.get(key)
        if raw is None:
            return Records()
        if not isinstance(raw, list):
            message = f"'{key}' must be a list"
            errors.append(c.error_item("invalid_type", message, key, user_id=user_id))
            return Records()
        if key == c.BUDGETS_KEY:
            return self._reader.records(raw, key, c.BUDGET_ID, _BUDGET_FIELDS, user_id, errors)
        return self._reader.records(raw, key, c.ITEM_ID, _ITEM_FIELDS, user_id, errors)

    def _admit(
        self, n_pairs: int, size: int, user_id: str | None, errors: list[dict[str, Any]]
    ) -> bool:
        """True when the user's answer fits; else its one refusal item is added to `errors`."""
        if n_pairs > self.max_pairs_per_user or size > self.answer_bytes:
            message = (
                f"{n_pairs} candidate pairs (an answer of about {size:,} bytes) exceed the limit "
                f"of {self.max_pairs_per_user} pairs or {self.answer_bytes:,} bytes per user: "
                "split the user's budgets across calls, each call with all of its line items"
            )
            errors.append(c.error_item("too_many_pairs", message, user_id=user_id))
            return False
        if size > self._answer_left:
            message = (
                f"this user's answer (about {size:,} bytes) does not fit in what is left of "
                f"this call's {self.answer_bytes:,}-byte answer: send the user in another call"
            )
            errors.append(c.error_item("answer_too_large", message, user_id=user_id))
            return False
        return True


def _escaped_bytes(value: Any) -> int:
    """Bytes of a text inside an HTTP answer's body: JSON-escaped twice (quotes included)."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return decimal_digits(value) + 4  # \"digits\", never str() of a 5,000-digit int
    text = value if isinstance(value, str) else str(value)
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return len(text) + 4  # \"text\"
    return len(json.dumps(json.dumps(text))) - 2


def _count(user: dict[str, Any], key: str) -> int:
    """Records under `key` (1 when none: a user's pairs are at least one item)."""
    raw = user.get(key)
    return max(len(raw), 1) if isinstance(raw, list) else 1


def _raw_ids(user: dict[str, Any], key: str) -> tuple[int, int]:
    """How many records `key` holds and the escaped bytes of their ids, before validation (0
    for a record without a usable id)."""
    raw = user.get(key)
    if not isinstance(raw, list):
        return 0, 0
    id_field = c.BUDGET_ID if key == c.BUDGETS_KEY else c.ITEM_ID
    ids = [entry.get(id_field) if isinstance(entry, dict) else None for entry in raw]
    if _STR.issuperset(map(type, ids)):  # the common case: all ids measured at once
        # Escaping is per character: n ids cost their characters plus 4 bytes of quotes each;
        # joined by spaces they cost the same characters, n − 1 spaces and 4 bytes once.
        joined = " ".join(cast(list[str], ids))
        return len(ids), _escaped_bytes(joined) + 3 * len(ids) - 3 if ids else 0
    sizes = [_escaped_bytes(value) if isinstance(value, (str, int)) else 0 for value in ids]
    return len(sizes), sum(sizes)


def _answer_size(
    budget_ids: tuple[int, int], item_ids: tuple[int, int], user_id: str | None, problems: int = 0
) -> int:
    """An estimate, never below the truth, of the bytes of the user's answer items: every pair
    an item with both ids (each id list as (count, bytes) from `_raw_ids`); `problems` of them
    error items."""
    n_budgets, n_items = max(budget_ids[0], 1), max(item_ids[0], 1)
    per_pair = ITEM_BYTES + (USER_KEY_BYTES + _escaped_bytes(user_id) if user_id else 0)
    return (
        n_budgets * n_items * per_pair
        + n_items * budget_ids[1]
        + n_budgets * item_ids[1]
        + problems * ERROR_ITEM_EXTRA_BYTES
    )


def _add_valid(table: RecordTable, records: Records, user_id: str | None) -> range:
    """Append the records without problems to `table`, column by column."""
    ids, numbers, texts = records.valid()
    return table.extend(ids, user_id, numbers, texts) if ids else range(0)
