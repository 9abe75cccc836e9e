"""Draws and formats for the synthetic generator: random helpers, seed formats, user profiles,
trips."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bem.synth import vocab
from bem.synth.knobs import NoiseKnobs

BUDGET_TYPES = ("flight", "hotel", "car", "rail")
Record = dict[str, str | None]  # one budget or line item in the seed's format


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; fine for the small means used here)."""
    limit, count, product = math.exp(-max(mean, 0.0)), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    """A log-normal draw around `median`."""
    return median * math.exp(rng.gauss(0.0, sigma))


def money(value: float) -> str:
    """An amount as the seed writes it ("24.0", "131.98")."""
    return str(round(value, 2))


def stamp(moment: datetime) -> str:
    """A timestamp in the seed's format."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def day_stamp(day: date) -> str:
    """A transaction date in the seed's format (local date, midnight)."""
    return f"{day.isoformat()} 00:00:00"


@dataclass
class UserProfile:
    """Who the user is: home time zone, company expense types, loyal vendors, active period."""

    home_tz: float
    company_kinds: dict[str, tuple[str, str]]
    loyal: dict[str, int]
    period_start: date
    trips: int
    midnight_trips: bool

    @staticmethod
    def draw(rng: random.Random, knobs: NoiseKnobs, first_year: int, last_year: int) -> UserProfile:
        """A random profile."""
        offsets = [tz for tz, _ in vocab.TIMEZONES]
        weights = [w for _, w in vocab.TIMEZONES]
        span = (date(last_year, 12, 31) - date(first_year, 1, 1)).days
        return UserProfile(
            home_tz=rng.choices(offsets, weights)[0],
            company_kinds={k: rng.choice(v) for k, v in vocab.EXPENSE_KINDS.items()},
            loyal={t: rng.randrange(len(vocab.TRAVEL_VENDORS[t])) for t in BUDGET_TYPES},
            period_start=date(first_year, 1, 1) + timedelta(days=rng.randrange(span)),
            trips=rng.choices([1, 2, 3, 4, 5, 6], [3, 3, 2, 2, 1, 1])[0],
            midnight_trips=rng.random() < 0.6,
        )


@dataclass
class Trip:
    """When and where a trip happens, as its budgets and charges need it."""

    start_utc: datetime
    end_utc: datetime
    booked: datetime
    nights: int
    dest_tz: float
    currency: tuple[str, float]
    foreign: bool
    airline_stems: list[str] | None = None


@dataclass
class Booking:
    """A budget as its charges need it: what was booked, through whom, at what cost."""

    budget_id: str
    budget_type: str
    stems: list[str]  # the brand's card-feed stems
    agency: str | None
    cost: float  # the booked cost before tax
    tax: float  # the tax rate on top of `cost`
    shaped: set[str]  # the knobs that shaped the budget (shared with its record's)
