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

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from budget_matcher.text import normalise

VENDOR_MEASURES = ("jaro_winkler", "levenshtein", "token_jaccard", "monge_elkan")
MAX_TOKENS = 8


class _Vocabulary:
    """Distinct normalised strings of one request, each with its token ids."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self._code_of_raw: dict[str, int] = {}
        self._code_of_normal: dict[str, int] = {}

    def codes(self, texts: list[str | None]) -> np.ndarray:
        """The vocabulary code of each text (−1 when missing or empty after normalising)."""
        out = np.empty(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            out[row] = -1 if text is None else self._code(text)
        return out

    def _code(self, text: str) -> int:
        code = self._code_of_raw.get(text)
        if code is None:
            normal = normalise(text)
            if normal is None:
                code = -1
            else:
                code = self._code_of_normal.setdefault(normal, len(self.strings))
                if code == len(self.strings):
                    self.strings.append(normal)
            self._code_of_raw[text] = code
        return code

    def token_matrix(self) -> tuple[np.ndarray, list[str]]:
        """Token ids per string (padded with −1, at most MAX_TOKENS) and the token list."""
        token_ids: dict[str, int] = {}
        matrix = np.full((len(self.strings), MAX_TOKENS), -1, dtype=np.int64)
        for row, text in enumerate(self.strings):
            for column, token in enumerate(text.split()[:MAX_TOKENS]):
                matrix[row, column] = token_ids.setdefault(token, len(token_ids))
        return matrix, list(token_ids)


def vendor_similarities(
    budget_vendor_columns: list[list[str | None]],
    item_vendors: list[str | None],
    budget_index: np.ndarray,
    item_index: np.ndarray,
) -> np.ndarray:
    """Per pair, each measure's best value over the budget's vendor fields (NaN if none)."""
    vocabulary = _Vocabulary()
    item_codes = vocabulary.codes(item_vendors)[item_index]
    column_codes = [vocabulary.codes(column)[budget_index] for column in budget_vendor_columns]
    width = max(len(vocabulary.strings), 1)
    keys = [
        np.where((a >= 0) & (item_codes >= 0), a * width + item_codes, -1) for a in column_codes
    ]
    stacked = np.concatenate(keys)
    distinct, inverse = np.unique(stacked, return_inverse=True)
    known = distinct >= 0
    table = np.full((distinct.size, len(VENDOR_MEASURES)), np.nan)
    if known.any():
        table[known] = _measures(distinct[known] // width, distinct[known] % width, vocabulary)
    per_column = table[inverse].reshape(len(keys), -1, len(VENDOR_MEASURES))
    return np.fmax.reduce(per_column, axis=0)


def _measures(left: np.ndarray, right: np.ndarray, vocabulary: _Vocabulary) -> np.ndarray:
    """The four measures for distinct (left, right) string codes, as an (n, 4) array."""
    strings = vocabulary.strings
    a = [strings[k] for k in left.tolist()]
    b = [strings[k] for k in right.tolist()]
    jaro_winkler = process.cpdist(a, b, scorer=JaroWinkler.normalized_similarity)
    levenshtein = process.cpdist(a, b, scorer=Levenshtein.normalized_similarity)
    tokens, token_list = vocabulary.token_matrix()
    jaccard, monge_elkan = _token_measures(tokens[left], tokens[right], token_list)
    return np.column_stack([jaro_winkler, levenshtein, jaccard, monge_elkan])


def _token_measures(
    left: np.ndarray, right: np.ndarray, token_list: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Token Jaccard and Monge-Elkan (Jaro-Winkler inside) for padded token-id rows."""
    lt = left[:, :, None]
    rt = right[:, None, :]
    valid = (lt >= 0) & (rt >= 0)
    intersection = ((lt == rt) & valid).sum(axis=(1, 2))
    left_size = (left >= 0).sum(axis=1)
    right_size = (right >= 0).sum(axis=1)
    union = left_size + right_size - intersection
    jaccard = np.divide(intersection, union, out=np.zeros(len(left)), where=union > 0)

    n_tokens = max(len(token_list), 1)
    codes = np.where(valid, lt * n_tokens + rt, -1)
    distinct, inverse = np.unique(codes, return_inverse=True)
    scores = np.zeros(distinct.size)
    known = distinct >= 0
    if known.any():
        firsts = [token_list[k] for k in (distinct[known] // n_tokens).tolist()]
        seconds = [token_list[k] for k in (distinct[known] % n_tokens).tolist()]
        scores[known] = process.cpdist(firsts, seconds, scorer=JaroWinkler.normalized_similarity)
    cell = scores[inverse.reshape(codes.shape)]
    cell[~valid] = -1.0
    best = cell.max(axis=2)
    rows = left >= 0
    monge_elkan = np.where(rows, best, 0.0).sum(axis=1) / np.maximum(left_size, 1)
    return jaccard, monge_elkan
