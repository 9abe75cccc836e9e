"""Production traffic from generated users: each request scored by the service's code with a
model, its results stored as the handler stores them (`rows_from_outcome`), one day per batch.

For benches and the learning loop's walk-through: the labelled history of the same users
(`history_rows`) is what reviewers would say, so the loop can be measured end to end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bem.monitor.store import insert_results
from bem.synth.users import SynthUser
from budget_matcher import contract as c
from budget_matcher.outcome import ScoringOutcome
from budget_matcher.result_rows import rows_from_outcome
from budget_matcher.scoring import score_payload


def payload(users: Sequence[SynthUser]) -> dict[str, Any]:
    """The request of several users."""
    return {
        c.USERS_KEY: [
            {c.USER_ID_KEY: u.user_id, c.BUDGETS_KEY: u.budgets, c.LINE_ITEMS_KEY: u.items}
            for u in users
        ]
    }


def serve(
    engine: Engine,
    users: Sequence[SynthUser],
    model: Any,
    first_day: datetime,
    per_request: int = 10,
    requests_per_day: int = 10,
    prefix: str = "req",
) -> int:
    """Score `users` in requests of `per_request` users with `model` (a LoadedModel), store
    their results, `requests_per_day` requests a day from `first_day`; returns rows stored."""
    stored = 0
    for number, start in enumerate(range(0, len(users), per_request)):
        batch = users[start : start + per_request]
        scored = score_payload(payload(batch), model)
        day = first_day + timedelta(days=number // requests_per_day, minutes=number)
        outcome = ScoringOutcome(
            request_id=f"{prefix}-{number:05d}", received_at=day, source="direct",
            model_version=model.version, threshold=model.threshold, items=scored.items,
            pairs=scored.batch.pairs, features=scored.features, n_users=len(batch),
            scores=scored.scores,
        )  # fmt: skip
        rows = rows_from_outcome(outcome)
        with engine.begin() as connection:
            stored += insert_results(connection, rows)
    return stored


def history_rows(users: Sequence[SynthUser]) -> Iterator[dict[str, Any]]:
    """The reviewers' word on `users`: every match, as a history (user_id, budget_id,
    itemization_id, is_match), for `bem monitor label --unlisted negative`."""
    for user in users:
        for budget_id, item_id in sorted(user.matches):
            yield {c.USER_ID_KEY: user.user_id, c.BUDGET_ID: budget_id, c.ITEM_ID: item_id,
                   c.LABEL: 1}  # fmt: skip
