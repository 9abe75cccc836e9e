"""Payload → validated candidate pairs (column arrays) and per-record error items.

`FlattenedDataPoints(payload).all()` never raises on client data. It accepts one user's seed
payload, `{"users": [payload, ...]}` or a JSON list of payloads; pairs are the cross product of
one user's valid budgets and valid line items. Missing values are kept as missing (the model
handles them); values that are present but unreadable make their record an error, reported once
per pair the record would have formed. The first record with a given id wins; a later duplicate
is one `duplicate_id` error item keyed by its `record` ("budgets[3]").

`answer_budgets` in a user names the budget ids whose pairs are answered (null: the user's
items that name no budget); every pair of the user is still built, so features and decisions
see the whole user, and `answered` marks the pairs to answer.

Bounds, one rule each: a user is admitted while its answer's bytes (`budget_matcher.answer_size`,
an upper bound computed before scoring, exact but for each score's length) fit in what is left
of `answer_bytes` (Lambda's 6 MB response limit less room for the envelope); otherwise it gets
one item, `too_many_pairs` when even alone it cannot fit (name fewer `answer_budgets`) or
`answer_too_large` (send it in another call), and later users are still tried, so a smaller
one may be admitted after a refusal. Work is bounded too: `max_pairs_per_call` candidate pairs
computed per call (400,000 for Lambda; with the list or columns form the answer bound is always
reached first unless `answer_budgets` leaves pairs unanswered).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from budget_matcher import contract as c
from budget_matcher.answer_size import AnswerShape, UserAnswer, measure_user
from budget_matcher.pairs import CandidatePairs, RecordTable
from budget_matcher.records import RecordReader, Records, pair_errors
from budget_matcher.values import ValueProblem, parse_amount, parse_datetime, parse_identifier
from budget_matcher.values import parse_text as parse_text_value

# Lambda answers at most 6 MB (10^6 bytes each, conservatively); 64 kB stay for the envelope.
DEFAULT_ANSWER_BYTES = 6_000_000 - 64_000
# Candidate pairs one call computes (memory and time): above what any answer of the columns
# form can hold (at least 15 bytes a pair: 5,936,000 / 15 < 400,000).
DEFAULT_MAX_PAIRS_PER_CALL = 400_000
DEFAULT_MAX_PAIRS_PER_USER = DEFAULT_MAX_PAIRS_PER_CALL
UNBOUNDED = 1 << 62

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
    """The flattened request: pairs to score, error items, how many users it held, and which
    pairs are answered (None: all; else a mask, False for pairs `answer_budgets` leaves out)."""

    pairs: CandidatePairs
    error_items: list[dict[str, Any]] = field(default_factory=list)
    n_users: int = 0
    answered: np.ndarray | None = None


@dataclass
class _UserRecords:
    """One user read: id, records, what to answer, error items and answer bytes."""

    user_id: str | None
    budgets: Records
    items: Records
    answered: set[str | None] | None
    errors: list[dict[str, Any]]
    answer: UserAnswer


class FlattenedDataPoints:
    """Turns a request payload into candidate pairs plus error items."""

    def __init__(
        self,
        payload: object,
        max_pairs_per_user: int = DEFAULT_MAX_PAIRS_PER_USER,
        answer_bytes: int = DEFAULT_ANSWER_BYTES,
        *,
        max_pairs_per_call: int = UNBOUNDED,
        shape: AnswerShape | None = None,
    ):
        self.payload = payload
        self.max_pairs_per_user = max_pairs_per_user
        self.answer_bytes = answer_bytes
        self.max_pairs_per_call = max_pairs_per_call
        self.shape = shape or AnswerShape()
        self._answer_left = answer_bytes
        self._pairs_left = max_pairs_per_call
        self._reader = RecordReader(_BUDGET_NUMBERS | _ITEM_NUMBERS)

    @property
    def admitted_bytes(self) -> int:
        """The estimated answer bytes of the users admitted so far."""
        return self.answer_bytes - self._answer_left

    def all(self) -> FlattenedBatch:
        """Validate every record and build the pairs of every user."""
        budgets, items = RecordTable(), RecordTable()
        budget_index: list[np.ndarray] = []
        item_index: list[np.ndarray] = []
        answered: list[np.ndarray] = []
        partial = False
        errors: list[dict[str, Any]] = []
        n_users = 0
        for user in self._users(errors):
            n_users += 1
            read = self._admitted(user, errors)
            if read is None:
                continue
            valid_budgets = _add_valid(budgets, read.budgets, read.user_id, n_users)
            valid_items = _add_valid(items, read.items, read.user_id, n_users)
            if valid_budgets and valid_items:
                b = np.arange(valid_budgets.start, valid_budgets.stop, dtype=np.int64)
                i = np.arange(valid_items.start, valid_items.stop, dtype=np.int64)
                budget_index.append(b.repeat(i.size))  # np.repeat / np.tile, without
                item_index.append(i[None, :].repeat(b.size, axis=0).ravel())  # their wrappers
                wanted = np.ones(b.size, dtype=bool)
                if read.answered is not None:
                    partial = True
                    wanted = np.fromiter(
                        (budget in read.answered for budget in read.budgets.valid()[0]), bool
                    )
                answered.append(wanted.repeat(i.size))
            errors.extend(read.errors)
        pairs = CandidatePairs.empty()
        if budget_index:
            pairs = CandidatePairs(
                budgets, items, np.concatenate(budget_index), np.concatenate(item_index)
            )
        mask = np.concatenate(answered) if partial else None
        return FlattenedBatch(pairs, errors, n_users, mask)

    def _users(self, errors: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        payload = self.payload
        single = isinstance(payload, dict)
        if isinstance(payload, dict) and c.USERS_KEY in payload:
            payload, single = payload[c.USERS_KEY], False
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
            where = "the payload" if single else f"users[{position}]"
            if not isinstance(user, dict):
                errors.append(c.error_item("invalid_payload", f"{where} is not a JSON object"))
                continue
            try:
                parse_text_value(user.get(c.USER_ID_KEY))
            except ValueProblem as problem:
                message = f"{where}.{c.USER_ID_KEY}: {problem.message}"
                errors.append(c.error_item(problem.code, message, c.USER_ID_KEY))
                continue
            if c.BUDGETS_KEY not in user and c.LINE_ITEMS_KEY not in user:
                message = f"{where} has neither '{c.BUDGETS_KEY}' nor '{c.LINE_ITEMS_KEY}'"
                errors.append(c.error_item("missing_field", message, c.BUDGETS_KEY))
                continue
            yield user

    def read_user(
        self, user: dict[str, Any], answered: set[str | None] | None = None
    ) -> _UserRecords:
        """The user's records, its error items (those of `answered` budgets only, when named)
        and its answer bytes."""
        user_id = parse_text_value(user.get(c.USER_ID_KEY))  # checked in _users
        errors: list[dict[str, Any]] = []
        budgets = self._records(user, c.BUDGETS_KEY, user_id, errors)
        items = self._records(user, c.LINE_ITEMS_KEY, user_id, errors)
        if budgets.problems or items.problems:
            errors.extend(pair_errors(budgets, items, user_id))
        if answered is not None:
            errors = [item for item in errors if item.get(c.BUDGET_ID) in answered]
        answer = measure_user(user_id, budgets.valid()[0], items.valid()[0], errors, self.shape)
        return _UserRecords(user_id, budgets, items, answered, errors, answer)

    def _admitted(self, user: dict[str, Any], errors: list[dict[str, Any]]) -> _UserRecords | None:
        """The user read, when its work and answer fit; else None and its one refusal item."""
        user_id = parse_text_value(user.get(c.USER_ID_KEY))
        n_pairs = user_pairs(user)
        limit = min(self.max_pairs_per_user, self.max_pairs_per_call)
        refusal = _refusal(  # work first: refused before any record is read
            n_pairs,
            limit,
            self._pairs_left,
            f"{n_pairs:,} candidate pairs exceed the {limit:,} one call computes: send fewer "
            "budgets or line items per call",
            f"this user's {n_pairs:,} candidate pairs do not fit in what is left of this call's "
            f"{self.max_pairs_per_call:,}",
        )
        read = None
        least_pair = self.shape.least_pair_bytes(user_id)
        # surely too large: refused unread. The distinct usable ids are at most the records
        # that `n_pairs` counts, so a user whose records fit at `least_pair` parses no id here.
        if (
            refusal is None
            and c.ANSWER_BUDGETS_KEY not in user
            and n_pairs * least_pair > min(self.answer_bytes, self._answer_left)
        ):
            least = (
                _id_count(user, c.BUDGETS_KEY, c.BUDGET_ID)
                * _id_count(user, c.LINE_ITEMS_KEY, c.ITEM_ID)
                * least_pair
            )
            refusal = _refusal(
                least,
                self.answer_bytes,
                self._answer_left,
                f"this user's answer (at least {least:,} bytes) exceeds the "
                f"{self.answer_bytes:,} bytes of one call's answer: name the budgets to answer "
                f"in '{c.ANSWER_BUDGETS_KEY}' and send the user in several calls, each with all "
                "of its records",
                f"this user's answer (at least {least:,} bytes) does not fit in what is left of "
                f"this call's {self.answer_bytes:,}-byte answer",
            )
        if refusal is None:
            problems: list[dict[str, Any]] = []
            answered = answer_budgets(user, user_id, problems)
            if problems:
                errors.extend(problems)
                return None
            read = self.read_user(user, answered)
            size = read.answer.size(answered)
            refusal = _refusal(
                size,
                self.answer_bytes,
                self._answer_left,
                f"this user's answer ({size:,} bytes) exceeds the {self.answer_bytes:,} bytes of "
                f"one call's answer: name the budgets to answer in '{c.ANSWER_BUDGETS_KEY}' and "
                "send the user in several calls, each with all of its records",
                f"this user's answer ({size:,} bytes) does not fit in what is left of this "
                f"call's {self.answer_bytes:,}-byte answer",
            )
        if refusal is not None or read is None:
            errors.append(c.error_item(*(refusal or ("too_many_pairs", "")), user_id=user_id))
            return None
        self._answer_left -= read.answer.size(read.answered)
        self._pairs_left -= n_pairs
        return read

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


def answer_budgets(
    user: dict[str, Any], user_id: str | None, errors: list[dict[str, Any]]
) -> set[str | None] | None:
    """The budget ids the user asks to be answered (None: all); an unreadable list adds one
    error item to `errors` (the user is then refused) and answers None."""
    raw = user.get(c.ANSWER_BUDGETS_KEY)
    if c.ANSWER_BUDGETS_KEY not in user:
        return None
    try:
        if not isinstance(raw, list):
            raise ValueProblem("invalid_type", f"expected a list, got {type(raw).__name__}")
        return {None if value is None else parse_identifier(value) for value in raw}
    except ValueProblem as problem:
        message = f"'{c.ANSWER_BUDGETS_KEY}': {problem.message} (a list of budget ids or null)"
        errors.append(c.error_item(problem.code, message, c.ANSWER_BUDGETS_KEY, user_id=user_id))
        return None


def _refusal(
    cost: int, alone: int, left: int, too_large: str, not_left: str
) -> tuple[str, str] | None:
    """(code, message) when `cost` exceeds a call's bound (`alone`) or what is left of it."""
    if cost > alone:
        return "too_many_pairs", too_large
    if cost > left:
        return "answer_too_large", f"{not_left}: send the user in another call"
    return None


