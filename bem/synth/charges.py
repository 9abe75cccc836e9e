"""The card-feed cases of a user's charges: commutes, cancellations, foreign-transaction fees,
trip spending, and the other formats a feed writes (hotel stays: hotel.py; tickets: tickets.py;
rentals: rental.py; a booking's own charges: paying.py).

Each function adds records through a `TripBuilder` (the protocol below) and labels them by the
labelling policy (bem/synth/policy.py, docs/contract.md): what pays for the booking belongs to
its budget (a cancelled booking's charge and its credit among them); incidentals, bank fees,
trip spending and trips booked outside the tool do not.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Protocol

from bem.synth import vocab
from bem.synth.draws import Booking, Record, Trip, UserProfile, lognormal, poisson
from bem.synth.knobs import NoiseKnobs
from budget_matcher import contract

# Fields an expense tool leaves empty when the user does (the `sparse` knob).
OPTIONAL_FIELDS = frozenset(
    {
        contract.ITEM_CATEGORY,
        contract.EXPENSE_TYPE_NAME,
        contract.EXPENSE_CATEGORY,
        contract.BUDGET_PURCHASE_VENDOR,
    }
)
# The kinds of a commute week's own charges (a posting delay may push them a week on).
COMMUTE_KINDS = frozenset({"flight", "rail", "hotel"})
_DAY_FIELDS = (contract.ITEM_DATE,)
_STAMP_FIELDS = (contract.BUDGET_TRIP_START, contract.BUDGET_TRIP_END, contract.BUDGET_GENERATED_AT)
_AMOUNT_FIELDS = (contract.ITEM_AMOUNT, contract.BUDGET_PRICE, contract.BUDGET_ACTUAL_COST)
# Only forms that tell day from month by themselves: a history stays readable without --dates.
_DAY_FORMATS = ("%b %d, %Y", "%d %b %Y", "%Y%m%d", "%Y/%m/%d")
_STAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S")


class TripBuilder(Protocol):
    """What these cases need of bem.synth.trip.TripBuilder (which calls them)."""

    rng: random.Random
    knobs: NoiseKnobs
    profile: UserProfile
    scope: set[str]
    commute: Commute | None

    last_vendor: dict[str, int]
    same_vendor: dict[str, int]

    def chance(self, share: float) -> bool: ...
    def build_trip(self, start_day: date, nights: int, budgeted: bool) -> None: ...
    def build_budget(self, budget_type: str, trip: Trip, price: float | None = None) -> None: ...
    def new_budget(self, budget_type: str, trip: Trip, price: float | None = None) -> Booking: ...
    def vendor_for(self, budget_type: str, stems: list[str], agency: str | None) -> str: ...
    def kind_names(self, kind: str) -> tuple[str, str]: ...
    def local_day(self, moment_utc: datetime, tz: float) -> date: ...
    def brand_stem(self, stems: list[str]) -> str: ...
    def converted(self, amount: float, trip: Trip, abroad: bool) -> float: ...
    def add_item(
        self,
        kind: str,
        vendor: str,
        amount: float,
        day: date,
        budget_id: str | None = None,
        item_names: tuple[str, str] | None = None,
        expense_names: tuple[str, str] | None = None,
        tag: str = "",
        knobs: tuple[str, ...] = (),
    ) -> str: ...


@dataclass(frozen=True)
class Commute:
    """A frequent traveller's route: the same booking types at about the same prices."""

    types: tuple[str, ...]
    prices: dict[str, float]
    # one negotiated fare and room rate (and the same tax) every week (`commute_fare`)
    same_fare: bool = False
    taxes: dict[str, float] = field(default_factory=dict)


def build_commute(builder: TripBuilder, day: date) -> date:
    """4-9 weekly or bi-weekly look-alike trips from `day` (some booked outside the tool),
    maybe all at one fare and room rate; returns the day after the last one."""
    rng, knobs = builder.rng, builder.knobs
    ticket = "rail" if rng.random() < 0.3 else "flight"
    nights = rng.randint(1, 4)
    prices = {
        ticket: lognormal(rng, 250.0 if ticket == "flight" else 90.0, 0.4),
        "hotel": lognormal(rng, 160.0, 0.3) * nights,
    }
    period = rng.choice([7, 7, 14])
    day += timedelta(days=rng.randint(3, 30))
    day += timedelta(days=(7 - day.weekday()) % 7)  # commutes start on a Monday
    same_fare = builder.chance(knobs.commute_fare)
    taxes = {"hotel": rng.uniform(0.08, 0.18)} if same_fare else {}
    builder.commute = Commute((ticket, "hotel"), prices, same_fare, taxes)
    builder.scope.add("commuter")
    if same_fare:
        builder.scope.add("commute_fare")
    for _ in range(rng.randint(4, 9)):
        builder.build_trip(day, nights, budgeted=rng.random() >= knobs.commute_unbooked)
        day += timedelta(days=period)
    builder.commute = None
    builder.scope -= {"commuter", "commute_fare"}
    return day


