"""What happens beside each answer: store its results, emit its live metrics. Never raises.

The handler calls `publish(outcome)` after building its answer. Each side path runs on its
own: a fault in one is logged and does not stop the other, and nothing reaches the caller.
The sink and the metrics emitter are built once per container from the environment;
`configure()` replaces them (tests, tools).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from budget_matcher.live_metrics import LiveMetrics
from budget_matcher.outcome import ScoringOutcome
from budget_matcher.result_rows import rows_from_outcome
from budget_matcher.results_sink import ResultsSink

logger = logging.getLogger(__name__)


@dataclass
class Published:
    """Where one answer's side paths went (for logs and tests)."""

    rows: int = 0
    results: str = "skipped"  # "db", "spool", "dropped" (spool full), "none" or "failed"
    metrics: bool = False


_sink: ResultsSink | None = None
_metrics: LiveMetrics | None = None


def configure(sink: ResultsSink | None = None, metrics: LiveMetrics | None = None) -> None:
    """Use these writers from now on (None: build from the environment on next use)."""
    global _sink, _metrics
    _sink, _metrics = sink, metrics


def publish(outcome: ScoringOutcome) -> Published:
    """Store the outcome's rows and emit its metrics; logs and swallows every fault."""
    global _sink, _metrics
    published = Published()
    try:
        if _sink is None:
            _sink = ResultsSink()
        if _sink.keeps_rows:  # else the rows would go nowhere: not even built
            rows = rows_from_outcome(outcome)
            published.rows = len(rows)
            published.results = _sink.write(rows)
        else:
            published.results = "none"
    except Exception:
        published.results = "failed"
        logger.exception("results side path failed")
    try:
        if _metrics is None:
            _metrics = LiveMetrics()
        published.metrics = _metrics.emit(outcome) is not None
    except Exception:
        logger.exception("metrics side path failed")
    return published
