"""Column operations shared by the features: per-distinct-value maps, groups, minima and ranks.

Sorting is the cost of most of them: `stable_argsort` sorts integers and floats by 16-bit radix
passes (numpy sorts unsigned 16-bit keys by radix when asked for a stable sort), several times
faster than a comparison sort. Every function returns exactly what its plain numpy counterpart
(named in its docstring) returns.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np

from budget_matcher.values import cached_map

_T = TypeVar("_T", bound=Hashable)
_DIGIT = np.uint64(0xFFFF)
_SIGN = np.uint64(1 << 63)


def distinct(values: Sequence[_T]) -> tuple[np.ndarray, list[_T]]:
    """The distinct values in first-seen order, and each value's position among them."""
    uniques = list(dict.fromkeys(values))
    if len(uniques) <= 1:  # one value (or none): every position is 0
        return np.zeros(len(values), dtype=np.int64), uniques
    position = {value: k for k, value in enumerate(uniques)}
    codes = np.fromiter(map(position.__getitem__, values), dtype=np.int64, count=len(values))
    return codes, uniques


def per_distinct(coded: tuple[np.ndarray, list[_T]], function: Callable[[_T], float]) -> np.ndarray:
    """`function` of each value as float64, from the values as `distinct` returns them
    (computed once per distinct value)."""
    codes, uniques = coded
    return np.asarray(cached_map(function, uniques), dtype=np.float64)[codes]


# Below this many values numpy's own stable sort is faster than the radix passes' set-up.
RADIX_MIN_SIZE = 2048


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """`np.argsort(values, kind="stable")` of a 1-d integer or float array (NaN last)."""
    keys = _radix_keys(values) if values.size >= RADIX_MIN_SIZE else None
    if keys is None:
        return np.argsort(values, kind="stable")
    order = np.argsort((keys & _DIGIT).astype(np.uint16), kind="stable")
    for shift in range(16, int(keys.max()).bit_length(), 16):
        digits = ((keys[order] >> np.uint64(shift)) & _DIGIT).astype(np.uint16)
        order = order[np.argsort(digits, kind="stable")]
    return order


def _radix_keys(values: np.ndarray) -> np.ndarray | None:
    """Unsigned keys in the order of `values` (equal values, equal keys), or None."""
    if values.ndim != 1 or values.size == 0:
        return None
    if values.dtype.kind == "u":
        keys = values.astype(np.uint64)
    elif values.dtype.kind == "i":
        keys = values.astype(np.int64).view(np.uint64) ^ _SIGN
    elif values.dtype == np.float64:
        # −0.0 ties with 0.0, and every NaN with the others after +inf, as in a comparison sort
        with np.errstate(invalid="ignore"):  # a signalling NaN
            canonical = np.where(np.isnan(values), np.nan, values + 0.0)
        bits = canonical.view(np.uint64)
        keys = np.where(bits & _SIGN, ~bits, bits | _SIGN)
    else:
        return None
    return keys - keys.min()


