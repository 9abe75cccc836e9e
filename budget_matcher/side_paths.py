"""Side paths run after every answer: results store and live metrics.

`publish` must never raise into the handler; the handler also guards the call.
"""

from __future__ import annotations

from budget_matcher.outcome import ScoringOutcome


def publish(outcome: ScoringOutcome) -> None:
    """Hand the outcome to every configured side path (none are configured yet)."""
    del outcome
