"""Candidate pairs as column arrays: the hand-off from flattening to features and scoring.

Budgets and line items of every user in a request sit in two column tables; a pair is two row
indices into them. Pairs only ever join rows of the same user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from budget_matcher.columns import distinct


@dataclass
class RecordTable:
    """Validated records of one kind (budgets or line items), one entry per row in each column."""

    ids: list[str] = field(default_factory=list)
    users: list[str | None] = field(default_factory=list)
    # the user's position in its request: the user of a row, even when ids repeat or are absent
    groups: list[int] = field(default_factory=list)
    numbers: dict[str, list[float]] = field(default_factory=dict)
    texts: dict[str, list[str | None]] = field(default_factory=dict)
    _distinct: dict[str, tuple[np.ndarray, list[str | None]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def extend(
        self,
        record_ids: list[str],
        user_id: str | None,
        numbers: dict[str, list[float]],
        texts: dict[str, list[str | None]],
        group: int = 0,
    ) -> range:
        """Add rows column by column (every column list as long as `record_ids`).

        Returns the new rows' indices.
        """
        first = len(self.ids)
        self._distinct.clear()
        self.ids.extend(record_ids)
        self.users.extend([user_id] * len(record_ids))
        self.groups.extend([group] * len(record_ids))
        for name, column in numbers.items():
            if name not in self.numbers:  # a column new to the table: earlier rows are missing
                self.numbers[name] = [np.nan] * first
            self.numbers[name].extend(column)
        for name, text_column in texts.items():
            if name not in self.texts:
                self.texts[name] = [None] * first
            self.texts[name].extend(text_column)
        return range(first, len(self.ids))

    def number(self, name: str) -> np.ndarray:
        """A numeric column as float64 (NaN = missing)."""
        return np.asarray(self.numbers.get(name, [np.nan] * len(self.ids)), dtype=np.float64)

    def text(self, name: str) -> list[str | None]:
        """A text column (None = missing)."""
        return self.texts.get(name, [None] * len(self.ids))

    def distinct_text(self, name: str) -> tuple[np.ndarray, list[str | None]]:
        """A text column as `budget_matcher.columns.distinct` codes it (computed once)."""
        coded = self._distinct.get(name)
        if coded is None:
            coded = self._distinct[name] = distinct(self.text(name))
        return coded

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class CandidatePairs:
    """Every (budget, line item) pair to score, as indices into the two tables."""

    budgets: RecordTable
    items: RecordTable
    budget_index: np.ndarray  # int64, one per pair
    item_index: np.ndarray  # int64, one per pair

    def __len__(self) -> int:
        return int(self.budget_index.shape[0])

    @property
    def budget_ids(self) -> list[str]:
        """The budget id of each pair."""
        return take(self.budgets.ids, self.budget_index)

    @property
    def itemization_ids(self) -> list[str]:
        """The itemization id of each pair."""
        return take(self.items.ids, self.item_index)

    @property
    def user_ids(self) -> list[str | None]:
        """The user id of each pair (None when the request named no user)."""
        return take(self.budgets.users, self.budget_index)

    def subset(self, keep: np.ndarray) -> CandidatePairs:
        """The pairs where the mask `keep` is True, over the same tables."""
        return CandidatePairs(
            self.budgets, self.items, self.budget_index[keep], self.item_index[keep]
        )

    @classmethod
    def empty(cls) -> CandidatePairs:
        """No pairs at all."""
        none = np.zeros(0, dtype=np.int64)
        return cls(RecordTable(), RecordTable(), none, none.copy())


def take(values: list[Any], index: np.ndarray) -> list[Any]:
    """`[values[i] for i in index]`, gathered by numpy (one C loop, no per-pair bytecode)."""
    table = np.empty(len(values), dtype=object)
    table[:] = values
    return table[index].tolist()
