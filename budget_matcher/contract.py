"""The request/response contract (seed format, 2017) in one place.

Request: {"budgets": [...], "all_user_expense_lineitems": [...]} for one user, all values
strings (any may be null or missing). A batch of users: {"users": [<one user's payload with an
optional "user_id">, ...]} or a top-level JSON list of such payloads. Pairs never cross users.

Response (default): a JSON list, one item per candidate pair:
{"score": 0.0213, "budget_id": "309366", "itemization_id": "4659496", "matched": false}
plus "user_id" when the request named one. A pair or record that cannot be scored keeps its
place with "score": null and "error": {"code", "message", "field"}.
"""

from __future__ import annotations

from typing import Any

from budget_matcher.values import utf8_safe

BUDGETS_KEY = "budgets"
LINE_ITEMS_KEY = "all_user_expense_lineitems"
USERS_KEY = "users"
USER_ID_KEY = "user_id"
OPTIONS_KEY = "options"  # {"response_format": "envelope"} opts in to the envelope
FORMAT_KEY = "format"  # {"format": "columns"} in a direct invoke, as ?format= on the route
# A user's budget ids whose pairs are answered (null: its items naming no budget); features
# and decisions still see all of the user's budgets. bem.client splits large users with it.
ANSWER_BUDGETS_KEY = "answer_budgets"
RECORD_KEY = "record"  # an error item of a record that forms no pair: "budgets[3]"

BUDGET_ID = "budget_id"
BUDGET_TYPE = "budget_type_budget"
BUDGET_PRICE = "budget_price_budget"
BUDGET_ACTUAL_COST = "actual_cost_budget"
BUDGET_TRAVEL_VENDOR = "travel_vendor_receipts"
BUDGET_PURCHASE_VENDOR = "purchase_vendor_receipts"
BUDGET_TRIP_START = "start_datetime_trips"
BUDGET_TRIP_END = "end_datetime_trips"
BUDGET_GENERATED_AT = "generated_at_budget"

BUDGET_FIELDS = (
    BUDGET_ID,
    BUDGET_TYPE,
    BUDGET_PRICE,
    BUDGET_ACTUAL_COST,
    BUDGET_TRAVEL_VENDOR,
    BUDGET_PURCHASE_VENDOR,
    BUDGET_TRIP_START,
    BUDGET_TRIP_END,
    BUDGET_GENERATED_AT,
)

ITEM_ID = "itemization_id"
ITEM_AMOUNT = "expensed_amount_itemization"
ITEM_TYPE_NAME = "expense_type_name_itemization"
ITEM_CATEGORY = "expense_category_itemization"
ITEM_DATE = "transaction_date_itemization"
ITEM_VENDOR = "vendor_name_expense"
EXPENSE_TYPE_NAME = "expense_type_name_expense"
EXPENSE_CATEGORY = "expense_category_expense"

ITEM_FIELDS = (
    ITEM_ID,
    ITEM_AMOUNT,
    ITEM_TYPE_NAME,
    ITEM_CATEGORY,
    ITEM_DATE,
    ITEM_VENDOR,
    EXPENSE_TYPE_NAME,
    EXPENSE_CATEGORY,
)

AMOUNT_FIELDS = (BUDGET_PRICE, BUDGET_ACTUAL_COST, ITEM_AMOUNT)
DATE_FIELDS = (BUDGET_TRIP_START, BUDGET_TRIP_END, BUDGET_GENERATED_AT, ITEM_DATE)

# Training data: the seed's field names plus this label column (1 = the item belongs).
LABEL = "is_match"

COLUMNS_FORMAT = "columns"
RESPONSE_FORMATS = ("list", "envelope", COLUMNS_FORMAT)
# A user's entry in the columns form: its ids once, then one value per pair in each column.
COLUMN_NAMES = ("budget_ids", "itemization_ids", "budget_index", "item_index", "score", "matched")

# The 2017 field report's example: a Southwest flight budget against a $24 taxi ride.
SEED_EXAMPLE: dict[str, Any] = {
    "budgets": [
        {
            "budget_price_budget": "140.0",
            "travel_vendor_receipts": "Southwest Airlines",
            "purchase_vendor_receipts": "Southwest Airlines",
            "budget_id": "309366",
            "start_datetime_trips": "2017-04-18 04:00:00",
            "generated_at_budget": "2017-04-08 14:55:39",
            "budget_type_budget": "flight",
            "actual_cost_budget": "131.98",
            "end_datetime_trips": "2017-04-19 04:00:00",
        }
    ],
    "all_user_expense_lineitems": [
        {
            "expensed_amount_itemization": "24.0",
            "expense_type_name_itemization": "Taxi",
            "transaction_date_itemization": "2017-04-25 00:00:00",
            "itemization_id": "4659496",
            "expense_category_itemization": "taxi",
            "vendor_name_expense": "taxi",
            "expense_type_name_expense": "Taxi",
            "expense_category_expense": "taxi",
        }
    ],
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The `error` object of an error item or of a 400 body (a message quoting client text
    with a lone surrogate gets U+FFFD for it, so every answer encodes as UTF-8)."""
    return {"code": code, "message": utf8_safe(message), "field": field}


def error_item(
    code: str,
    message: str,
    field: str | None = None,
    budget_id: str | None = None,
    itemization_id: str | None = None,
    user_id: str | None = None,
    record: str | None = None,
) -> dict[str, Any]:
    """A response item that could not be scored: score null, the reason in `error`; `record`
    names a record that forms no pair (e.g. a duplicate id: "budgets[3]")."""
    item: dict[str, Any] = {
        "score": None,
        "budget_id": budget_id,
        "itemization_id": itemization_id,
        "matched": None,
        "error": error_body(code, message, field),
    }
    if user_id is not None:
        item[USER_ID_KEY] = user_id
    if record is not None:
        item[RECORD_KEY] = record
    return item
