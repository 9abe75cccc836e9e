"""Vendor string similarity, computed once per distinct pair of normalised strings.

Measures (all in [0, 1], 1 = identical), on the normalised forms of budget_matcher.text:
- jaro_winkler: Jaro-Winkler similarity of the whole strings (prefix weight 0.1);
- levenshtein: 1 − edit distance / length of the longer string;
- token_jaccard: |A ∩ B| / |A ∪ B| over the two token sets;
- monge_elkan: mean over tokens a of A of max over tokens b of B of JaroWinkler(a, b).
These are the py_stringmatching measures, computed with rapidfuzz in C over arrays
(`process.cpdist`) instead of one Python call per pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from budget_matcher.columns import distinct, unique_inverse
from budget_matcher.text import normalised_codes

VENDOR_MEASURES = ("jaro_winkler", "levenshtein", "token_jaccard", "monge_elkan")
MAX_TOKENS = 8


def _flat_tokens(strings: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Token ids of all strings end to end (ids in first-seen order), each string's start and
    length, the tokens."""
    split = [text.split()[:MAX_TOKENS] for text in strings]
    words = list(chain.from_iterable(split))
    token_list = list(dict.fromkeys(words))
    token_ids = {word: k for k, word in enumerate(token_list)}
    flat = np.fromiter(map(token_ids.__getitem__, words), dtype=np.int64, count=len(words))
    lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    return flat, _starts(lengths), lengths, token_list


def vendor_similarities(
    budget_vendor_columns: Sequence[Sequence[str | None]],
    item_vendors: Sequence[str | None],
    budget_index: np.ndarray,
    item_index: np.ndarray,
) -> np.ndarray:
    """Per pair, each measure's best value over the budget's vendor fields (NaN if none)."""
    vocabulary: dict[str, int] = {}
    item_codes = normalised_codes(distinct(item_vendors), vocabulary)
    budget_codes = [
        normalised_codes(distinct(column), vocabulary) for column in budget_vendor_columns
    ]
    return code_similarities(budget_codes, item_codes, list(vocabulary), budget_index, item_index)


def code_similarities(
    budget_codes: Sequence[np.ndarray],
    item_codes: np.ndarray,
    strings: list[str],
    budget_index: np.ndarray,
    item_index: np.ndarray,
) -> np.ndarray:
    """`vendor_similarities` from the codes (budget_matcher.text.normalised_codes) of the
    budgets' vendor fields and of the items' vendors in one vocabulary, `strings` by code."""
    item_codes = item_codes[item_index]
    width = max(len(strings), 1)
    keys = [
        np.where((a >= 0) & (item_codes >= 0), a * width + item_codes, -1)
        for a in (codes[budget_index] for codes in budget_codes)
    ]
    stacked = np.concatenate(keys)
    distinct_keys, inverse = unique_inverse(stacked)
    known = distinct_keys >= 0
    table = np.empty((distinct_keys.size, len(VENDOR_MEASURES)))
    table.fill(np.nan)
    if np.count_nonzero(known):  # known.any(), without its wrapper
        left, right = np.divmod(distinct_keys[known], width)
        table[known] = _measures(left, right, strings)
    per_column = table[inverse].reshape(len(keys), -1, len(VENDOR_MEASURES))
    return np.fmax.reduce(per_column, axis=0)


def _measures(left: np.ndarray, right: np.ndarray, strings: list[str]) -> np.ndarray:
    """The four measures for distinct (left, right) string codes, as an (n, 4) array."""
    a = [strings[k] for k in left.tolist()]
    b = [strings[k] for k in right.tolist()]
    table = np.empty((len(a), len(VENDOR_MEASURES)))
    table[:, 0] = process.cpdist(a, b, scorer=JaroWinkler.normalized_similarity)
    table[:, 1] = process.cpdist(a, b, scorer=Levenshtein.normalized_similarity)
    table[:, 2], table[:, 3] = _token_measures(left, right, strings)
    return table


