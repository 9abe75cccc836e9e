"""Synthetic labeled users: trips, budgets and the card-feed line items around them.

No public labeled data exists for budget-to-expense matching, so `bem synth` makes believable
users. A user has 1-6 trips; a trip has 1-4 budgets (flight, hotel, car, rail) with a budgeted
price, the booked cost, vendors, trip start/end in UTC and the budget's creation time. The
user's line items over the months around the trips hold the charges that pay for each budget
(label 1; a hotel folio's itemizations all belong to the stay) and everything else (label 0):
meals, taxis, parking, fuel, airline fees, a colleague's ticket on the same airline, travel
with no budget, one-off vendors.

Noise is set by `NoiseKnobs` (each documented below) and a per-user multiplier drawn from
[1 - spread, 1 + spread]; `NoiseKnobs.scaled(f)` makes a harsher (f > 1) or gentler set.
Output: one row per labeled pair with the seed's field names, `user_id` and `is_match`
(layout "compact": every item and budget appears at least once and every match is listed;
unlisted pairs of a user are non-matches; layout "full": the whole cross product).
"""

from __future__ import annotations

import csv
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bem.synth.draws import UserProfile
from bem.synth.knobs import SynthConfig
from bem.synth.trip import TripBuilder
from budget_matcher import contract

ROW_FIELDS = (contract.USER_ID_KEY, *contract.BUDGET_FIELDS, *contract.ITEM_FIELDS, contract.LABEL)


@dataclass
class SynthUser:
    """One generated user: seed-format records and the matching pairs."""

    user_id: str
    budgets: list[dict[str, str | None]]
    items: list[dict[str, str | None]]
    matches: set[tuple[str, str]]  # (budget_id, itemization_id)
    tags: dict[str, str]  # itemization_id -> what the item is (flight, companion, trip_meal...)
    item_knobs: dict[str, set[str]] = field(default_factory=dict)  # id -> knobs that shaped it
    budget_knobs: dict[str, set[str]] = field(default_factory=dict)
    clean_feed: bool = False  # drawn by the `clean_feed` share: every card-feed knob off

    def pair_knobs(self, budget_id: str, item_id: str) -> frozenset[str]:
        """The knobs that shaped either side of a pair (the evaluation's breakdown)."""
        return frozenset(
            self.budget_knobs.get(budget_id, set()) | self.item_knobs.get(item_id, set())
        )


def generate_users(config: SynthConfig) -> list[SynthUser]:
    """`config.users` users, reproducible from `config.seed`."""
    rng = random.Random(config.seed)
    # Who has a clean feed is drawn from a stream of its own, so the other draws stay as they are.
    clean_rng = random.Random(f"clean-feed-{config.seed}")
    counters = {"budget": 300000, "item": 4000000}
    users = []
    for index in range(config.users):
        multiplier = 1.0 + config.noise_spread * (2 * rng.random() - 1)
        knobs = config.knobs.scaled(max(multiplier, 0.0))
        clean = clean_rng.random() < config.knobs.clean_feed
        if clean:
            knobs = knobs.without_card_feed()
        profile = UserProfile.draw(rng, knobs, config.first_year, config.last_year)
        builder = TripBuilder(rng, knobs, profile, counters)
        builder.build_user()
        users.append(
            SynthUser(
                user_id=f"u{config.seed}-{index:05d}",
                budgets=builder.budgets,
                items=builder.items,
                matches=builder.matches,
                tags=builder.tags,
                item_knobs=builder.item_knobs,
                budget_knobs=builder.budget_knobs,
                clean_feed=clean,
            )
        )
    return users


def user_rows(user: SynthUser, layout: str = "compact") -> Iterator[dict[str, str | None]]:
    """The labeled pair rows of one user (see the module docstring for the layouts)."""
    budgets = {str(b[contract.BUDGET_ID]): b for b in user.budgets}
    items = {str(i[contract.ITEM_ID]): i for i in user.items}

    def row(budget_id: str, item_id: str) -> dict[str, str | None]:
        label = "1" if (budget_id, item_id) in user.matches else "0"
        return {
            contract.USER_ID_KEY: user.user_id,
            **budgets[budget_id],
            **items[item_id],
            contract.LABEL: label,
        }

    if layout == "full":
        for budget_id in budgets:
            for item_id in items:
                yield row(budget_id, item_id)
        return
    if not budgets or not items:
        return
    seen_budgets: set[str] = set()
    matched_item = {item_id: budget_id for budget_id, item_id in user.matches}
    budget_ids = list(budgets)
    for position, item_id in enumerate(items):
        budget_id = matched_item.get(item_id, budget_ids[position % len(budget_ids)])
        seen_budgets.add(budget_id)
        yield row(budget_id, item_id)
    first_item = next(iter(items))
    for budget_id in budget_ids:
        if budget_id not in seen_budgets:
            yield row(budget_id, first_item)


def write_rows(users: list[SynthUser], out: Path | None, fmt: str, layout: str) -> int:
    """Write the pair rows as CSV or JSON (a list of objects) to `out` or stdout."""
    rows = [r for user in users for r in user_rows(user, layout)]
    handle = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
    try:
        if fmt == "json":
            json.dump(rows, handle, ensure_ascii=False)
            handle.write("\n")
        else:
            writer = csv.DictWriter(handle, fieldnames=ROW_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if out:
            handle.close()
    return len(rows)
