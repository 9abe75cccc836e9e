"""A checked history → per-user records, the training dataset, request payloads, a template.

Pairs are formed within a user, as the Lambda forms them (all its budgets × all its items);
a user whose budgets × items exceed the runtime's pair limit is refused here (a missing or
wrong `user_id` is the usual cause) instead of ending in a model trained on no pair.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from bem.data.check import History
from bem.data.columns import KNOWN, HistoryError
from bem.data.shapes import PAIRS
from bem.model.dataset import Dataset, UserRecords, build_dataset
from budget_matcher import contract
from flattened_data_points import DEFAULT_MAX_PAIRS_PER_USER


def history_users(history: History) -> list[UserRecords]:
    """The readable rows grouped by user; refused when a user has too many pairs."""
    users = history.users
    for user in users:
        n_pairs = len(user.budgets) * len(user.items)
        if n_pairs > DEFAULT_MAX_PAIRS_PER_USER:
            raise HistoryError(
                f"user {user.user_id!r} has {len(user.budgets)} budgets × {len(user.items)} items"
                f" = {n_pairs} candidate pairs, over the runtime's {DEFAULT_MAX_PAIRS_PER_USER}:"
                " pairs are formed within a user, so check that user_id names the traveller"
            )
    return users


def history_dataset(history: History, unlisted: str = "negative") -> Dataset:
    """The labelled dataset of a history (features by the runtime's code); refused when it
    holds one class only. Records and tables list matches: their unlisted pairs are no match."""
    if history.shape != PAIRS and unlisted != "negative":
        raise HistoryError(
            f"a {history.shape} history lists matches only: its unlisted pairs are no match "
            "(drop --unlisted drop)"
        )
    dataset = build_dataset(history_users(history), unlisted, n_rows=history.n_readable)
    matches = int(dataset.labels.sum())
    if len(dataset) == 0 or matches == 0:
        raise HistoryError(
            f"{history.path}: no candidate pair is labelled a match; is_match must be 1 (or "
            "true/yes, or a word given with --labels) on the rows that pair an item with its "
            "budget"
        )
    if matches == len(dataset):
        raise HistoryError(
            f"{history.path}: every one of the {matches} candidate pairs is a match: a model "
            "needs non-matches too (rows labelled 0, or budgets and items no row pairs)"
        )
    return dataset


def history_payload(history: History, user_id: str | None = None) -> dict[str, Any]:
    """The request payload of a history: one user's seed payload, or a batch of all users."""
    users = history_users(history)
    if user_id is not None:
        chosen = [u for u in users if u.user_id == user_id]
        if not chosen:
            names = ", ".join(u.user_id for u in users[:5])
            raise HistoryError(f"no user {user_id!r} in {history.path} (users: {names}, …)")
        payload = chosen[0].payload()
        payload.pop(contract.USER_ID_KEY, None)
        return payload
    return {contract.USERS_KEY: [u.payload() for u in users]}


def template_csv() -> str:
    """A history CSV with every column and two rows: the seed's example, unmatched and matched."""
    budget = contract.SEED_EXAMPLE[contract.BUDGETS_KEY][0]
    item = contract.SEED_EXAMPLE[contract.LINE_ITEMS_KEY][0]
    flight = {
        **item,
        contract.ITEM_ID: "4659497",
        contract.ITEM_AMOUNT: "131.98",
        contract.ITEM_TYPE_NAME: "Airfare",
        contract.ITEM_CATEGORY: "airfare",
        contract.ITEM_DATE: "2017-04-09 00:00:00",
        contract.ITEM_VENDOR: "SOUTHWEST AIR 5262139",
        contract.EXPENSE_TYPE_NAME: "Airfare",
        contract.EXPENSE_CATEGORY: "airfare",
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(KNOWN), lineterminator="\n")
    writer.writeheader()
    for line_item, label in ((item, "0"), (flight, "1")):
        writer.writerow({contract.USER_ID_KEY: "u1", **budget, **line_item, contract.LABEL: label})
    return out.getvalue()