def user_pairs(user: dict[str, Any]) -> int:
    """The candidate pairs a user's scoring computes at most (records before validation)."""
    return _count(user, c.BUDGETS_KEY) * _count(user, c.LINE_ITEMS_KEY)


def _id_count(user: dict[str, Any], key: str, id_field: str) -> int:
    """Distinct usable ids under `key` (each such record may form pairs): never more than the
    records that will form pairs."""
    raw = user.get(key)
    if not isinstance(raw, list):
        return 0
    ids: set[str] = set()
    for entry in raw:
        try:
            ids.add(parse_identifier(entry.get(id_field)))
        except (AttributeError, ValueProblem, ValueError):  # no object, no usable id
            continue
    return len(ids)


def _count(user: dict[str, Any], key: str) -> int:
    """Records under `key` (1 when none: a user's pairs are at least one item)."""
    raw = user.get(key)
    return max(len(raw), 1) if isinstance(raw, list) else 1


def _add_valid(table: RecordTable, records: Records, user_id: str | None, group: int) -> range:
    """Append the records without problems to `table`, column by column."""
    ids, numbers, texts = records.valid()
    return table.extend(ids, user_id, numbers, texts, group) if ids else range(0)


def user_answer(user: Any, shape: AnswerShape | None = None) -> UserAnswer:
    """The answer bytes of `user` by budget, as the service admits it (`bem.client` sizes its
    calls with this same estimate); a user the service refuses unread costs its error items."""
    flattener = FlattenedDataPoints({c.USERS_KEY: [user]}, shape=shape)
    errors: list[dict[str, Any]] = []
    users = list(flattener._users(errors))
    if not users:
        return measure_user(None, (), (), errors, flattener.shape)
    return flattener.read_user(users[0]).answer
