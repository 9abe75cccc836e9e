"""Travellers over a few months: occasional travellers (some booking look-alike stays of one
chain and one airline in different cities, some trips outside the tool) and weekly commuters
(the same flight, hotel and prices every week, a few weeks booked outside the tool), with the
everyday spend of a corporate card around them."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from feedgen import bookings, vocab
from feedgen.bookings import Trip
from feedgen.records import Feed, Noise
from feedgen.vocab import Agency, Carrier, City, HotelBrand

COMMUTER_SHARE = 0.2
LOOKALIKE_SHARE = 0.35
OFF_TOOL_TRIP = 0.08
OFF_TOOL_WEEK = 0.15
FIRST_DAY = date(2025, 1, 6)


def traveller(seed: int, index: int, noise: Noise) -> Feed:
    """User `index` of `seed`: the same user whatever the number of users asked for."""
    rng = random.Random(f"independent-feeds:{seed}:{index}")
    home = rng.choice(vocab.US_CITIES) if rng.random() < 0.8 else rng.choice(vocab.EU_CITIES)
    feed = Feed(
        user_id=f"emp-{index:05d}",
        rng=rng,
        noise=noise,
        types=rng.choice(vocab.TYPE_VOCABULARIES),
        currency=home.currency,
        fx_fee_card=rng.random() < 0.6,
        id_base=index,
    )
    start = FIRST_DAY + timedelta(days=rng.randint(0, 480))
    agency = rng.choice(vocab.AGENCIES) if rng.random() < 0.6 else None
    if rng.random() < COMMUTER_SHARE:
        end = _commuter(feed, home, start, agency)
    else:
        end = _occasional(feed, home, start, agency)
    _everyday(feed, start - timedelta(days=7), end + timedelta(days=21))
    return feed


def _lead_days(rng: random.Random) -> int:
    return min(60, max(1, round(math.exp(rng.gauss(math.log(14), 0.7)))))


def _carrier(rng: random.Random, origin: City, dest: City) -> Carrier:
    serving = [c for c in vocab.CARRIERS if origin.name in c.hubs or dest.name in c.hubs]
    region = origin.region if origin.region != "other" else dest.region
    return rng.choice(serving or [c for c in vocab.CARRIERS if c.region == region])


def _brand(rng: random.Random, city: City) -> HotelBrand:
    region = "eu" if city.region == "eu" else "us"
    return rng.choice([b for b in vocab.HOTEL_BRANDS if b.region in (region, "any")])


def _rate(rng: random.Random, city: City) -> float:
    low, high = city.nightly_rate
    rate = rng.uniform(low, high)
    return float(round(rate, -2 if city.currency in ("JPY", "MXN") else 0)) - (
        0.01 if rng.random() < 0.3 and city.currency not in ("JPY", "MXN") else 0.0
    )


def _fare(rng: random.Random, origin: City, dest: City) -> float:
    if origin.region != dest.region:
        low, high = 640.0, 2400.0
    elif origin.region == "eu":
        low, high = 110.0, 480.0
    else:
        low, high = 170.0, 690.0
    return round(rng.uniform(low, high), 2)


def _destination(rng: random.Random, home: City) -> City:
    if home.region == "us":
        pool = (
            vocab.US_CITIES
            if rng.random() < 0.85
            else vocab.EU_CITIES + [c for c in vocab.CITIES.values() if c.region == "other"]
        )
    else:
        pool = vocab.EU_CITIES if rng.random() < 0.65 else vocab.US_CITIES
    choices = [c for c in pool if c.name != home.name]
    return rng.choice(choices)


def _occasional(feed: Feed, home: City, start: date, agency: Agency | None) -> date:
    """2–7 trips; a look-alike user keeps one chain and one airline across cities; the returned
    day is the last trip's return."""
    rng = feed.rng
    lookalike = rng.random() < LOOKALIKE_SHARE
    central_air = rng.random() < 0.08
    brand = carrier = None
    if lookalike:
        brand = _brand(rng, home)
        carrier = rng.choice([c for c in vocab.CARRIERS if c.region == home.region])
    cursor = start + timedelta(days=rng.randint(2, 20))
    for _ in range(rng.choice((2, 3, 3, 4, 4, 5, 5, 6, 7))):
        dest = _destination(rng, home)
        nights = rng.choice((1, 2, 2, 3, 3, 4, 5)) + (2 if dest.region != home.region else 0)
        in_tool = rng.random() >= OFF_TOOL_TRIP
        mods = set()
        if dest.currency != home.currency:
            mods.add("foreign")
        if lookalike and dest.region == home.region:
            mods.add("lookalike")
        trip = Trip(home, dest, cursor, nights, in_tool, mods)
        trip_carrier = carrier if "lookalike" in mods and carrier else _carrier(rng, home, dest)
        trip_brand = brand if "lookalike" in mods and brand else _brand(rng, dest)
        _book_trip(feed, trip, trip_carrier, trip_brand, agency, central_air)
        cursor = trip.back + timedelta(days=rng.randint(3, 24))
    return cursor


