"""The bytes of one user's answer, known before scoring: the one estimator of the service and
of `bem.client`.

A user's answer is its scored pairs (list form: one item each; columns form: its entry in
`users`) plus its error items. Everything in it is known before scoring except each pair's
`score` (at most 8 characters: a probability rounded to 6 places) and `matched` (`false`, 5
characters, in the list form): the estimate counts the ids as the encoder writes them, each
error item exactly, and those two at their longest, so it is an upper bound and, with the
seed's ids, within ~3 % of the truth. `escaped` counts the answer as an HTTP proxy response
carries it: the body is a JSON string inside the response, every `"` and `\\` written twice.

The estimate is split by budget (`UserAnswer.by_budget`) so that a caller can size a part of a
user that names the budgets to answer (`answer_budgets`, see flattened_data_points).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from budget_matcher import contract as c
from budget_matcher import encoding

# A score as the encoder writes it at its longest ("0.123456"); `matched` at its longest.
_LONGEST_SCORE = 0.123456
_LONGEST_MATCHED = False


def json_bytes(value: Any, escaped: bool = False) -> int:
    """Bytes of `value` as compact JSON (escaped: as the string of an HTTP proxy body)."""
    text = encoding.dumps(value)
    return len(encoding.dumps(text.decode("utf-8"))) - 2 if escaped else len(text)


def text_bytes(texts: Sequence[str], escaped: bool = False) -> int:
    """The summed bytes of `texts` as JSON strings, quotes included (one encoder call)."""
    if not texts:
        return 0
    return json_bytes(list(texts), escaped) - len(texts) - 1


def _template(value: Any, escaped: bool, holes: int) -> int:
    """Bytes of a template value whose `holes` strings are empty (each hole counts 0)."""
    return json_bytes(value, escaped) - holes * json_bytes("", escaped)


@dataclass(frozen=True)
class AnswerShape:
    """How a pair and a user's entry are written: the form, the path (escaped or not) and,
    for pairs answered as error items (no model), that error."""

    form: str = c.RESPONSE_FORMATS[0]
    escaped: bool = False
    unscored: tuple[str, str] | None = None

    @property
    def columns(self) -> bool:
        """True when pairs are written as columns (scored pairs only)."""
        return self.form == c.COLUMNS_FORMAT and self.unscored is None

    def pair_item_bytes(self, named: bool) -> int:
        """A list item's bytes beyond its ids (its comma included)."""
        return _pair_item_bytes(self, named)

    def _pair_item_bytes(self, named: bool) -> int:
        if self.unscored is not None:
            item = c.error_item(*self.unscored, budget_id="", itemization_id="")
        else:
            item = {"score": _LONGEST_SCORE, "budget_id": "", "itemization_id": ""}
            item["matched"] = _LONGEST_MATCHED
        if named:
            item[c.USER_ID_KEY] = ""
        return _template(item, self.escaped, 3 if named else 2) + 1

    def entry_bytes(self, named: bool) -> int:
        """A columns entry's bytes beyond its ids and columns (its comma included)."""
        entry: dict[str, Any] = {c.USER_ID_KEY: ""} if named else {}
        entry.update({name: [] for name in c.COLUMN_NAMES})
        return _template(entry, self.escaped, 1 if named else 0) + 1

    def least_pair_bytes(self, user_id: str | None) -> int:
        """The fewest bytes any pair of this user can cost (shortest score, one-character
        ids and indices): a lower bound, to refuse a user that cannot fit without reading it."""
        if self.columns:
            return self.column_pair_bytes() - len(encoding.dumps(_LONGEST_SCORE)) + 3 + 2
        named = user_id is not None
        user_bytes = json_bytes(user_id, self.escaped) if named else 0
        return _least_pair_bytes(self, named) + user_bytes

    def _least_pair_bytes(self, named: bool) -> int:
        shortest = len(encoding.dumps(_LONGEST_SCORE)) - 3 + 1  # "0.0", `true`
        return self.pair_item_bytes(named) - shortest + 2 * json_bytes("x", self.escaped)

    def column_pair_bytes(self) -> int:
        """A pair's bytes in the columns beyond its two indices: score, matched, commas."""
        return len(encoding.dumps(_LONGEST_SCORE)) + 1 + 1 + 1 + 2  # the indices' commas


# A shape's constants, encoded once per shape rather than once per user (a request's users
# share one shape; a frozen AnswerShape is hashable).
@functools.lru_cache(maxsize=64)
def _pair_item_bytes(shape: AnswerShape, named: bool) -> int:
    return shape._pair_item_bytes(named)


@functools.lru_cache(maxsize=64)
def _least_pair_bytes(shape: AnswerShape, named: bool) -> int:
    return shape._least_pair_bytes(named)


def _digits(n: int) -> int:
    return len(str(n))


def _digit_sum(n: int) -> int:
    """Characters of the integers 0 … n − 1 written in decimal."""
    total, width, start = 0, 1, 0
    while start < n:
        stop = min(n, 10**width)
        total += (stop - start) * width
        start, width = stop, width + 1
    return total


@dataclass
class UserAnswer:
    """One user's answer bytes: `fixed` whatever is answered, `by_budget` per answered budget
    id (None: the items that name no budget), and the candidate pairs its scoring computes."""

    fixed: int = 0
    by_budget: dict[str | None, int] = field(default_factory=dict)
    pairs: int = 0

    def size(self, answered: Collection[str | None] | None = None) -> int:
        """Bytes of the answer for `answered` budgets (None: all of them)."""
        if answered is None:
            return self.fixed + sum(self.by_budget.values())
        return self.fixed + sum(self.by_budget.get(key, 0) for key in answered)


def measure_user(
    user_id: str | None,
    budget_ids: Sequence[str],
    item_ids: Sequence[str],
    errors: Sequence[dict[str, Any]],
    shape: AnswerShape,
) -> UserAnswer:
    """The answer bytes of a user whose valid records have these ids and whose error items
    are `errors` (each counted exactly, under its `budget_id`)."""
    answer = UserAnswer(pairs=len(budget_ids) * len(item_ids))
    for item in errors:
        key = item.get(c.BUDGET_ID)
        answer.by_budget[key] = answer.by_budget.get(key, 0) + json_bytes(item, shape.escaped) + 1
    if not budget_ids or not item_ids:
        return answer
    named = user_id is not None
    user_bytes = json_bytes(user_id, shape.escaped) if named else 0
    items = text_bytes(item_ids, shape.escaped)
    n_items = len(item_ids)
    if shape.columns:
        answer.fixed = shape.entry_bytes(named) + user_bytes + items + n_items
        per_budget = _digit_sum(n_items) + n_items * shape.column_pair_bytes()
        for k, budget in enumerate(budget_ids):
            own = json_bytes(budget, shape.escaped) + 1 + n_items * _digits(k) + per_budget
            answer.by_budget[budget] = answer.by_budget.get(budget, 0) + own
        return answer
    per_pair = shape.pair_item_bytes(named) + user_bytes
    for budget in budget_ids:
        own = n_items * (per_pair + json_bytes(budget, shape.escaped)) + items
        answer.by_budget[budget] = answer.by_budget.get(budget, 0) + own
    return answer