def rebooked(rng: random.Random, trip: Trip) -> Trip:
    """The same trip moved 3-21 days earlier or later, booked 1-20 days after the original."""
    shift = timedelta(days=rng.randint(3, 21) * rng.choice([-1, 1]))
    booked = trip.booked + timedelta(days=rng.uniform(1, 20))
    start = trip.start_utc + shift
    return replace(
        trip,
        start_utc=start,
        end_utc=trip.end_utc + shift,
        booked=min(booked, start - timedelta(days=1)),
    )


def add_cancellation(
    builder: TripBuilder, budget_type: str, budget_id: str, vendor: str, total: float, trip: Trip
) -> None:
    """A cancelled booking: its charge at booking and its credit weeks later (a median of
    three weeks), sometimes less a cancellation fee or converted at another rate."""
    rng, tz = builder.rng, builder.profile.home_tz
    names = builder.kind_names(budget_type)
    builder.add_item(
        budget_type,
        vendor,
        total,
        builder.local_day(trip.booked, tz),
        budget_id,
        expense_names=names,
        tag="cancelled_charge",
    )
    credit = total
    if rng.random() < 0.25:  # less a cancellation fee
        credit -= min(rng.uniform(25, 150) if rng.random() < 0.6 else total * 0.2, 0.5 * total)
    if trip.foreign:  # the credit converted at the day's rate
        credit *= rng.uniform(0.96, 1.04)
    credit_at = trip.booked + timedelta(days=min(max(lognormal(rng, 21.0, 0.6), 2.0), 90.0))
    builder.add_item(
        budget_type,
        vendor,
        -credit,
        builder.local_day(credit_at, tz),
        budget_id,
        expense_names=names,
        tag="cancel_credit",
    )


def add_fx_fee(builder: TripBuilder, total: float, day: date) -> None:
    """A bank's foreign-transaction-fee line (1-3 % of the charge): not the booking's."""
    rng = builder.rng
    builder.add_item(
        "bank_fee",
        rng.choice(vocab.FX_FEE_VENDORS),
        abs(total) * rng.uniform(0.01, 0.03),
        day,
        expense_names=rng.choice(vocab.FX_FEE_KINDS),
        tag="fx_fee",
        knobs=("fx_fee",),
    )


def add_trip_spending(builder: TripBuilder, trip: Trip, types: list[str]) -> None:
    """Meals, taxis, parking, fuel, tolls, airline fees and wifi during the trip."""
    rng, scale = builder.rng, builder.knobs.distractors
    days = max(trip.nights, 1) + 1
    first = (trip.start_utc + timedelta(hours=trip.dest_tz)).date()
    plan = [("meal", 1.2 * days, 25.0), ("taxi", 0.7 * days, 30.0)]
    if "flight" in types:
        plan += [("parking", 0.3, 15.0 * days), ("airline_fee", 0.25, 45.0)]
        plan += [("wifi", 0.1, 12.0)]
    if "car" in types:
        plan += [("fuel", 0.6, 45.0), ("toll", 0.2, 8.0)]
    for kind, mean, median in plan:
        for _ in range(poisson(rng, mean * scale)):
            day = first + timedelta(days=rng.randrange(days))
            if kind in ("airline_fee", "wifi"):
                day = first
            if kind == "airline_fee":
                stems = trip.airline_stems or rng.choice(vocab.TRAVEL_VENDORS["flight"])[1]
                stem = builder.brand_stem(stems)
            else:
                stem = rng.choice(vocab.DISTRACTOR_VENDORS[kind])
            vendor = vocab.card_spelling(rng, stem, builder.knobs.vendor)
            amount = builder.converted(lognormal(rng, median, 0.5), trip, abroad=True)
            builder.add_item(kind, vendor, amount, day, tag=f"trip_{kind}")


def reformat(rng: random.Random, record: Record) -> None:
    """Dates and positive amounts of `record` in another format the service reads."""
    day_format, stamp_format = rng.choice(_DAY_FORMATS), rng.choice(_STAMP_FORMATS)
    amount_style = rng.choice(("dollar", "code", "comma"))
    for key, value in record.items():
        if value is None:
            continue
        if key in _DAY_FIELDS:
            record[key] = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").strftime(day_format)
        elif key in _STAMP_FIELDS:
            record[key] = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").strftime(stamp_format)
        elif key in _AMOUNT_FIELDS and not value.startswith("-"):
            record[key] = _amount_text(float(value), amount_style)


def _amount_text(value: float, style: str) -> str:
    if style == "dollar":
        return f"${value:,.2f}"
    if style == "code":
        return f"USD {value:.2f}"
    return f"{value:.2f}".replace(".", ",") if value < 1000 else f"{value:,.2f}"
