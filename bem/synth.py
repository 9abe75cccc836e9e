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
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import click

from bem.synth_draws import UserProfile
from bem.synth_trip import TripBuilder
from budget_matcher import contract

ROW_FIELDS = (contract.USER_ID_KEY, *contract.BUDGET_FIELDS, *contract.ITEM_FIELDS, contract.LABEL)


@dataclass(frozen=True)
class NoiseKnobs:
    """How messy the generated data is. Probabilities are per booking/item unless stated."""

    vendor: float = 1.0  # strength of card-feed mangling of vendor names (0 = clean names)
    amount: float = 0.03  # relative s.d. of FX drift and fees between booked cost and charge
    missing: float = 0.05  # probability that any non-id field is null
    date_delay: float = 3.0  # max days between a charge and its posting date
    split: float = 0.10  # a booking paid in two charges (two one-way tickets, deposit + rest)
    refund: float = 0.04  # a booking changed or cancelled: a negative charge (label 1)
    itemize: float = 0.30  # a hotel folio itemized into nightly rate, tax and incidentals
    foreign: float = 0.20  # a trip abroad: converted currency, another time zone
    currency_slip: float = 0.02  # a foreign charge expensed in local currency units
    agency: float = 0.20  # a booking bought and charged through a travel agency
    vague_type: float = 0.05  # an item filed under a vague or wrong expense type
    distractors: float = 1.0  # scale of the number of non-matching items
    unmatched_budget: float = 0.08  # a budget with no charge (paid centrally, never used)
    unbudgeted_trip: float = 0.30  # per user: a trip with charges but no budgets
    companion: float = 0.03  # a look-alike charge: a colleague's ticket or room, same vendor
    prepaid: float = 0.15  # a hotel or car paid at booking instead of at checkout/return
    late_charge: float = 0.15  # a flight or train ticket posted at departure, not at booking

    def scaled(self, factor: float) -> NoiseKnobs:
        """Every knob multiplied by `factor` (probabilities capped at 0.9)."""
        values: dict[str, float] = {}
        for field in fields(self):
            value = getattr(self, field.name) * factor
            is_probability = field.name not in ("vendor", "date_delay", "distractors", "amount")
            values[field.name] = min(value, 0.9) if is_probability else value
        return NoiseKnobs(**values)


@dataclass(frozen=True)
class SynthConfig:
    """What to generate: how many users, from which seed, with which noise."""

    users: int = 200
    seed: int = 0
    knobs: NoiseKnobs = NoiseKnobs()
    noise_spread: float = 0.5  # per-user noise multiplier drawn from [1 - spread, 1 + spread]
    first_year: int = 2016
    last_year: int = 2025

    def card(self) -> dict[str, Any]:
        """The generator settings as stored in the model card."""
        return {
            "generator": "bem.synth",
            "users": self.users,
            "seed": self.seed,
            "noise_spread": self.noise_spread,
            "knobs": asdict(self.knobs),
        }


@dataclass
class SynthUser:
    """One generated user: seed-format records and the matching pairs."""

    user_id: str
    budgets: list[dict[str, str | None]]
    items: list[dict[str, str | None]]
    matches: set[tuple[str, str]]  # (budget_id, itemization_id)
    tags: dict[str, str]  # itemization_id -> what the item is (flight, companion, trip_meal...)


def generate_users(config: SynthConfig) -> list[SynthUser]:
    """`config.users` users, reproducible from `config.seed`."""
    rng = random.Random(config.seed)
    counters = {"budget": 300000, "item": 4000000}
    users = []
    for index in range(config.users):
        multiplier = 1.0 + config.noise_spread * (2 * rng.random() - 1)
        knobs = config.knobs.scaled(max(multiplier, 0.0))
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


def knobs_from_options(noise: float, overrides: tuple[str, ...]) -> NoiseKnobs:
    """Default knobs scaled by `noise`, then `name=value` overrides."""
    knobs = NoiseKnobs().scaled(noise)
    known = {f.name for f in fields(NoiseKnobs)}
    for override in overrides:
        name, _, value = override.partition("=")
        if name not in known:
            raise click.BadParameter(f"unknown knob {name!r}; known: {sorted(known)}")
        knobs = replace(knobs, **{name: float(value)})
    return knobs


@click.command("synth")
@click.option("--users", default=200, show_default=True, help="How many users.")
@click.option("--seed", default=0, show_default=True, help="Random seed (same seed, same data).")
@click.option(
    "--noise", default=1.0, show_default=True, help="Scale every noise knob (2.0 = harsher)."
)
@click.option(
    "--knob",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set one noise knob, e.g. --knob missing=0.2 (see bem.synth.NoiseKnobs).",
)
@click.option(
    "--spread", default=0.5, show_default=True, help="Per-user noise multiplier range 1 +/- spread."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default=None,
    help="Output format (default: from the file suffix, else csv).",
)
@click.option(
    "--layout",
    type=click.Choice(["compact", "full"]),
    default="compact",
    show_default=True,
    help="compact: each record once + every match; full: all pairs.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Output file (default: stdout).",
)
def synth_command(
    users: int,
    seed: int,
    noise: float,
    overrides: tuple[str, ...],
    spread: float,
    fmt: str | None,
    layout: str,
    out: Path | None,
) -> None:
    """Generate labeled synthetic users (seed field names + user_id + is_match).

    Example: bem synth --users 500 --seed 7 --noise 2.0 --out harsh.csv
    """
    config = SynthConfig(
        users=users, seed=seed, knobs=knobs_from_options(noise, overrides), noise_spread=spread
    )
    chosen = fmt or ("json" if out is not None and out.suffix == ".json" else "csv")
    count = write_rows(generate_users(config), out, chosen, layout)
    click.echo(f"wrote {count} rows for {users} users", err=True)
