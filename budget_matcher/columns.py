"""Column operations shared by the features: per-distinct-value maps, groups, minima and ranks.

Pairs come budget-major (user by user, each budget with all of its user's items), so keys built
from the budget or item index arrive in long sorted runs: a stable sort (timsort) merges those in
about linear time where numpy's default quicksort does not, and group indices below 2**16 sort by
radix. Every function returns exactly what its plain numpy counterpart (named in its docstring)
returns.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np

_T = TypeVar("_T", bound=Hashable)
_RADIX_LIMIT = 1 << 16  # numpy sorts unsigned 16-bit keys by radix when asked for a stable sort


def distinct(values: Sequence[_T]) -> tuple[np.ndarray, list[_T]]:
    """The distinct values in first-seen order, and each value's position among them."""
    uniques = list(dict.fromkeys(values))
    position = {value: k for k, value in enumerate(uniques)}
    codes = np.fromiter(map(position.__getitem__, values), dtype=np.int64, count=len(values))
    return codes, uniques


def per_distinct(values: Sequence[_T], function: Callable[[_T], float]) -> np.ndarray:
    """`function` of each value as float64, computed once per distinct value."""
    codes, uniques = distinct(values)
    return np.asarray([function(value) for value in uniques], dtype=np.float64)[codes]


def unique_inverse(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(keys, return_inverse=True)`, by a stable sort."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.empty(keys.shape[0], dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(keys.shape[0], dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def group_min(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row: the minimum of `values` over rows with the same key (non-negative ints; NaN is
    ignored, and the result is NaN when a group has no finite minimum)."""
    if keys.size == 0:
        return np.zeros(0)
    minimum = np.full(int(keys.max()) + 1, np.inf)
    np.fmin.at(minimum, keys, values)
    result = minimum[keys]
    result[np.isinf(result)] = np.nan
    return result


def sort_within(
    groups: np.ndarray, values: np.ndarray, order: np.ndarray | None = None
) -> np.ndarray:
    """`np.lexsort((values, groups))`: rows by group, then by value, ties by position.

    `order` is `np.argsort(values, kind="stable")` when the caller already has it.
    """
    if order is None:
        order = np.argsort(values, kind="stable")
    keys = groups[order]
    if keys.size and keys.dtype.kind in "iu" and keys.min() >= 0 and keys.max() < _RADIX_LIMIT:
        keys = keys.astype(np.uint16)
    return order[np.argsort(keys, kind="stable")]


def rank_within(
    groups: np.ndarray, values: np.ndarray, order: np.ndarray | None = None
) -> np.ndarray:
    """1-based ascending rank of each value inside its group (ties by position); NaN stays NaN.

    `order` as for `sort_within`.
    """
    n = values.shape[0]
    if n == 0:
        return np.zeros(0)
    order = sort_within(groups, values, order)
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    sizes = np.diff(np.r_[starts, n])
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.arange(n) - np.repeat(starts, sizes) + 1
    ranks[np.isnan(values)] = np.nan
    return ranks