def _book_trip(
    feed: Feed,
    trip: Trip,
    carrier: Carrier,
    brand: HotelBrand,
    agency: Agency | None,
    central_air: bool,
) -> None:
    rng = feed.rng
    lead = _lead_days(rng)
    by_rail = (
        frozenset({trip.origin.name, trip.dest.name}) in vocab.RAIL_PAIRS and rng.random() < 0.65
    )
    if by_rail:
        bookings.rail(feed, trip, lead)
    else:
        _air(feed, trip, carrier, agency, lead, _fare(rng, trip.origin, trip.dest), central_air)
    if rng.random() < 0.88:
        hotel_lead = max(1, lead + rng.choice((0, 0, 0, -1, -3, 2)))
        if rng.random() < 0.04:
            bookings.hotel(
                feed,
                trip.marked("cancelled"),
                _brand(rng, trip.dest),
                hotel_lead + rng.randint(1, 10),
                _rate(rng, trip.dest),
                behaviour="cancelled_stay",
            )
        stay = bookings.hotel(
            feed, trip, brand, hotel_lead, _rate(rng, trip.dest), prepaid=rng.random() < 0.1
        )
        bookings.pay_folio(feed, stay, trip)
    if trip.dest.region == "us" and not by_rail and rng.random() < 0.3:
        bookings.car(feed, trip, rng.choice(vocab.RENTALS[:5]), lead)
    _trip_spend(feed, trip)


def _air(
    feed: Feed,
    trip: Trip,
    carrier: Carrier,
    agency: Agency | None,
    lead: int,
    fare: float,
    central_air: bool,
) -> None:
    """A round trip (or two one-ways, or a cancellation and its rebooking), its charges and
    the fees around it; a centrally billed ticket has no card line."""
    rng = feed.rng
    if rng.random() < 0.08:
        bookings.cancelled_flight(feed, trip, carrier, agency, fare, lead + rng.randint(3, 20))
        return
    legs = ("out", "back") if rng.random() < 0.1 else ("round",)
    for leg in legs:
        leg_fare = fare if leg == "round" else round(fare * rng.uniform(0.42, 0.6), 2)
        behaviour = "central_billed" if central_air else "ticket"
        budget = bookings.flight(feed, trip, carrier, agency, lead, leg_fare, behaviour, leg)
        if central_air:
            continue
        ticket = bookings.pay_ticket(feed, budget, carrier, agency, leg_fare)
        bookings.flight_extras(feed, budget, trip, carrier, agency, ticket)


