"""A history's records grouped per user as its rows arrive: budgets and items (the first row
of an id wins), labels, and the pairs excluded because their row could not be read."""

from __future__ import annotations

from typing import Any

from bem.model.dataset import DEFAULT_USER, UserRecords, parse_label
from budget_matcher import contract

Row = dict[str, Any]
EXCLUDED = -1  # the label of a pair excluded: neither a match nor a non-match


def read_label(value: Any, words: dict[str, int]) -> int | None:
    """1, 0, or None: the user's own words first (exactly, then ignoring case), then ours."""
    if isinstance(value, str) and words:
        text = value.strip()
        if text in words:
            return words[text]
        folded = {word.casefold(): label for word, label in words.items()}
        if text.casefold() in folded:
            return folded[text.casefold()]
    return parse_label(value)


class Grouping:
    """Budgets, items and labels per user, as rows arrive (first row of an id wins)."""

    def __init__(self, keep_fields: bool, owners: bool = False) -> None:
        self.keep_fields = keep_fields
        self.owners = owners  # remember whose each id is (tables: links name no user)
        self.users: dict[str, UserRecords] = {}
        self.owner: dict[str, str] = {}  # budget id -> user (for links without user_id)
        self.items_owner: dict[str, str] = {}

    def user(self, row: Row) -> UserRecords:
        user_id = str(row.get(contract.USER_ID_KEY) or DEFAULT_USER)
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = UserRecords(user_id)
        return user

    def add(self, user: UserRecords, row: Row, kind: str) -> None:
        fields = contract.BUDGET_FIELDS if kind == "budget" else contract.ITEM_FIELDS
        key = contract.BUDGET_ID if kind == "budget" else contract.ITEM_ID
        records = user.budgets if kind == "budget" else user.items
        record_id = row[key]
        if record_id not in records:
            records[record_id] = {f: row.get(f) for f in fields} if self.keep_fields else {}
            if self.owners:
                (self.owner if kind == "budget" else self.items_owner)[record_id] = user.user_id

    def ordered_users(self) -> list[UserRecords]:
        """The users in first-seen order, each one's budgets and items by id: a pair's
        features (ranks among equals) never depend on the order or shape of the rows."""
        for user in self.users.values():
            user.budgets = dict(sorted(user.budgets.items()))
            user.items = dict(sorted(user.items.items()))
        return list(self.users.values())

    def label(self, user: UserRecords, row: Row, label: int) -> None:
        key = (row[contract.BUDGET_ID], row[contract.ITEM_ID])
        known = user.labels.get(key)
        if known == EXCLUDED or (not self.keep_fields and label == 0):
            return  # an excluded pair stays excluded; a check counts matches only
        user.labels[key] = label if known is None else max(known, label)


def exclude(grouping: Grouping, row: Row, kind: str) -> int:
    """Exclude the pair of a row left out (when it names both sides): 1 if excluded."""
    budget_id, item_id = row.get(contract.BUDGET_ID), row.get(contract.ITEM_ID)
    if not (isinstance(budget_id, str) and isinstance(item_id, str)):
        return 0
    if kind == "link":
        owner = grouping.owner.get(budget_id)
        if owner is None:
            return 0
        user = grouping.users[owner]
    else:
        user = grouping.user(row)
    user.labels[(budget_id, item_id)] = EXCLUDED
    return 1


def absent_ids(kind: str) -> tuple[str, ...]:
    """The ids a row of `kind` does not have (not read: their absence is its shape)."""
    if kind in ("budget", "missing_id in itemization_id"):
        return (contract.ITEM_ID,)
    if kind in ("item", "missing_id in budget_id"):
        return (contract.BUDGET_ID,)
    return (contract.BUDGET_ID, contract.ITEM_ID) if kind == "no_shape" else ()
