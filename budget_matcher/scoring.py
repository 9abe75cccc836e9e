"""Payload → response items: the one scoring path shared by the Lambda and the batch jobs.

`score_payload` flattens a payload (one user, or a batch of users) into candidate pairs,
computes their features, scores them with the loaded model and shapes the response items
(scored pairs in pair order, then the error items). The handler answers requests with it and
`bem batch score` runs it inside Spark, so a change to features, model or decisions reaches both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from budget_matcher import contract as c
from budget_matcher import responses
from budget_matcher.answer_size import AnswerShape
from budget_matcher.decisions import decide
from budget_matcher.features import compute_features
from flattened_data_points import (
    DEFAULT_ANSWER_BYTES,
    DEFAULT_MAX_PAIRS_PER_USER,
    UNBOUNDED,
    FlattenedBatch,
    FlattenedDataPoints,
)

if TYPE_CHECKING:
    from predict import LoadedModel, ModelUnavailable


NO_MODEL = ("model_unavailable", "no model loaded")


@dataclass
class ScoredPayload:
    """The flattened payload, its feature matrix, scores and per-user decisions (None without
    a model, which `unscored` then names: code and message) and, built on first use, the
    response items (the first len(scores) of them are the scored pairs)."""

    batch: FlattenedBatch
    features: np.ndarray | None = None
    scores: np.ndarray | None = None
    matched: np.ndarray | None = None
    unscored: tuple[str, str] | None = None

    @cached_property
    def items(self) -> list[dict[str, Any]]:
        """The response items: one per pair, then the batch's error items. A caller that only
        needs the arrays (the batch jobs) never pays for the pairs' dicts."""
        pairs = self.batch.pairs
        if self.scores is not None and self.matched is not None:
            return responses.scored_items(pairs, self.scores, self.matched) + self.error_items
        code, message = self.unscored or NO_MODEL
        items = responses.unscored_items(pairs, code, message)
        if not items and not self.batch.error_items:
            items = [c.error_item(code, message)]
        return items + self.error_items

    def columns(self) -> dict[str, Any]:
        """The answer in the columns form (without a model every pair is an error item)."""
        if self.scores is None or self.matched is None:
            return {c.FORMAT_KEY: c.COLUMNS_FORMAT, c.USERS_KEY: [], "errors": self.items}
        return responses.columns_answer(
            self.batch.pairs, self.scores, self.matched, self.error_items
        )

    @property
    def error_items(self) -> list[dict[str, Any]]:
        """The error items after the pairs (per-record errors and refused users)."""
        return self.batch.error_items


def score_payload(
    payload: object,
    model: LoadedModel | None,
    unavailable: ModelUnavailable | None = None,
    max_pairs_per_user: int = DEFAULT_MAX_PAIRS_PER_USER,
    answer_bytes: int = DEFAULT_ANSWER_BYTES,
    *,
    max_pairs_per_call: int = UNBOUNDED,
    shape: AnswerShape | None = None,
) -> ScoredPayload:
    """Score every candidate pair of `payload`; never raises on client data.

    Without a model (`model` None), every pair becomes an error item carrying `unavailable`'s
    code and message. The bounds default to a Lambda call's answer (`flattened_data_points`);
    the batch jobs, which return no answer, pass their own. `shape` is how the answer will be
    written (form, HTTP or not), which the answer bound measures. Pairs that `answer_budgets`
    leaves out are scored and decided with their user, then dropped.
    """
    unscored = unscored_by(model, unavailable)
    shape = replace(shape or AnswerShape(), unscored=unscored)
    batch = FlattenedDataPoints(
        payload,
        max_pairs_per_user,
        answer_bytes,
        max_pairs_per_call=max_pairs_per_call,
        shape=shape,
    ).all()
    return score_flattened(batch, model, unavailable)


def unscored_by(
    model: LoadedModel | None, unavailable: ModelUnavailable | None
) -> tuple[str, str] | None:
    """Why pairs go unscored (code, message): None when there is a model."""
    if model is not None:
        return None
    return (unavailable.code, unavailable.message) if unavailable else NO_MODEL


def score_flattened(
    batch: FlattenedBatch, model: LoadedModel | None, unavailable: ModelUnavailable | None = None
) -> ScoredPayload:
    """Features, scores and decisions of already flattened pairs (`score_payload`'s second
    half; the batch job flattens each request line on its own, then scores many at once)."""
    keep = batch.answered
    if model is None:
        if keep is not None:
            batch.pairs, batch.answered = batch.pairs.subset(keep), None
        return ScoredPayload(batch, unscored=unscored_by(model, unavailable))
    features = compute_features(batch.pairs)
    scores = model.score_pairs(batch.pairs, features)
    matched = decide(batch.pairs, scores, model.threshold)
    if keep is not None:  # decided over the whole user, answered for the named budgets
        batch.pairs, batch.answered = batch.pairs.subset(keep), None
        features, scores, matched = features[keep], scores[keep], matched[keep]
    return ScoredPayload(batch, features, scores, matched)