def _token_measures(
    left: np.ndarray, right: np.ndarray, strings: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Token Jaccard and Monge-Elkan (Jaro-Winkler inside) for distinct string pairs.

    Every (left token, right token) cell of every pair is laid out flat — pair by pair, left
    token by left token — so maxima and sums are segment reductions, with no padding.
    """
    if left.size <= FEW_PAIRS:
        return _few_token_measures(left, right, strings)
    flat, starts, lengths, token_list = _flat_tokens(strings)
    left_len, right_len = lengths[left], lengths[right]
    cells_per_pair = left_len * right_len
    pair_of_cell = np.arange(left.size).repeat(cells_per_pair)
    pair_start = _starts(cells_per_pair)
    offset = np.arange(pair_of_cell.size) - pair_start[pair_of_cell]
    width = right_len[pair_of_cell]
    left_token = flat[starts[left][pair_of_cell] + offset // width]
    right_token = flat[starts[right][pair_of_cell] + offset % width]

    same = left_token == right_token
    intersection = np.add.reduceat(same, pair_start)
    jaccard = intersection / (left_len + right_len - intersection)

    n_tokens = max(len(token_list), 1)
    cells, inverse = unique_inverse(left_token * n_tokens + right_token)
    firsts = [token_list[k] for k in (cells // n_tokens).tolist()]
    seconds = [token_list[k] for k in (cells % n_tokens).tolist()]
    cell_scores = process.cpdist(firsts, seconds, scorer=JaroWinkler.normalized_similarity)
    cell_scores = np.asarray(cell_scores, dtype=np.float64)[inverse]
    # rows = (pair, left token) segments of length right_len, in order
    row_starts = _starts(right_len.repeat(left_len))
    best_per_row = np.maximum.reduceat(cell_scores, row_starts)
    monge_elkan = np.add.reduceat(best_per_row, _starts(left_len)) / left_len
    return jaccard, monge_elkan


# Up to this many distinct pairs the cells are laid out by a Python loop (`_few_token_measures`).
FEW_PAIRS = 16


def _few_token_measures(
    left: np.ndarray, right: np.ndarray, strings: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """`_token_measures` of a few pairs: the same cells in the same order, the same segment
    starts and the same numpy reductions over them, but laid out by a loop over the pairs'
    tokens instead of a dozen index computations in numpy (µs each on one pair). Distinct
    cells are listed in first-seen order rather than sorted: each cell's score is its own."""
    left_len: list[int] = []
    right_len: list[int] = []
    pair_start: list[int] = []
    row_starts: list[int] = []
    pair_row_start: list[int] = []
    same: list[bool] = []
    cells: dict[tuple[str, str], int] = {}
    inverse: list[int] = []
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        first, second = strings[a].split()[:MAX_TOKENS], strings[b].split()[:MAX_TOKENS]
        left_len.append(len(first))
        right_len.append(len(second))
        pair_start.append(len(same))
        pair_row_start.append(len(row_starts))
        for x in first:
            row_starts.append(len(same))
            for y in second:
                same.append(x == y)
                inverse.append(cells.setdefault((x, y), len(cells)))
    lefts, rights = np.asarray(left_len, dtype=np.int64), np.asarray(right_len, dtype=np.int64)
    intersection = np.add.reduceat(np.asarray(same, dtype=bool), pair_start)
    jaccard = intersection / (lefts + rights - intersection)
    firsts, seconds = [x for x, _ in cells], [y for _, y in cells]
    cell_scores = process.cpdist(firsts, seconds, scorer=JaroWinkler.normalized_similarity)
    cell_scores = np.asarray(cell_scores, dtype=np.float64)[inverse]
    best_per_row = np.maximum.reduceat(cell_scores, row_starts)
    monge_elkan = np.add.reduceat(best_per_row, pair_row_start) / lefts
    return jaccard, monge_elkan


def _starts(lengths: np.ndarray) -> np.ndarray:
    """Where each of consecutive segments of `lengths` starts: 0, then the running sums."""
    starts = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts
