"""Hypothesis strategies for requests whose ids, values and records vary in every way the
answer's size and meaning depend on: escapes, non-ASCII, lone surrogates, numbers as ids,
duplicates, unreadable values, records that form no pair."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from budget_matcher import contract as c

SEED_BUDGET = c.SEED_EXAMPLE["budgets"][0]
SEED_ITEM = c.SEED_EXAMPLE["all_user_expense_lineitems"][0]

_ID_CHARS = st.sampled_from(list('ab7Z "\\/\n\t\x01\x7fé€😀\u2028\ud800'))
ids = st.one_of(
    st.text(_ID_CHARS, min_size=1, max_size=40),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from(["309366", "4659496", "b1", " b1 ", "x" * 300]),
)
amounts = st.sampled_from(["140.0", "24.0", "131.98", "-24.0", "1,234.50", "abc", None, 12, ""])
dates = st.sampled_from(
    ["2017-04-18 04:00:00", "2017-04-25 00:00:00", "2017-04-10", "not a date", None]
)
vendors = st.sampled_from(["Southwest Airlines", "taxi", "Marriott", None, "Expedia", 5])


@st.composite
def records(draw: st.DrawFn, seed: dict[str, Any], id_field: str, fields: dict[str, Any]) -> Any:
    """A record shaped like `seed`, its id and `fields` drawn (now and then no object, or
    without an id)."""
    if draw(st.integers(0, 30)) == 0:
        return draw(st.sampled_from(["not a record", 7, None]))
    record = copy.deepcopy(seed)
    record[id_field] = draw(st.one_of(ids, st.just(None))) if draw(st.booleans()) else "R1"
    record.update({name: draw(values) for name, values in fields.items()})
    return record


def budgets() -> Any:
    """A budget record."""
    fields = {
        "actual_cost_budget": amounts,
        "start_datetime_trips": dates,
        "travel_vendor_receipts": vendors,
        "budget_type_budget": st.sampled_from(["flight", "hotel", "car", None]),
    }
    return records(SEED_BUDGET, "budget_id", fields)


def line_items() -> Any:
    """A line item record."""
    fields = {
        "expensed_amount_itemization": amounts,
        "transaction_date_itemization": dates,
        "vendor_name_expense": vendors,
        "expense_type_name_itemization": st.sampled_from(["Taxi", "Airfare", "Hotel"]),
    }
    return records(SEED_ITEM, "itemization_id", fields)


@st.composite
def users(draw: st.DrawFn, user_id: Any = None) -> dict[str, Any]:
    """One user's payload: budgets and line items (either list may be empty)."""
    user: dict[str, Any] = {
        c.BUDGETS_KEY: draw(st.lists(budgets(), max_size=6)),
        c.LINE_ITEMS_KEY: draw(st.lists(line_items(), max_size=6)),
    }
    if user_id is not None:
        user[c.USER_ID_KEY] = user_id
    return user


@st.composite
def batches(draw: st.DrawFn) -> dict[str, Any]:
    """{"users": [...]} of 1–4 users with distinct ids (or one user without an id)."""
    n = draw(st.integers(1, 4))
    names = draw(
        st.lists(
            st.one_of(st.text(_ID_CHARS, min_size=1, max_size=12), st.integers(0, 99)),
            min_size=n,
            max_size=n,
            unique_by=lambda v: str(v).strip(),
        )
    )
    names = [name for name in names if str(name).strip()] or ["u"]
    return {c.USERS_KEY: [draw(users(name)) for name in names]}
