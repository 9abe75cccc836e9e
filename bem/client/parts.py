"""A payload → calls of the right size, and the answers → items in input order.

A *unit* is what one call answers for one user: the whole user, or (when its answer is larger
than one call's) the user with `answer_budgets` naming some of its budgets, so that features
and decisions still see the whole user and the split answer is exactly the unsplit one. Units
are sized with the service's own estimator (`flattened_data_points.user_answer`) and packed in
order into calls within the answer bound, the work bound (candidate pairs computed), the
request bound, and with each user id at most once per call (items are told apart by it). Only
a user beyond one call's request or work bound is cut into pieces of its records (`split_user`:
features then see the piece only; `one_budget_per_item` decides `matched` across the pieces).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from budget_matcher import contract as c
from budget_matcher.answer_size import AnswerShape
from budget_matcher.values import ValueProblem, parse_identifier, parse_text
from flattened_data_points import DEFAULT_ANSWER_BYTES, answer_budgets, user_answer, user_pairs

MAX_REQUEST_BYTES = 6_000_000  # Lambda's limit is 6,291,456; keep a margin for framing
REFUSALS = frozenset({"answer_too_large", "too_many_pairs"})


@dataclass(frozen=True)
class Limits:
    """What one call may hold: request bytes, answer bytes, candidate pairs computed."""

    request_bytes: int = MAX_REQUEST_BYTES
    answer_bytes: int = DEFAULT_ANSWER_BYTES
    pairs: int = 400_000
    shape: AnswerShape = field(default_factory=AnswerShape)


@dataclass(frozen=True)
class Unit:
    """One user's share of a call: the user as sent, its id as answered, its costs."""

    position: int  # the user's index in the input
    user: Any
    key: str | None
    size: int  # answer bytes (the service's estimate)
    pairs: int
    request_bytes: int
    cut: tuple[int, ...] = ()  # the piece, when the user's records were cut
    alone: bool = False  # refused once in company: sent in a call of its own


