"""What one request produced: the stamp every answer carries, the response value, and the
outcome handed to the side paths (results store, live metrics)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from budget_matcher import responses
from budget_matcher.pairs import CandidatePairs


@dataclass(frozen=True)
class AnswerStamp:
    """Who answered: the request id, and the model's version and threshold (None if unloaded)."""

    request_id: str
    model_version: str | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class Response:
    """The answer before it takes the event source's shape: an HTTP status and a JSON body."""

    status: int
    body: Any

    def for_event(self, is_http: bool, stamp: AnswerStamp) -> Any:
        """The body itself for a direct invoke; a proxy response (status, headers) for HTTP."""
        if not is_http:
            return self.body
        return responses.http_response(
            self.status, self.body, stamp.request_id, stamp.model_version, stamp.threshold
        )


@dataclass
class ScoringOutcome:
    """One answered request: ids, timing, model, the response items and the scored pairs.

    The handler builds it once, with keywords, when the answer is known.
    """

    request_id: str
    received_at: datetime  # UTC
    source: str
    duration_ms: float = 0.0
    model_version: str | None = None
    threshold: float | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    pairs: CandidatePairs | None = None
    features: np.ndarray | None = None
    n_users: int = 0
    n_errors: int = 0
    evaluator: str | None = None  # the tree evaluator that scored: sklearn, compiled, numpy
    scores: np.ndarray | None = None  # one per pair (the first len(scores) items), when scored
    matched: np.ndarray | None = None  # the per-user decision of each scored pair
