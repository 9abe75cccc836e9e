"""Per-user decisions: after pairwise scoring, each line item goes to at most one budget.

Scores stay what the model says (calibrated probabilities that a pair belongs); `matched` is
decided per user, over all of the user's pairs together (unique-mapping clustering, as record
linkage does after pairwise scoring):

  pairwise   matched = score ≥ threshold (pairs decided alone: one charge may go to two budgets)
  best       matched = score ≥ threshold and the pair is its item's highest-scoring pair
  capacity   as `best`, taken in descending score, and a budget stops accepting charges once
             the positive amounts it holds would exceed `CAPACITY_SLACK` × its cost (actual cost,
             else the budgeted price; no cost known, no cap). A budget's first charge and credits
             (negative amounts) always fit.
  assignment as `best`, taken in descending score, and each budget takes at most one ticket:
             a charge within `TICKET_TOLERANCE` of its cost (|ln(1+|amount|) − ln(1+|cost|)|);
             an item that loses a budget's ticket slot to a higher-scoring charge goes to its
             next-best budget above the threshold. Lines that are not tickets (taxes, fees,
             legs, credits) are decided as by `best`. A commuter's look-alike weeks each get
             their own ticket; a colleague's identical ticket no longer joins the traveller's.

Ties never depend on the order of the request: equal scores are ordered by the budget's id,
then the item's id (as strings, ascending; `pair_order`). So among equally scored budgets an
item goes to the budget whose id sorts first, and `capacity` takes equally scored pairs in that
order. Only an exact duplicate (the same budget id and item id twice) falls back to position.

Pairs never cross users (candidate pairs are per user), so per item is per user. numpy only:
the Lambda zip carries no scipy. bench/bench_decisions.py measures the three on held-out users.
"""

from __future__ import annotations

import numpy as np

from budget_matcher import contract as c
from budget_matcher.pairs import CandidatePairs

METHODS = ("pairwise", "best", "capacity", "assignment")
DEFAULT_METHOD = "best"
CAPACITY_SLACK = 1.5
TICKET_TOLERANCE = 0.25
_LAST = np.iinfo(np.int64).max  # after every tie order


def decide(
    pairs: CandidatePairs, scores: np.ndarray, threshold: float, method: str = DEFAULT_METHOD
) -> np.ndarray:
    """A boolean per pair: the pair's item is given to the pair's budget."""
    if method not in METHODS:
        raise ValueError(f"decision method must be one of {METHODS}, not {method!r}")
    above = scores >= threshold
    if method == "pairwise" or len(pairs) == 0:
        return above
    tie_order = pair_order(pairs)
    if method == "assignment":
        return _one_ticket_per_budget(pairs, scores, above, tie_order)
    best = best_per_item(pairs.item_index, scores, tie_order) & above
    if method == "best":
        return best
    return _within_capacity(pairs, scores, best, tie_order)


def pair_order(pairs: CandidatePairs) -> np.ndarray:
    """Each pair's position when pairs are sorted by (budget id, item id) as strings: the
    tie-break of every decision (equal keys keep their request order)."""
    budget_rank = _id_ranks(pairs.budgets.ids)[pairs.budget_index]
    item_rank = _id_ranks(pairs.items.ids)[pairs.item_index]
    order = np.lexsort((item_rank, budget_rank))
    positions = np.empty(order.size, dtype=np.int64)
    positions[order] = np.arange(order.size)
    return positions


def _id_ranks(ids: list[str]) -> np.ndarray:
    """Each id's rank among the distinct ids in string order."""
    if len(ids) <= 1:  # nothing to rank (and np.unique of a str array costs µs)
        return np.zeros(len(ids), dtype=np.int64)
    _, inverse = np.unique(np.asarray(ids, dtype=str), return_inverse=True)
    return inverse.astype(np.int64)


def best_per_item(item_index: np.ndarray, scores: np.ndarray, tie_order: np.ndarray) -> np.ndarray:
    """True on each item's highest-scoring pair; among equal scores the pair lowest in
    `tie_order` (distinct integers per pair, `pair_order`); NaN scores never."""
    n = scores.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    keyed = np.where(np.isnan(scores), -np.inf, scores)
    top = np.empty(int(item_index.max()) + 1)  # np.full, without its wrapper (µs on one pair)
    top.fill(-np.inf)
    np.maximum.at(top, item_index, keyed)
    candidates = (keyed == top[item_index]).nonzero()[0]  # each item's best score, ties too
    lowest = np.empty(top.size, dtype=np.int64)
    lowest.fill(_LAST)
    np.minimum.at(lowest, item_index[candidates], tie_order[candidates])
    best = np.zeros(n, dtype=bool)
    best[candidates[tie_order[candidates] == lowest[item_index[candidates]]]] = True
    return best & ~np.isnan(scores)


def _within_capacity(
    pairs: CandidatePairs, scores: np.ndarray, best: np.ndarray, tie_order: np.ndarray
) -> np.ndarray:
    """`best` pairs in descending score (ties in `tie_order`), each kept while its budget has
    room for the amount."""
    amount = pairs.items.number(c.ITEM_AMOUNT)[pairs.item_index]
    room = np.abs(_costs(pairs)) * CAPACITY_SLACK
    held = np.zeros(room.shape[0])
    kept = np.zeros(scores.shape[0], dtype=bool)
    candidates = np.flatnonzero(best)
    ranked = candidates[np.lexsort((tie_order[candidates], -scores[candidates]))]
    for position in ranked.tolist():
        budget, value = int(pairs.budget_index[position]), float(amount[position])
        charge = value if value > 0 else 0.0  # NaN > 0 is False: an unknown amount fits
        if held[budget] == 0 or np.isnan(room[budget]) or held[budget] + charge <= room[budget]:
            held[budget] += charge
            kept[position] = True
    return kept


def _costs(pairs: CandidatePairs) -> np.ndarray:
    """Per budget row: the actual cost, else the budgeted price."""
    actual = pairs.budgets.number(c.BUDGET_ACTUAL_COST)
    return np.where(np.isnan(actual), pairs.budgets.number(c.BUDGET_PRICE), actual)


def _one_ticket_per_budget(
    pairs: CandidatePairs, scores: np.ndarray, above: np.ndarray, tie_order: np.ndarray
) -> np.ndarray:
    """Pairs above the threshold in descending score (ties in `tie_order`): each kept when its
    item is still free and, for a ticket-sized charge, its budget's ticket slot too."""
    amount = pairs.items.number(c.ITEM_AMOUNT)[pairs.item_index]
    cost = _costs(pairs)[pairs.budget_index]
    with np.errstate(invalid="ignore"):
        distance = np.abs(np.log1p(np.abs(amount)) - np.log1p(np.abs(cost)))
        ticket = (amount > 0) & (distance <= TICKET_TOLERANCE)
    candidates = np.flatnonzero(above & ~np.isnan(scores))
    ranked = candidates[np.lexsort((tie_order[candidates], -scores[candidates]))]
    item_taken = np.zeros(len(pairs.items), dtype=bool)
    slot_taken = np.zeros(len(pairs.budgets), dtype=bool)
    kept = np.zeros(scores.shape[0], dtype=bool)
    for position, item, budget, is_ticket in zip(
        ranked.tolist(),
        pairs.item_index[ranked].tolist(),
        pairs.budget_index[ranked].tolist(),
        ticket[ranked].tolist(),
        strict=True,
    ):
        if item_taken[item] or (is_ticket and slot_taken[budget]):
            continue
        item_taken[item] = kept[position] = True
        slot_taken[budget] |= is_ticket
    return kept
