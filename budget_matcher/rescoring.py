"""Scoring's second stage: each pair's score read again against its competitors.

The trees score every pair alone. Whether a pair belongs also shows in what competes with it:
the item's other budgets (a line whose own budget is clearly its best, even at a modest score)
and the budget's other items (a budget already holding its folio at high scores). The rescorer
is a logistic regression over the first-stage scores of those competitors
(`COMPETITOR_FEATURES`), fitted by `bem model rescorer` on fresh users the trees never saw.
Its artefact, `model_rescorer.json`, is listed in the card with its sha256 and verified like
the trees; the card's threshold is the rescored scores' threshold. numpy only.

Order-free: the features are computed on the pairs in `pair_order` (budget id, item id), so
every sum adds in the same order, and a rank counts the competitors scoring strictly higher,
so equal scores rank equally whatever the request's order.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import numpy as np

from budget_matcher import contract as c
from budget_matcher.decisions import pair_order
from budget_matcher.pairs import CandidatePairs

RESCORER_FILE = "model_rescorer.json"
RANK_CAP = 5
COMPETITOR_FEATURES = (
    "score",  # the trees' score of the pair
    "score_logit",  # the same, on the log-odds scale (clipped at 1e-6)
    "item_best_other",  # the highest score among the item's other budgets (0 when none)
    "item_margin",  # score − item_best_other
    "item_rank",  # how many of the item's budgets score strictly higher (capped at RANK_CAP)
    "item_candidates",  # how many of the item's budgets score above CANDIDATE_SCORE
    "item_score_share",  # score / the sum of the item's scores
    "budget_best",  # the highest score among the budget's items
    "budget_margin",  # score − budget_best
    "budget_rank",  # how many of the budget's items score strictly higher (capped at 2 × RANK_CAP)
    "budget_load",  # how many of the budget's items reach the first-stage threshold
    "budget_amount_share",  # ln(1+|Σ amounts reaching it|) − ln(1+|cost|)
)
CANDIDATE_SCORE = 0.05
_LOGIT_CLIP = 1e-6


class RescorerError(ValueError):
    """The rescorer artefact is not one this code can apply."""


@dataclass(frozen=True)
class Rescorer:
    """A fitted logistic regression over `COMPETITOR_FEATURES`, standardised by `mean` and
    `scale`; `first_threshold` is the trees' threshold the load features count against."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    first_threshold: float

    def __post_init__(self) -> None:
        if tuple(self.features) != COMPETITOR_FEATURES:
            raise RescorerError(
                f"the rescorer reads other features ({list(self.features)}) than this code "
                f"computes ({list(COMPETITOR_FEATURES)})"
            )
        sizes = {len(self.mean), len(self.scale), len(self.coef)}
        if sizes != {len(COMPETITOR_FEATURES)}:
            raise RescorerError(f"the rescorer's mean, scale and coef sizes differ: {sizes}")
        numbers = [*self.mean, *self.scale, *self.coef, self.intercept, self.first_threshold]
        if not all(math.isfinite(float(v)) for v in numbers) or min(self.scale) <= 0:
            raise RescorerError("the rescorer holds a non-finite number or a scale ≤ 0")

    @classmethod
    def from_bytes(cls, data: bytes) -> Rescorer:
        """The rescorer of `model_rescorer.json`'s bytes (RescorerError when malformed)."""
        try:
            fields = json.loads(data)
            return cls(
                tuple(fields["features"]),
                tuple(float(v) for v in fields["mean"]),
                tuple(float(v) for v in fields["scale"]),
                tuple(float(v) for v in fields["coef"]),
                float(fields["intercept"]),
                float(fields["first_threshold"]),
            )
        except (ValueError, TypeError, KeyError) as error:
            raise RescorerError(f"unreadable rescorer: {type(error).__name__}: {error}") from error

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    def rescore(self, pairs: CandidatePairs, scores: np.ndarray) -> np.ndarray:
        """The second-stage probability of every pair, from the trees' `scores`."""
        if scores.shape[0] == 0:
            return np.zeros(0)
        features = competitor_features(pairs, scores, self.first_threshold)
        standard = (features - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = standard @ np.asarray(self.coef) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logit, -40.0, 40.0))), dtype=np.float64)


def competitor_features(
    pairs: CandidatePairs, scores: np.ndarray, first_threshold: float
) -> np.ndarray:
    """One row of `COMPETITOR_FEATURES` per pair (same order as `scores`)."""
    n = scores.shape[0]
    canonical = np.argsort(pair_order(pairs), kind="stable")  # canonical position → pair
    score = np.nan_to_num(np.asarray(scores, dtype=np.float64)[canonical], nan=0.0)
    item = pairs.item_index[canonical]
    budget = pairs.budget_index[canonical]
    n_items, n_budgets = len(pairs.items), len(pairs.budgets)

    _, item_other = _best_and_best_other(item, score, n_items)
    item_sum = np.bincount(item, weights=score, minlength=n_items)[item]
    candidates = np.bincount(item[score > CANDIDATE_SCORE], minlength=n_items)[item]
    budget_best, _ = _best_and_best_other(budget, score, n_budgets)

    above = score >= first_threshold
    load = np.bincount(budget[above], minlength=n_budgets)[budget]
    amount = np.nan_to_num(pairs.items.number(c.ITEM_AMOUNT))[item]
    held = np.bincount(budget[above], weights=amount[above], minlength=n_budgets)[budget]
    actual = pairs.budgets.number(c.BUDGET_ACTUAL_COST)
    cost = np.nan_to_num(np.where(np.isnan(actual), pairs.budgets.number(c.BUDGET_PRICE), actual))
    amount_share = np.log1p(np.abs(held)) - np.log1p(np.abs(cost[budget]))

    clipped = np.clip(score, _LOGIT_CLIP, 1.0 - _LOGIT_CLIP)
    rows = np.column_stack(
        [
            score,
            np.log(clipped / (1.0 - clipped)),
            item_other,
            score - item_other,
            np.minimum(_rank_in_group(item, score), RANK_CAP),
            candidates,
            score / np.maximum(item_sum, 1e-9),
            budget_best,
            score - budget_best,
            np.minimum(_rank_in_group(budget, score), 2 * RANK_CAP),
            load,
            amount_share,
        ]
    )
    out = np.empty((n, len(COMPETITOR_FEATURES)))
    out[canonical] = rows
    return out


def _best_and_best_other(
    group: np.ndarray, score: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: its group's highest score, and the highest score of the group's other pairs
    (0 when it has none; a tie for the top gives each tied pair the top score)."""
    best = np.full(n_groups, -np.inf)
    np.maximum.at(best, group, score)
    at_top = score == best[group]
    tops = np.bincount(group[at_top], minlength=n_groups)
    below = ~at_top
    second = np.full(n_groups, -np.inf)
    np.maximum.at(second, group[below], score[below])
    alone_on_top = at_top & (tops[group] == 1)
    other = np.where(alone_on_top, second[group], best[group])
    return best[group], np.where(np.isinf(other), 0.0, other)


def _rank_in_group(group: np.ndarray, score: np.ndarray) -> np.ndarray:
    """How many pairs of the same group score strictly higher (equal scores rank equally)."""
    n = score.shape[0]
    order = np.lexsort((-score, group))
    g, s = group[order], score[order]
    index = np.arange(n)
    new_group = np.r_[True, g[1:] != g[:-1]]
    new_value = new_group | np.r_[True, s[1:] != s[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, index, 0))
    value_start = np.maximum.accumulate(np.where(new_value, index, 0))
    rank = np.empty(n)
    rank[order] = value_start - group_start
    return rank
