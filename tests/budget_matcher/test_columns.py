"""Column operations return exactly what their plain numpy counterparts return."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from budget_matcher.columns import (
    WindowIndex,
    distinct,
    group_min,
    rank_within,
    sort_within,
    stable_argsort,
    unique_inverse,
)

_SPECIAL = [0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324, -5e-324, 1.0, -1.0]
_floats = hnp.arrays(
    np.float64,
    st.integers(0, 60),
    elements=st.one_of(st.sampled_from(_SPECIAL), st.floats(allow_nan=True, width=64)),
)
_ints = hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(-(2**63), 2**63 - 1))
_small = hnp.arrays(np.int64, st.integers(1, 60), elements=st.integers(0, 70_000))


@settings(max_examples=300, deadline=None)
@given(st.one_of(_floats, _ints, _small))
def test_stable_argsort_is_numpy_stable_argsort(values: np.ndarray) -> None:
    assert np.array_equal(stable_argsort(values), np.argsort(values, kind="stable"))


def test_stable_argsort_ties_every_nan_and_both_zeros() -> None:
    negative_nan = -np.float64("nan")
    values = np.array([np.nan, -0.0, 0.0, negative_nan, 1.0, -0.0, np.nan])
    assert stable_argsort(values).tolist() == [1, 2, 5, 4, 0, 3, 6]


@settings(max_examples=200, deadline=None)
@given(st.one_of(_ints, _small))
def test_unique_inverse_is_numpy_unique(keys: np.ndarray) -> None:
    expected_values, expected_inverse = np.unique(keys, return_inverse=True)
    values, inverse = unique_inverse(keys)
    assert np.array_equal(values, expected_values)
    assert np.array_equal(inverse, expected_inverse)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_sort_and_rank_within_groups_follow_lexsort(data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 60))
    groups = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 70_000)))
    values = data.draw(hnp.arrays(np.float64, n, elements=st.sampled_from(_SPECIAL)))
    order = np.lexsort((values, groups))
    assert np.array_equal(sort_within(groups, values), order)
    ranks = rank_within(groups, values)
    assert np.isnan(ranks[np.isnan(values)]).all()
    shared = rank_within(groups, values, np.argsort(values, kind="stable"))
    assert np.array_equal(ranks, shared, equal_nan=True)


def test_group_min_ignores_nan_and_gives_nan_for_groups_without_values() -> None:
    keys = np.array([3, 0, 3, 0, 5])
    values = np.array([2.0, np.nan, 1.0, np.nan, 4.0])
    assert np.array_equal(group_min(keys, values), [1.0, np.nan, 1.0, np.nan, 4.0], equal_nan=True)


def test_distinct_codes_in_first_seen_order() -> None:
    codes, uniques = distinct(["b", None, "a", "b", None])
    assert uniques == ["b", None, "a"]
    assert codes.tolist() == [0, 1, 2, 0, 1]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_rank_within_equal_values_share_the_lowest_rank_in_any_order(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 40))
    groups = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 3)))
    values = data.draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0, 2.5, np.nan])))
    ranks = rank_within(groups, values)
    for row in np.flatnonzero(~np.isnan(values)):
        peers = values[groups == groups[row]]
        assert ranks[row] == 1 + np.sum(peers < values[row])
    shuffle = data.draw(st.permutations(range(n)))
    np.testing.assert_array_equal(rank_within(groups[shuffle], values[shuffle]), ranks[shuffle])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_window_index_sums_exactly_whatever_the_rows_order_and_path(data: st.DataObject) -> None:
    """Dense (≤ 64 rows) and sorted paths, queries given whole or as (row, window) pairs."""
    n = data.draw(st.integers(0, 150))
    owner = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 3)))
    codes = data.draw(hnp.arrays(np.int64, n, elements=st.integers(-1, 2)))
    days = data.draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 1.5, 3.0, np.nan])))
    amount = data.draw(
        hnp.arrays(np.float64, n, elements=st.sampled_from([0.1, 0.2, -0.3, 1e6, np.nan, 1e300]))
    )
    q = data.draw(st.integers(1, 40))
    q_owner = data.draw(hnp.arrays(np.int64, q, elements=st.integers(0, 4)))
    q_codes = data.draw(hnp.arrays(np.int64, q, elements=st.integers(-1, 3)))
    low = data.draw(hnp.arrays(np.float64, q, elements=st.sampled_from([-1.0, 1.0, np.nan])))
    high = low + data.draw(hnp.arrays(np.float64, q, elements=st.sampled_from([0.0, 2.0, 5.0])))
    index = WindowIndex(owner, codes, days, amount)
    sums, wider = index.sums(q_owner, q_codes, low, (high, high + 1))
    valid = (codes >= 0) & ~np.isnan(days)
    cents = np.clip(np.round(np.nan_to_num(amount) * 100), -(2.0**40), 2.0**40).astype(np.int64)
    for k in range(q):
        same = valid & (owner == q_owner[k]) & (codes == q_codes[k]) & (days >= low[k])
        assert sums[k] == cents[same & (days <= high[k])].sum() / 100.0
        assert wider[k] == cents[same & (days <= high[k] + 1)].sum() / 100.0
    shuffle = np.asarray(data.draw(st.permutations(range(n))), dtype=np.int64)
    shuffled = WindowIndex(*(a[shuffle] for a in (owner, codes, days, amount)))
    np.testing.assert_array_equal(shuffled.sums(q_owner, q_codes, low, (high,))[0], sums)
    rows = data.draw(hnp.arrays(np.int64, 30, elements=st.integers(0, q - 1)))
    windows = data.draw(hnp.arrays(np.int64, 30, elements=st.integers(0, q - 1)))
    by_pairs = shuffled.sums(q_owner, q_codes, low, (high,), (rows, windows))[0]
    whole = shuffled.sums(q_owner[rows], q_codes[rows], low[windows], (high[windows],))[0]
    np.testing.assert_array_equal(by_pairs, whole)