@dataclass
class Part:
    """One call: its units."""

    units: list[Unit]

    @property
    def users(self) -> list[Any]:
        return [unit.user for unit in self.units]

    def payload(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The request body: one user in the seed format, several as {"users": [...]}."""
        users = self.users
        body: dict[str, Any] = {}
        if len(users) == 1 and isinstance(users[0], dict):
            body = dict(users[0])
        else:
            body[c.USERS_KEY] = users
        if options:
            body[c.OPTIONS_KEY] = dict(options)
        return body


def _records(user: Any, key: str) -> list[Any]:
    value = user.get(key) if isinstance(user, dict) else None
    return value if isinstance(value, list) else []


def _size(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":")).encode())


def user_key(user: Any) -> str | None:
    """The user's id as the service answers it (None: no usable id)."""
    try:
        return parse_text(user.get(c.USER_ID_KEY)) if isinstance(user, dict) else None
    except ValueProblem:
        return None


def record_key(value: Any) -> str | None:
    """A record id as the service answers it (None: no usable id)."""
    try:
        return parse_identifier(value)
    except ValueProblem:
        return None


def users_of(payload: Any) -> tuple[list[Any], dict[str, Any] | None]:
    """The users of a seed payload, a `{"users": [...]}` batch or a list, and its options."""
    options = payload.get(c.OPTIONS_KEY) if isinstance(payload, dict) else None
    if isinstance(payload, dict) and c.USERS_KEY in payload:
        users = payload[c.USERS_KEY]
    elif isinstance(payload, dict):
        skip = (c.OPTIONS_KEY, c.FORMAT_KEY)
        users = [{k: v for k, v in payload.items() if k not in skip}]
    else:
        users = payload
    if not isinstance(users, list):
        raise TypeError("payload must be a user's payload, {'users': [...]} or a list of them")
    return users, options if isinstance(options, dict) else None


def halves(user: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The user's records cut in two (budgets first, line items for one budget); None when
    one budget and one item are left."""
    for key in (c.BUDGETS_KEY, c.LINE_ITEMS_KEY):
        records = _records(user, key)
        if len(records) > 1:
            half = len(records) // 2
            return [{**user, key: records[:half]}, {**user, key: records[half:]}]
    return None


def split_user(user: dict[str, Any], max_bytes: int, max_pairs: int) -> list[dict[str, Any]]:
    """One user as pieces of its records within a request size and a pair count."""
    if _size(user) <= max_bytes and user_pairs(user) <= max_pairs:
        return [user]
    pieces = halves(user)
    if pieces is None:
        return [user]
    return [piece for half in pieces for piece in split_user(half, max_bytes, max_pairs)]


def units_of(position: int, user: Any, limits: Limits, cut: tuple[int, ...] = ()) -> list[Unit]:
    """The units that answer one user: itself, parts naming its budgets, or cut pieces."""
    key = user_key(user)
    request = _size(user)
    if not isinstance(user, dict):
        size = user_answer(user, limits.shape).size()
        return [Unit(position, user, key, size, 1, request, cut)]
    pairs = user_pairs(user)
    if request <= limits.request_bytes and pairs <= limits.pairs:
        answer = user_answer(user, limits.shape)
        asked = answer_budgets(user, key, [])
        wanted = [k for k in answer.by_budget if asked is None or k in asked]
        if answer.size(wanted) <= limits.answer_bytes:
            return [Unit(position, user, key, answer.size(wanted), pairs, request, cut)]
        groups = _groups(wanted, answer.fixed, answer.by_budget, limits.answer_bytes)
        if groups is not None:
            units = []
            for group in groups:
                part = {**user, c.ANSWER_BUDGETS_KEY: group}
                size = answer.size(group)
                units.append(Unit(position, part, key, size, pairs, _size(part), cut))
            return units
    pieces = halves(user)
    if pieces is None:  # one budget, one item: the service answers it as it can
        return [Unit(position, user, key, 0, pairs, request, cut)]
    return [
        unit
        for k, piece in enumerate(pieces)
        for unit in units_of(position, piece, limits, (*cut, k))
    ]


def _groups(
    keys: Sequence[str | None], fixed: int, by_budget: Mapping[str | None, int], bound: int
) -> list[list[str | None]] | None:
    """`keys` in order, grouped so that each group's answer fits `bound`; None when one
    budget alone does not fit."""
    groups: list[list[str | None]] = []
    size = bound + 1
    for key in keys:
        own = by_budget.get(key, 0)
        if fixed + own > bound:
            return None
        if size + own > bound:
            groups.append([])
            size = fixed
        groups[-1].append(key)
        size += own
    return groups


def split_unit(unit: Unit, limits: Limits) -> list[Unit]:
    """A unit the service refused or could not answer whole, as smaller units: halves of its
    named budgets, else parts naming budgets, else halves of its records."""
    user = unit.user
    if not isinstance(user, dict):
        return [unit]
    named = user.get(c.ANSWER_BUDGETS_KEY)
    if isinstance(named, list) and len(named) > 1:
        whole = {k: v for k, v in user.items() if k != c.ANSWER_BUDGETS_KEY}
        answer = user_answer(whole, limits.shape)
        units = []
        for group in (named[:half], named[half:]) if (half := len(named) // 2) else ():
            part = {**user, c.ANSWER_BUDGETS_KEY: group}
            size = answer.size([None if k is None else record_key(k) for k in group])
            units.append(replace(unit, user=part, size=size, request_bytes=_size(part)))
        return units
    if named is None:
        smaller = replace(limits, answer_bytes=max(1, unit.size // 2))
        units = units_of(unit.position, user, smaller, unit.cut)
        if len(units) > 1 and all(c.ANSWER_BUDGETS_KEY in u.user for u in units):
            return units
    pieces = halves(user)
    if pieces is None:
        return [unit]
    return [
        piece_unit
        for k, piece in enumerate(pieces)
        for piece_unit in units_of(unit.position, piece, limits, (*unit.cut, k))
    ]


def plan_parts(units: Sequence[Unit], limits: Limits) -> list[Part]:
    """Units packed in order into calls within the limits, each user id once per call."""
    parts: list[Part] = []
    current: list[Unit] = []
    keys: set[str | None] = set()
    size = pairs = request = 0
    for unit in units:
        full = current and (
            unit.alone
            or current[0].alone
            or unit.key in keys
            or size + unit.size > limits.answer_bytes
            or pairs + unit.pairs > limits.pairs
            or request + unit.request_bytes + 1 > limits.request_bytes
        )
        if full:
            parts.append(Part(current))
            current, keys, size, pairs, request = [], set(), 0, 0, 0
        current.append(unit)
        keys.add(unit.key)
        size, pairs, request = size + unit.size, pairs + unit.pairs, request + unit.request_bytes
    if current:
        parts.append(Part(current))
    return parts


def items_by_unit(part: Part, items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The call's items, per unit (told apart by user id; the one unit of a call gets all)."""
    if len(part.units) == 1:
        return [items]
    index = {unit.key: k for k, unit in enumerate(part.units)}
    shares: list[list[dict[str, Any]]] = [[] for _ in part.units]
    for item in items:
        shares[index.get(item.get(c.USER_ID_KEY), 0)].append(item)
    return shares


def refusal(items: list[dict[str, Any]]) -> str | None:
    """The code when the service refused the unit (its one item says so), else None."""
    for item in items:
        error = item.get("error")
        code = error.get("code") if isinstance(error, dict) else None
        if code in REFUSALS and item.get(c.BUDGET_ID) is None and c.RECORD_KEY not in item:
            return str(code)
    return None


def in_input_order(user: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One user's items sorted as its input: budget, then line item (stable; items of records
    that form no pair last)."""
    last = float("inf")
    budgets: dict[str | None, int] = {}
    line_items: dict[str | None, int] = {}
    for k, budget in enumerate(_records(user, c.BUDGETS_KEY)):
        if isinstance(budget, dict):
            budgets.setdefault(record_key(budget.get(c.BUDGET_ID)), k)
    for k, line_item in enumerate(_records(user, c.LINE_ITEMS_KEY)):
        if isinstance(line_item, dict):
            line_items.setdefault(record_key(line_item.get(c.ITEM_ID)), k)
    budgets.pop(None, None)
    line_items.pop(None, None)

    def key(item: dict[str, Any]) -> tuple[float, float]:
        return (
            budgets.get(item.get(c.BUDGET_ID), last),
            line_items.get(item.get(c.ITEM_ID), last),
        )

    return sorted(items, key=key)


def one_budget_per_item(items: list[dict[str, Any]]) -> None:
    """Decide `matched` across the cut pieces of one user, as the service decides it within a
    call (`budget_matcher.decisions`, method `best`): a line item stays matched only on its
    highest-scoring budget (the first in input order on ties)."""
    best: dict[Any, int] = {}
    for k, item in enumerate(items):
        if item.get("matched") and item.get("score") is not None:
            key = item.get(c.ITEM_ID)
            if key not in best or item["score"] > items[best[key]]["score"]:
                best[key] = k
    for k, item in enumerate(items):
        if item.get("matched") and best.get(item.get(c.ITEM_ID)) != k:
            item["matched"] = False


def failed_items(unit: Unit, code: str, message: str) -> list[dict[str, Any]]:
    """Error items for every pair of a unit that could not be scored (its named budgets)."""
    user = unit.user
    user_id = user.get(c.USER_ID_KEY) if isinstance(user, dict) else None
    named = user.get(c.ANSWER_BUDGETS_KEY) if isinstance(user, dict) else None
    wanted = {record_key(k) for k in named} if isinstance(named, list) else None
    budgets = [
        b
        for b in _records(user, c.BUDGETS_KEY)
        if wanted is None
        or record_key(b.get(c.BUDGET_ID) if isinstance(b, dict) else None) in wanted
    ]
    line_items = _records(user, c.LINE_ITEMS_KEY)
    items: list[dict[str, Any]] = []
    if not budgets or not line_items:
        items.append(c.error_item(code, message, user_id=user_id))
    for budget in budgets:
        for line_item in line_items:
            items.append(
                c.error_item(
                    code,
                    message,
                    budget_id=budget.get(c.BUDGET_ID) if isinstance(budget, dict) else None,
                    itemization_id=(
                        line_item.get(c.ITEM_ID) if isinstance(line_item, dict) else None
                    ),
                    user_id=user_id,
                )
            )
    return items


def answer_items(document: Any) -> list[dict[str, Any]] | None:
    """The items of an answer in any form (list, envelope, columns), as the list form holds
    them; None when the answer is none of these."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("results"), list):
        return list(document["results"])
    if document.get(c.FORMAT_KEY) != c.COLUMNS_FORMAT:
        return None
    items: list[dict[str, Any]] = []
    for entry in document.get(c.USERS_KEY) or []:
        budget_ids, item_ids, b, i, scores, matched = (entry[name] for name in c.COLUMN_NAMES)
        user_id = entry.get(c.USER_ID_KEY)
        for k, score in enumerate(scores):
            item = {
                "score": score,
                "budget_id": budget_ids[b[k]],
                "itemization_id": item_ids[i[k]],
                "matched": bool(matched[k]),
            }
            if user_id is not None:
                item[c.USER_ID_KEY] = user_id
            items.append(item)
    return items + list(document.get("errors") or [])