def unique_inverse(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(keys, return_inverse=True)`, by a stable sort."""
    if keys.shape[0] <= 1:  # nothing to sort
        return keys.copy(), np.zeros(keys.shape[0], dtype=np.intp)
    order = stable_argsort(keys)
    ordered = keys[order]
    first = np.empty(keys.shape[0], dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(keys.shape[0], dtype=np.intp)
    inverse[order] = first.cumsum() - 1
    return ordered[first], inverse


def group_min(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row: the minimum of `values` over rows with the same key (non-negative ints; NaN is
    ignored, and the result is NaN when a group has no finite minimum)."""
    if keys.size == 0:
        return np.zeros(0)
    minimum = np.empty(int(keys.max()) + 1)
    minimum.fill(np.inf)
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
        order = stable_argsort(values)
    return order[stable_argsort(groups[order])]


def rank_within(
    groups: np.ndarray, values: np.ndarray, order: np.ndarray | None = None
) -> np.ndarray:
    """1-based ascending rank of each value inside its group; equal values share the lowest
    rank (1 + how many values of the group are smaller: `scipy.stats.rankdata(method="min")`
    per group), so the ranks do not depend on the rows' order. NaN stays NaN.

    `order` as for `sort_within`.
    """
    n = values.shape[0]
    if n == 0:
        return np.zeros(0)
    if n == 1:  # a group of one
        return np.where(np.isnan(values), np.nan, 1.0)
    order = sort_within(groups, values, order)
    sorted_groups, sorted_values = groups[order], values[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    np.not_equal(sorted_groups[1:], sorted_groups[:-1], out=new_group[1:])
    # a run of equal values starts where the group or the value changes (NaN: never equal)
    new_run = new_group.copy()
    new_run[1:] |= sorted_values[1:] != sorted_values[:-1]
    positions = np.arange(n)
    group_start = np.maximum.accumulate(positions * new_group)  # the position where it starts
    run_start = np.maximum.accumulate(positions * new_run)
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = run_start - group_start + 1
    ranks[np.isnan(values)] = np.nan
    return ranks


# Amounts are summed in whole cents, as integers: exact, so a sum does not depend on the order
# its terms come in. A cent count is clipped to ±2^40 (about 11 billion) so that no sum of
# a request's pairs can overflow.
_MAX_CENTS = float(2**40)


class WindowIndex:
    """Rows (an owner, a code ≥ 0 or −1 for none, a day, an amount) indexed for window sums:
    for a query (owner, code, low, high), the sum of the amounts of the rows of that owner and
    code dated in [low, high]. Exact and independent of the rows' order: amounts in integer
    cents, days by rank among the distinct days; rows sorted by (owner, code, day) with prefix
    sums, each query two searchsorted. The rows are a user's line items, the queries its pairs:
    a pair's window sums the user's items once, never its budget × item cross product.
    `cents`, when given, is `whole_cents(amount)` (computed once by a caller that has it)."""

    def __init__(
        self,
        owner: np.ndarray,
        codes: np.ndarray,
        days: np.ndarray,
        amount: np.ndarray,
        cents: np.ndarray | None = None,
    ) -> None:
        valid = (codes >= 0) & ~np.isnan(days)
        self.owner = owner[valid].astype(np.int64, copy=False)
        self.codes = codes[valid].astype(np.int64, copy=False)
        self.days = days[valid]
        self.cents = whole_cents(amount[valid]) if cents is None else cents[valid]
        self.dense = self.days.size <= DENSE_MAX_SIZE
        if self.dense:
            return
        self.span = int(self.codes.max(initial=0)) + 1
        self.groups, group = unique_inverse(self.owner * self.span + self.codes)
        self.distinct_days, day_rank = unique_inverse(self.days)
        self.width = self.distinct_days.size + 1
        keys = group.astype(np.int64) * self.width + day_rank
        order = stable_argsort(keys)
        self.sorted_keys = keys[order]
        self.cumulative = np.concatenate(([0], np.cumsum(self.cents[order])))

    def sums(
        self,
        owner: np.ndarray,
        codes: np.ndarray,
        low: np.ndarray,
        highs: tuple[np.ndarray, ...],
        pairs: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """Per query and per window end in `highs`: the sum over [low, high] (0 where no row of
        the query's owner and code lies in it, or where a bound is NaN).

        Without `pairs`, query k is (owner[k], codes[k], low[k], high[k]). With `pairs` =
        (query_rows, windows), query k is the owner and code of row query_rows[k] and the window
        windows[k]: the lookups are made once per row and once per window, not per query."""
        rows, windows = pairs if pairs is not None else (None, None)
        if self.dense:
            owner, codes = _take(owner, rows), _take(codes, rows)
            low = _take(low, windows)
            days = self.days[None, :]
            same = (owner[:, None] == self.owner[None, :]) & (codes[:, None] == self.codes[None, :])
            after = same & (days >= low[:, None])
            inside = (after & (days <= _take(high, windows)[:, None]) for high in highs)
            return [rows_in.dot(self.cents) / 100.0 for rows_in in inside]
        combined = owner.astype(np.int64) * self.span + codes
        group = np.minimum(np.searchsorted(self.groups, combined), self.groups.size - 1)
        known = _take((codes >= 0) & (codes < self.span) & (self.groups[group] == combined), rows)
        base = _take(group.astype(np.int64) * self.width, rows)
        first = np.searchsorted(self.distinct_days, np.nan_to_num(low, nan=np.inf), "left")
        start = np.searchsorted(self.sorted_keys, base + _take(first, windows), side="left")
        results = []
        for high in highs:
            last = np.searchsorted(self.distinct_days, np.nan_to_num(high, nan=-np.inf), "right")
            stop = np.searchsorted(self.sorted_keys, base + _take(last, windows), side="left")
            total = self.cumulative[np.maximum(stop, start)] - self.cumulative[start]
            results.append(np.where(known, total, 0) / 100.0)
        return results


def _take(values: np.ndarray, index: np.ndarray | None) -> np.ndarray:
    return values if index is None else values[index]


# Up to this many rows, window sums compare every query with every row (the seed example's
# single item costs a few numpy calls instead of two sorts).
DENSE_MAX_SIZE = 64


def whole_cents(amount: np.ndarray) -> np.ndarray:
    """Amounts as int64 whole cents (NaN 0, clipped to ±_MAX_CENTS)."""
    # As np.clip(np.round(np.nan_to_num(amount) * 100), ±_MAX_CENTS), without those functions'
    # Python wrappers nor np.errstate (µs each on a one-pair request): NaN → 0; an amount beyond
    # ±_MAX_CENTS is clamped first (its cents are clipped to ±_MAX_CENTS either way: the product
    # and rounding are monotone), so × 100 cannot overflow; np.rint is np.round to 0 decimals.
    finite = np.where(np.isnan(amount), 0.0, amount)
    finite = np.minimum(np.maximum(finite, -_MAX_CENTS), _MAX_CENTS)
    cents = np.minimum(np.maximum(np.rint(finite * 100.0), -_MAX_CENTS), _MAX_CENTS)
    return cents.astype(np.int64)
