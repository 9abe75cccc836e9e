"""Scoring's second stage: each pair's score read again against its competitors.

The trees score every pair alone. Whether a pair belongs also shows in what competes with it:
the item's other budgets (a line whose own budget is clearly its best, even at a modest score)
and the budget's other items (a budget already holding its folio at high scores). The rescorer
is a logistic regression over the first-stage scores of those competitors
(`COMPETITOR_FEATURES`), fitted by `bem model rescorer` on fresh users the trees never saw.
Its artefact, `model_rescorer.json`, is listed in the card with its sha256 and verified like
the trees; the card's threshold is the rescored scores' threshold. numpy only.

Order-free: a rank counts the competitors scoring strictly higher (equal scores rank
equally), a sum of scores adds in descending score and amounts add in whole cents, so no
feature depends on the order of the request's budgets or items.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np

from budget_matcher import contract as c
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
_UINT16_MAX = 65535  # groups that fit are sorted by numpy's radix sort


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

    @cached_property
    def _folded(self) -> tuple[np.ndarray, float]:
        """coef · (x − mean) / scale + intercept as one weight vector and a bias."""
        weights = np.asarray(self.coef) / np.asarray(self.scale)
        return weights, self.intercept - float(weights @ np.asarray(self.mean))

    def terms(self, pairs: CandidatePairs, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(competitor features, each one's term of the logit) per pair: the logit is the
        intercept plus the terms' sum (what `bem explain` shows of the second stage)."""
        rows = competitor_features(pairs, scores, self.first_threshold)
        standard = (rows - np.asarray(self.mean)) / np.asarray(self.scale)
        return rows, standard * np.asarray(self.coef)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    def rescore(self, pairs: CandidatePairs, scores: np.ndarray) -> np.ndarray:
        """The second-stage probability of every pair, from the trees' `scores`."""
        if scores.shape[0] == 0:
            return np.zeros(0)
        weights, bias = self._folded
        # Column by column, not a matrix product: BLAS may add a row's terms in an order that
        # depends on the row's position, and the score must not depend on the request's order.
        logit = np.full(scores.shape[0], bias)
        for column, weight in zip(
            competitor_columns(pairs, scores, self.first_threshold), weights, strict=True
        ):
            logit += column * weight
        return 1.0 / (1.0 + np.exp(np.minimum(-logit, 40.0)))


def competitor_features(
    pairs: CandidatePairs, scores: np.ndarray, first_threshold: float
) -> np.ndarray:
    """One row of `COMPETITOR_FEATURES` per pair (same order as `scores`)."""
    if scores.shape[0] == 0:
        return np.zeros((0, len(COMPETITOR_FEATURES)))
    return np.column_stack(competitor_columns(pairs, scores, first_threshold))


def competitor_columns(
    pairs: CandidatePairs, scores: np.ndarray, first_threshold: float
) -> list[np.ndarray]:
    """The columns of `competitor_features` (what the rescorer reads, one array each)."""
    score = _zero_nan(np.asarray(scores, dtype=np.float64))
    item, budget = pairs.item_index, pairs.budget_index
    n_budgets = len(pairs.budgets)
    by_score = np.argsort(-score)  # descending; equal scores in any order, being equal
    in_item = _Competitors(item, score, by_score)
    in_budget = _Competitors(budget, score, by_score)
    candidates = np.bincount(item[score > CANDIDATE_SCORE], minlength=len(pairs.items))[item]
    above = score >= first_threshold
    load = np.bincount(budget[above], minlength=n_budgets)[budget]
    # whole cents: integer sums are exact, so they do not depend on the order of the pairs
    cents = np.round(_zero_nan(pairs.items.number(c.ITEM_AMOUNT)) * 100.0)[item]
    held = np.bincount(budget[above], weights=cents[above], minlength=n_budgets)[budget] / 100.0
    actual = pairs.budgets.number(c.BUDGET_ACTUAL_COST)
    cost = _zero_nan(np.where(np.isnan(actual), pairs.budgets.number(c.BUDGET_PRICE), actual))
    amount_share = np.log1p(np.abs(held)) - np.log1p(np.abs(cost[budget]))
    clipped = np.minimum(np.maximum(score, _LOGIT_CLIP), 1.0 - _LOGIT_CLIP)
    return [
        score,
        np.log(clipped / (1.0 - clipped)),
        in_item.best_other,
        score - in_item.best_other,
        np.minimum(in_item.rank, RANK_CAP),
        candidates,
        score / np.maximum(in_item.total, 1e-9),
        in_budget.best,
        score - in_budget.best,
        np.minimum(in_budget.rank, 2 * RANK_CAP),
        load,
        amount_share,
    ]


def _zero_nan(values: np.ndarray) -> np.ndarray:
    """`values` with NaN as 0 (np.nan_to_num costs more on the one-pair request)."""
    return np.where(np.isnan(values), 0.0, values)


class _Competitors:
    """Per pair, among the pairs of its group (its item, or its budget): the group's best
    score, the best score of the group's other pairs (0 when it has none; tied tops see each
    other), how many pairs score strictly higher (equal scores rank equally) and the group's
    total score, added in descending score (only equal values trade places). One sort: the
    pairs by score descending, then stably by group (a radix sort when groups fit 16 bits)."""

    def __init__(self, group: np.ndarray, score: np.ndarray, by_score: np.ndarray) -> None:
        n = score.shape[0]
        keys = group[by_score]
        if int(group.max()) <= _UINT16_MAX:
            keys = keys.astype(np.uint16)
        order = by_score[np.argsort(keys, kind="stable")]
        g, s = group[order], score[order]
        new_group = np.ones(n, dtype=bool)
        np.not_equal(g[1:], g[:-1], out=new_group[1:])
        new_value = new_group.copy()
        new_value[1:] |= s[1:] != s[:-1]
        index = np.arange(n)
        start = np.maximum.accumulate(np.where(new_group, index, 0))
        best = s[start]
        top_other = np.zeros(n)  # the runner-up, or a tied top, at the group's first place
        top_other[:-1] = np.where(new_group[1:], 0.0, s[1:])
        totals = np.add.reduceat(s, np.flatnonzero(new_group))
        self.best = np.empty(n)
        self.best_other = np.empty(n)
        self.rank = np.empty(n)
        self.total = np.empty(n)
        self.best[order] = best
        self.best_other[order] = np.where(index == start, top_other, best)
        self.rank[order] = np.maximum.accumulate(np.where(new_value, index, 0)) - start
        self.total[order] = totals[np.cumsum(new_group) - 1]
