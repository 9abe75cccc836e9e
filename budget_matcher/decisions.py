"""Per-user decisions: after pairwise scoring, each line item goes to at most one budget.

Scores stay what the model says (calibrated probabilities that a pair belongs); `matched` is
decided per user, over all of the user's pairs together (unique-mapping clustering, as record
linkage does after pairwise scoring):

  pairwise   matched = score ≥ threshold (pairs decided alone: one charge may go to two budgets)
  best       matched = score ≥ threshold and the pair is its item's highest-scoring pair
             (ties go to the first pair in request order)
  capacity   as `best`, taken in descending score, and a budget stops accepting charges once
             the positive amounts it holds would exceed `CAPACITY_SLACK` × its cost (actual cost,
             else the budgeted price; no cost known, no cap). A budget's first charge and credits
             (negative amounts) always fit.

Pairs never cross users (candidate pairs are per user), so per item is per user. numpy only:
the Lambda zip carries no scipy. bench/bench_decisions.py measures the three on held-out users.
"""

from __future__ import annotations

import numpy as np

from budget_matcher import contract as c
from budget_matcher.pairs import CandidatePairs

METHODS = ("pairwise", "best", "capacity")
DEFAULT_METHOD = "best"
CAPACITY_SLACK = 1.5


def decide(
    pairs: CandidatePairs, scores: np.ndarray, threshold: float, method: str = DEFAULT_METHOD
) -> np.ndarray:
    """A boolean per pair: the pair's item is given to the pair's budget."""
    if method not in METHODS:
        raise ValueError(f"decision method must be one of {METHODS}, not {method!r}")
    above = scores >= threshold
    if method == "pairwise" or len(pairs) == 0:
        return above
    best = best_per_item(pairs.item_index, scores) & above
    if method == "best":
        return best
    return _within_capacity(pairs, scores, best)


def best_per_item(item_index: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """True on each item's highest-scoring pair (first in order on ties; NaN scores never)."""
    n = scores.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    keyed = np.where(np.isnan(scores), -np.inf, scores)
    top = np.full(int(item_index.max()) + 1, -np.inf)
    np.maximum.at(top, item_index, keyed)
    candidates = np.flatnonzero(keyed == top[item_index])  # each item's best score, ties too
    first = np.full(top.size, n)
    np.minimum.at(first, item_index[candidates], candidates)
    best = np.zeros(n, dtype=bool)
    best[first[first < n]] = True
    return best & ~np.isnan(scores)


def _within_capacity(pairs: CandidatePairs, scores: np.ndarray, best: np.ndarray) -> np.ndarray:
    """`best` pairs in descending score, each kept while its budget has room for the amount."""
    amount = pairs.items.number(c.ITEM_AMOUNT)[pairs.item_index]
    actual = pairs.budgets.number(c.BUDGET_ACTUAL_COST)
    cost = np.where(np.isnan(actual), pairs.budgets.number(c.BUDGET_PRICE), actual)
    room = np.abs(cost) * CAPACITY_SLACK
    held = np.zeros(cost.shape[0])
    kept = np.zeros(scores.shape[0], dtype=bool)
    candidates = np.flatnonzero(best)
    for position in candidates[np.argsort(-scores[candidates], kind="stable")].tolist():
        budget, value = int(pairs.budget_index[position]), float(amount[position])
        charge = value if value > 0 else 0.0  # NaN > 0 is False: an unknown amount fits
        if held[budget] == 0 or np.isnan(room[budget]) or held[budget] + charge <= room[budget]:
            held[budget] += charge
            kept[position] = True
    return kept