def _commuter(feed: Feed, home: City, start: date, agency: Agency | None) -> date:
    """8–16 weeks to one client city, Monday to Thursday, with the same airline, hotel and
    prices; a few weeks skipped or booked outside the tool."""
    rng = feed.rng
    client = rng.choice(
        [
            c
            for c in (vocab.US_CITIES if home.region == "us" else vocab.EU_CITIES)
            if c.name != home.name
        ]
    )
    carrier = _carrier(rng, home, client)
    brand = _brand(rng, client)
    area = rng.choice(vocab.AREAS)
    rate = _rate(rng, client)
    fare = _fare(rng, home, client)
    rental = (
        rng.choice(vocab.RENTALS[:5]) if client.region == "us" and rng.random() < 0.35 else None
    )
    monday = start + timedelta(days=(7 - start.weekday()) % 7)
    weeks = rng.randint(8, 16)
    for week in range(weeks):
        depart = monday + timedelta(weeks=week)
        if rng.random() < 0.08:
            continue
        in_tool = rng.random() >= OFF_TOOL_WEEK
        nights = rng.choice((3, 3, 3, 3, 2, 4))
        trip = Trip(home, client, depart, nights, in_tool, {"commuter"})
        lead = rng.randint(4, 21)
        week_fare = fare if rng.random() < 0.4 else round(fare * rng.uniform(0.9, 1.15), 2)
        if rng.random() < 0.05:
            bookings.cancelled_flight(feed, trip, carrier, agency, week_fare, lead + 7)
        else:
            budget = bookings.flight(feed, trip, carrier, agency, lead, week_fare)
            ticket = bookings.pay_ticket(feed, budget, carrier, agency, week_fare)
            bookings.flight_extras(feed, budget, trip, carrier, agency, ticket)
        week_rate = rate if rng.random() < 0.7 else round(rate * rng.uniform(0.95, 1.05), 2)
        stay = bookings.hotel(
            feed, trip, brand, max(1, lead - rng.randint(0, 2)), week_rate, area=area
        )
        bookings.pay_folio(
            feed, stay, trip, colleague_share=0.02, late_share=0.3, late_days=(3, 10)
        )
        if rental is not None:
            bookings.car(feed, trip, rental, lead)
        _trip_spend(feed, trip)
    return monday + timedelta(weeks=weeks)


def _trip_spend(feed: Feed, trip: Trip) -> None:
    """Airport meals, rides, dinners and airport parking on the trip's days: no budget's."""
    rng = feed.rng
    for day in (trip.depart, trip.back):
        if rng.random() < 0.5:
            _spend(feed, day, vocab.TRIP_MERCHANTS[0], "trip_meal")
    for k in range(trip.nights + 1):
        day = trip.depart + timedelta(days=k)
        if rng.random() < 0.45:
            _spend(feed, day, vocab.TRIP_MERCHANTS[1], "trip_ride")
        if k < trip.nights and rng.random() < 0.5:
            _spend(feed, day, vocab.TRIP_MERCHANTS[2], "trip_dinner")
    if trip.origin.region == "us" and rng.random() < 0.25:
        name = rng.choice(
            (f"{trip.origin.airport} PARKING", "SP+ AIRPORT PARKING", "THE PARKING SPOT")
        )
        feed.line(24.0 * (trip.nights + 1), trip.back, name, "parking", "airport_parking", None)


def _spend(feed: Feed, day: date, merchants: vocab.Merchants, behaviour: str) -> None:
    rng = feed.rng
    stems, role, (low, high) = merchants
    feed.line(rng.uniform(low, high), day, vocab.merchant(rng, stems), role, behaviour, None)


def _everyday(feed: Feed, first: date, last: date) -> None:
    """Meals, rides, software, supplies, phone, parking, fuel, shipping, conferences: a few a
    week, subscriptions monthly at the same amount."""
    rng = feed.rng
    monthly = [
        (vocab.merchant(rng, vocab.EVERYDAY[6][0]), round(rng.uniform(8, 96), 2))
        for _ in range(rng.randint(0, 3))
    ]
    day = first
    while day <= last:
        for _ in range(rng.randint(1, 6)):
            merchants = rng.choice(vocab.EVERYDAY)
            _spend(feed, day + timedelta(days=rng.randint(0, 6)), merchants, "everyday")
        if day.day <= 7:
            for name, amount in monthly:
                feed.line(
                    amount,
                    day.replace(day=min(28, rng.randint(1, 5) + day.day)),
                    name,
                    "software",
                    "subscription",
                    None,
                )
        day += timedelta(days=7)
