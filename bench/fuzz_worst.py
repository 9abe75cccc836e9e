"""Crafted worst cases of at most 6 MB for bench/bench_fuzz.py: the most pairs, the most
records, the longest values, the slowest patterns, the most users the answer can hold."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from budget_matcher import contract as c
from budget_matcher.values import MAX_ID_CHARS, MAX_TEXT_CHARS, MAX_VALUE_CHARS

LIMIT = 6_000_000
SEED_BUDGET = c.SEED_EXAMPLE[c.BUDGETS_KEY][0]
SEED_ITEM = c.SEED_EXAMPLE[c.LINE_ITEMS_KEY][0]


def _user(uid: str, n_budgets: int, n_items: int, **values: Any) -> dict[str, Any]:
    budget = {**SEED_BUDGET, **{k: v for k, v in values.items() if k in c.BUDGET_FIELDS}}
    item = {**SEED_ITEM, **{k: v for k, v in values.items() if k in c.ITEM_FIELDS}}
    return {
        c.USER_ID_KEY: uid,
        c.BUDGETS_KEY: [{**budget, c.BUDGET_ID: f"{uid}b{k}"} for k in range(n_budgets)],
        c.LINE_ITEMS_KEY: [{**item, c.ITEM_ID: f"{uid}i{k}"} for k in range(n_items)],
    }


def _fill(make_user: Callable[[int], dict[str, Any]]) -> str:
    """As many users as fit in LIMIT bytes."""
    users: list[dict[str, Any]] = []
    size = 20
    while True:
        user = make_user(len(users))
        extra = len(json.dumps(user)) + 2
        if size + extra > LIMIT:
            break
        users.append(user)
        size += extra
    return json.dumps({c.USERS_KEY: users})


def _pair_cap() -> str:
    return json.dumps(_user("cap", 210, 210))  # 44,100 pairs: near the answer-size bound


def _over_cap() -> str:
    return json.dumps(_user("big", 700, 700))  # 490,000 pairs: refused


def _users_at_answer_bound() -> str:
    return _fill(lambda k: _user(f"u{k}", 40, 40))


def _minimal_records() -> str:
    """6 MB of records holding only an id, one budget per user: the most records."""

    def user(k: int) -> dict[str, Any]:
        return {
            c.BUDGETS_KEY: [{c.BUDGET_ID: "b"}],
            c.LINE_ITEMS_KEY: [{c.ITEM_ID: str(i)} for i in range(200)],
            c.USER_ID_KEY: str(k),
        }

    return _fill(user)


def _longest_values() -> str:
    """Values at every length bound; distinct long vendor texts of many tokens."""

    def user(k: int) -> dict[str, Any]:
        words = " ".join(f"vendor{k}w{n}" for n in range(200))[: MAX_TEXT_CHARS - 1]
        amount = "1" + " " * (MAX_VALUE_CHARS - 6) + "0.00"
        date = "2017-04-18" + " " * (MAX_VALUE_CHARS - 30) + "04:00:00"
        base = _user(
            f"u{k}",
            30,
            30,
            travel_vendor_receipts=words,
            expensed_amount_itemization=amount,
            transaction_date_itemization=date,
        )
        for n, item in enumerate(base[c.LINE_ITEMS_KEY]):
            item[c.ITEM_VENDOR] = f"{n} " + words
            item[c.ITEM_ID] = f"{n}".rjust(MAX_ID_CHARS, "i")
        return base

    return _fill(user)


def _slow_patterns() -> str:
    """Amounts and dates shaped for the old patterns' backtracking, at the length bound."""
    amount = "1" + " " * (MAX_VALUE_CHARS - 2) + "x"
    date = "a" + " " * (MAX_VALUE_CHARS - 2) + "!"
    return _fill(
        lambda k: _user(
            f"u{k}",
            10,
            10,
            expensed_amount_itemization=amount,
            transaction_date_itemization=date,
            budget_price_budget=amount,
            start_datetime_trips=date,
        )
    )


def _distinct_unreadable_values() -> str:
    """Every record with its own unreadable date and amount: no cache helps, every parser
    fails (a failing strptime costs ~20 µs a format: the old way tried all 18)."""

    def user(k: int) -> dict[str, Any]:
        base = _user(f"u{k}", 1, 150)
        for n, item in enumerate(base[c.LINE_ITEMS_KEY]):
            item[c.ITEM_DATE] = f"2017-13-{k}-{n}"
            item[c.ITEM_AMOUNT] = f"{k}.{n}.x"
        for budget in base[c.BUDGETS_KEY]:
            budget[c.BUDGET_TRIP_START] = f"{k}/99/2017"
        return base

    return _fill(user)


def _over_long_values() -> str:
    """Values far over their bounds (refused as too_long, never parsed)."""
    long = "1" + " " * 40_000 + "x"
    return _fill(
        lambda k: _user(
            f"u{k}",
            3,
            3,
            expensed_amount_itemization=long,
            vendor_name_expense=long,
            transaction_date_itemization=long,
        )
    )


WORST_CASES: dict[str, Callable[[], str]] = {
    "one user at the answer bound": _pair_cap,
    "one user over the pair cap": _over_cap,
    "users up to the answer bound": _users_at_answer_bound,
    "6 MB of minimal records": _minimal_records,
    "values at every length bound": _longest_values,
    "old patterns' worst inputs": _slow_patterns,
    "values far over their bounds": _over_long_values,
    "distinct unreadable values": _distinct_unreadable_values,
}


def worst_payload(name: str) -> str:
    """The JSON text of the worst case `name` (≤ 6 MB)."""
    text = WORST_CASES[name]()
    assert len(text.encode()) <= LIMIT, (name, len(text))
    return text
