"""The generator's settings: noise knobs (each documented) and what to generate."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


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
    # Card-feed knobs: what real corporate feeds do (all off with `--knob card_feed=0`).
    commuter: float = 0.15  # per user: a frequent traveller, 4-9 look-alike weekly commutes
    # (each booked in the tool 3-14 days ahead, its budget generated at booking)
    commute_unbooked: float = 0.2  # per commute week: booked outside the tool (charges, no budget)
    agency_merchant: float = 0.4  # per agency ticket: the card shows the agency, not the carrier
    fx_spread: float = 0.15  # a foreign charge converted at [1 - x, 1 + x] of the booked cost
    fx_fee: float = 0.5  # per foreign charge: a separate bank foreign-transaction-fee line
    resort_fee: float = 0.3  # per itemised folio: a mandatory resort-fee line (belongs)
    fare_change: float = 0.08  # per ticket: a fare change any time before departure (fee and
    # difference, one combined line, the fee alone, or the fee and a residual credit)
    cancel: float = 0.05  # per booking: cancelled, its charge and a credit ~3 weeks later
    # (a quarter of them less a cancellation fee; abroad at another rate)
    rebook: float = 0.5  # per cancellation: rebooked on other dates at a similar price
    late_posting: float = 0.1  # per charge: posted 4-12 days after the purchase or the stay
    mistype: float = 0.08  # per charge: typed wrongly (a flight as Meals, a hotel as Travel Misc)
    sparse: float = 0.25  # per optional field (categories, purchase vendor): empty
    no_actual: float = 0.15  # per budget: no actual cost (on top of 12 % paid centrally)
    upgrade: float = 0.05  # per booking: charged 20-40 % above the price
    formats: float = 0.1  # per record: dates and amounts in another format the service reads
    # Card-feed knobs of the labelling policy's decided cases and real feeds' behaviours.
    folio_nightly: float = 0.25  # per stay paid at checkout: itemised per night (room + tax)
    city_tax: float = 0.3  # per nightly folio: an occupancy or city tax line a night (belongs)
    folio_delay: float = 0.2  # per stay paid at checkout: the folio posted 1-6 or 7-24 days later
    preauth: float = 0.1  # per stay paid at checkout: a hold at check-in and its release
    folio_total: float = 0.25  # per stay paid in one total: incidentals inside it (belongs)
    no_show: float = 0.03  # per hotel booking: a no-show or late-cancellation night only
    split_stay: float = 0.08  # per stay of 3+ nights: booked as two back-to-back reservations
    booking_fee: float = 0.15  # per ticket: a booking fee, half inside the charge, half apart
    cabin_upgrade: float = 0.04  # per flight: an upgrade bought later or at the gate (belongs)
    seat_fee: float = 0.15  # per flight: seat selection or priority boarding (does not belong)
    bag_fee: float = 0.25  # per flight: checked-bag fees on the travel days (does not belong)
    rail_seat: float = 0.3  # per rail ticket: a seat reservation bought apart (does not belong)
    colleague: float = 0.08  # per ticket: a colleague's ticket, mostly the same fare and day
    credit_rebook: float = 0.04  # per flight: non-refundable, rebooked with the airline's credit
    car_extra: float = 0.2  # per rental: a toll-programme or fuel-service line weeks later
    car_adjust: float = 0.08  # per rental: the company's later adjustment of the rental charge
    commute_shift: float = 0.2  # per commute charge: posted 5-9 days late, in next week's dates
    commute_fare: float = 0.5  # per commute: one negotiated fare and room rate every week
    lookalike: float = 0.2  # per trip after the first: the same chain/airline, within weeks
    # The population: a share of users whose feed is clean (a training mix's knob).
    clean_feed: float = 0.0  # per user: every card-feed knob off (drawn apart, never scaled)

    def scaled(self, factor: float) -> NoiseKnobs:
        """Every knob multiplied by `factor` (probabilities capped at 0.9)."""
        values: dict[str, float] = {}
        for field in fields(self):
            if field.name in UNSCALED_KNOBS:
                values[field.name] = getattr(self, field.name)
                continue
            value = getattr(self, field.name) * factor
            is_probability = field.name not in ("vendor", "date_delay", "distractors", "amount")
            values[field.name] = min(value, 0.9) if is_probability else value
        return NoiseKnobs(**values)

    def without_card_feed(self) -> NoiseKnobs:
        """These knobs with every card-feed knob off (a clean feed's user)."""
        return replace(self, **{name: 0.0 for name in CARD_FEED_KNOBS})


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


# The knobs of the labelling policy's decided cases and of the feed behaviours added with them.
CASE_KNOBS = (
    "folio_nightly",
    "city_tax",
    "folio_delay",
    "preauth",
    "folio_total",
    "no_show",
    "split_stay",
    "booking_fee",
    "cabin_upgrade",
    "seat_fee",
    "bag_fee",
    "rail_seat",
    "colleague",
    "credit_rebook",
    "car_extra",
    "car_adjust",
    "commute_shift",
    "commute_fare",
    "lookalike",
)
CARD_FEED_KNOBS = (
    "commuter",
    "commute_unbooked",
    "agency_merchant",
    "fx_spread",
    "fx_fee",
    "resort_fee",
    "fare_change",
    "cancel",
    "rebook",
    "late_posting",
    "mistype",
    "sparse",
    "no_actual",
    "upgrade",
    "formats",
    *CASE_KNOBS,
)
UNSCALED_KNOBS = frozenset({"clean_feed"})  # a share of the population, not of noise
CARD_FEED = "card_feed"  # the override that scales every card-feed knob at once


def knobs_from_options(noise: float, overrides: tuple[str, ...]) -> NoiseKnobs:
    """Default knobs scaled by `noise`, then `name=value` overrides (`card_feed=F` scales every
    card-feed knob by F: 0 turns them all off)."""
    knobs = NoiseKnobs().scaled(noise)
    known = {f.name for f in fields(NoiseKnobs)}
    for override in overrides:
        name, _, value = override.partition("=")
        if name == CARD_FEED:
            factor = float(value)
            knobs = replace(
                knobs, **{k: min(getattr(knobs, k) * factor, 0.9) for k in CARD_FEED_KNOBS}
            )
            continue
        if name not in known:
            raise ValueError(f"unknown knob {name!r}; known: {sorted(known | {CARD_FEED})}")
        knobs = replace(knobs, **{name: float(value)})
    return knobs
