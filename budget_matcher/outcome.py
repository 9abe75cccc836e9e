"""What one request produced, handed to the side paths (results store, live metrics)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from budget_matcher.pairs import CandidatePairs


@dataclass
class ScoringOutcome:
    """One answered request: ids, timing, model, the response items and the scored pairs."""

    request_id: str
    received_at: datetime  # UTC
    duration_ms: float
    model_version: str | None
    threshold: float | None
    items: list[dict[str, Any]]
    pairs: CandidatePairs | None
    features: np.ndarray | None
    n_users: int
    n_errors: int
    source: str
    evaluator: str | None = None  # the tree evaluator that scored: sklearn, compiled, numpy
    scores: np.ndarray | None = None  # one per pair (the first len(scores) items), when scored
