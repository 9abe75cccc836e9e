"""A hotel stay's card-feed lines: folios (itemised once or per night, posted late), one total
with incidentals, the pre-authorisation hold and its release, a no-show night, and an extended
stay booked as two reservations.

Labels follow the labelling policy (bem/synth/policy.py): room nights, room, occupancy and city
taxes, resort fees, a total that includes incidentals, the hold and its release and a no-show
night belong to the stay; itemised incidental lines do not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

from bem.synth import names, vocab
from bem.synth.charges import TripBuilder
from bem.synth.draws import Booking, Trip, lognormal, poisson

_HOLD_DEPOSITS = (50.0, 75.0, 100.0, 150.0, 200.0, 250.0, 300.0)


def posting_delay(builder: TripBuilder) -> int:
    """Days after checkout a folio is posted (`folio_delay`): half the time 1-6 (into a commuter's
    next week), else 7-24; 0 without the knob."""
    if not builder.chance(builder.knobs.folio_delay):
        return 0
    rng = builder.rng
    return rng.randint(1, 6) if rng.random() < 0.5 else rng.randint(7, 24)


def add_folio(
    builder: TripBuilder,
    budget_id: str,
    vendor: str,
    kind_names: tuple[str, str],
    total: float,
    tax: float,
    trip: Trip,
    nightly: bool = False,
) -> None:
    """A hotel folio itemised: room rate (one line a night) and tax (one line, or one a night
    when `nightly`, with city-tax lines maybe) and resort fee, the stay's; and incidentals from
    the same vendor (not the stay's: they have expense types of their own). A folio posted
    late (`folio_delay`) carries its posting date on every line."""
    rng, knobs = builder.rng, builder.knobs
    delay = posting_delay(builder)
    nights = max(trip.nights, 1)
    room = total / (1 + tax)
    check_in = trip.start_utc + timedelta(hours=trip.dest_tz)
    posted = (check_in + timedelta(days=nights + delay)).date() if delay else None
    room_names = rng.choice(vocab.HOTEL_ROOM_ITEMS)
    folio: tuple[str, ...] = ("folio_nightly",) if nightly else ("itemize",)
    folio += ("folio_delay",) if delay else ()

    def line(amount: float, day: date, item: tuple[str, str], tag: str, *more: str) -> None:
        builder.add_item(
            "hotel",
            vendor,
            amount,
            posted or day,
            budget_id,
            item,
            kind_names,
            tag,
            folio + more,
        )

    tax_day = (check_in + timedelta(days=nights)).date()
    if nightly:
        _nightly_lines(builder, line, room, total - room, check_in, nights, room_names)
    else:
        for night in range(nights):
            day = (check_in + timedelta(days=night)).date()
            line(room / nights, day, room_names, "folio_room")
        line(total - room, tax_day, rng.choice(vocab.HOTEL_TAX_ITEMS), "folio_tax")
    if rng.random() < knobs.resort_fee:
        fee = rng.uniform(15, 45) * nights
        line(fee, tax_day, rng.choice(vocab.RESORT_FEE_ITEMS), "resort_fee", "resort_fee")
    for _ in range(poisson(rng, 1.0 * knobs.distractors)):
        day = (check_in + timedelta(days=rng.randrange(nights + 1))).date()
        kind = rng.choice(vocab.HOTEL_INCIDENTALS)
        amount = lognormal(rng, 25.0, 0.6)
        builder.add_item(
            "hotel", vendor, amount, posted or day, None, kind, kind, "folio_incidental", folio
        )


def _nightly_lines(
    builder: TripBuilder,
    line: Callable[..., None],
    room: float,
    room_tax: float,
    check_in: datetime,
    nights: int,
    room_names: tuple[str, str],
) -> None:
    """A room line and a tax line dated on each night (weekend rates differ); some cities add
    an occupancy or city tax line a night (`city_tax`)."""
    rng = builder.rng
    weights = [rng.uniform(0.8, 1.2) if rng.random() < 0.4 else 1.0 for _ in range(nights)]
    tax_names = rng.choice(vocab.HOTEL_TAX_ITEMS)
    city = rng.choice(names.CITY_TAX_ITEMS) if builder.chance(builder.knobs.city_tax) else None
    city_rate = rng.uniform(1.5, 8.0) if rng.random() < 0.6 else 0.0
    city_share = rng.uniform(0.01, 0.06)
    for night, weight in enumerate(weights):
        day = (check_in + timedelta(days=night)).date()
        share = weight / sum(weights)
        line(room * share, day, room_names, "folio_room")
        line(room_tax * share, day, tax_names, "folio_tax")
        if city is not None:
            amount = city_rate or room * share * city_share
            line(amount, day, city, "city_tax", "city_tax")


def one_total(
    builder: TripBuilder, total: float, extra: float, tag: str
) -> tuple[float, str, tuple[str, ...], int]:
    """A stay paid as one checkout charge: with incidentals in it maybe (`folio_total`), posted
    late maybe (`folio_delay`). Returns the extra amount, tag, knobs and the posting delay."""
    rng, shaped = builder.rng, tuple[str, ...]()
    if builder.chance(builder.knobs.folio_total):
        incidentals = sum(lognormal(rng, 25.0, 0.6) for _ in range(1 + poisson(rng, 2.0)))
        extra, tag, shaped = extra + min(incidentals, 0.6 * total), "folio_total", ("folio_total",)
    delay = posting_delay(builder)
    return extra, tag, shaped + (("folio_delay",) if delay else ()), delay


def add_preauth(
    builder: TripBuilder, booking: Booking, vendor: str, total: float, trip: Trip
) -> None:
    """A pre-authorisation hold at check-in and its release after checkout (both the stay's)."""
    rng = builder.rng
    nights = max(trip.nights, 1)
    if rng.random() < 0.5:
        hold = total / nights * rng.uniform(1.0, 1.5)
    else:
        hold = rng.choice(_HOLD_DEPOSITS) * (nights if rng.random() < 0.3 else 1)
    hold = builder.converted(hold, trip, abroad=True)
    release = -hold * (rng.uniform(0.97, 1.03) if trip.foreign else 1.0)
    check_in = (trip.start_utc + timedelta(hours=trip.dest_tz)).date()
    check_out = (trip.end_utc + timedelta(hours=trip.dest_tz)).date()
    item_names = rng.choice(names.HOTEL_HOLD_ITEMS) if rng.random() < 0.6 else None
    kind_names = builder.kind_names("hotel")
    for amount, day, tag in (
        (hold, check_in, "preauth_hold"),
        (release, check_out + timedelta(days=rng.randint(1, 10)), "preauth_release"),
    ):
        spelled = vendor if rng.random() < 0.6 else builder.vendor_for("hotel", booking.stems, None)
        builder.add_item(
            "hotel",
            spelled,
            amount,
            day,
            booking.budget_id,
            item_names,
            kind_names,
            tag,
            ("preauth",),
        )


def add_no_show(builder: TripBuilder, booking: Booking, trip: Trip) -> None:
    """A no-show or late-cancellation night: one night and its tax, the booking's only charge."""
    rng = builder.rng
    night = booking.cost / max(trip.nights, 1) * (1 + booking.tax)
    amount = builder.converted(night, trip, abroad=True)
    check_in = trip.start_utc + timedelta(hours=trip.dest_tz)
    late_cancel = rng.random() < 0.4
    when = check_in - timedelta(days=rng.uniform(0, 2)) if late_cancel else check_in
    day = (when + timedelta(days=rng.randint(0, 2))).date()
    item_names = rng.choice(names.NO_SHOW_ITEMS) if rng.random() < 0.6 else None
    builder.add_item(
        "hotel",
        builder.vendor_for("hotel", booking.stems, None),
        amount,
        day,
        booking.budget_id,
        item_names,
        rng.choice(names.NO_SHOW_KINDS) if rng.random() < 0.25 else builder.kind_names("hotel"),
        "no_show_night",
    )


def splits(builder: TripBuilder, trip: Trip, price: float | None) -> bool:
    """Whether this stay of 3+ nights is booked as two reservations (`split_stay`)."""
    return (
        price is None
        and trip.nights >= 3
        and builder.commute is None
        and "split_stay" not in builder.scope
        and builder.chance(builder.knobs.split_stay)
    )


def build_split_stay(builder: TripBuilder, trip: Trip) -> None:
    """An extended stay as two reservations at the same hotel, back to back, the second booked
    later: two budgets, each paid by its own folio."""
    rng = builder.rng
    first = rng.randint(1, trip.nights - 1)
    second = trip.nights - first
    start_second = trip.start_utc + timedelta(days=first)
    booked_second = trip.booked + (start_second - trip.booked) * rng.uniform(0.2, 0.95)
    parts = (
        replace(trip, end_utc=trip.end_utc - timedelta(days=second), nights=first),
        replace(trip, start_utc=start_second, booked=booked_second, nights=second),
    )
    outer_scope, outer_vendor = set(builder.scope), dict(builder.same_vendor)
    builder.scope.add("split_stay")
    builder.build_budget("hotel", parts[0])
    builder.same_vendor["hotel"] = builder.last_vendor["hotel"]
    builder.build_budget("hotel", parts[1])
    builder.scope, builder.same_vendor = outer_scope, outer_vendor
