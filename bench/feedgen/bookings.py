"""A trip's bookings and what the card and the expense tool show for each.

Labels follow docs/contract.md: the ticket (or its legs), fare changes (fee, difference, one
combined line, a residual credit), a cabin upgrade, a cancelled booking's charge and its credit,
a folio's room, tax, occupancy/city-tax and resort-fee lines (or its one total), a prepaid stay's
charge, the rental charge and its later adjustment, an agency's charge for the booking belong to
the booking's budget; bag and seat fees, in-flight wifi, an agency's separate fee, a bank's FX
fee, folio incidentals, tolls and fuel services, rail seat reservations, a colleague's ticket or
room and anything of a trip booked outside the tool belong to none."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from feedgen import vocab
from feedgen.records import Budget, Feed, at
from feedgen.vocab import Agency, Carrier, City, HotelBrand, RentalCompany


@dataclass
class Trip:
    origin: City
    dest: City
    depart: date
    nights: int
    in_tool: bool = True
    modifiers: set[str] = field(default_factory=set)

    @property
    def back(self) -> date:
        return self.depart + timedelta(days=self.nights)

    def marked(self, modifier: str, days_earlier: int = 0) -> Trip:
        """The same trip with one more modifier (and perhaps planned earlier)."""
        return Trip(
            self.origin,
            self.dest,
            self.depart - timedelta(days=days_earlier),
            self.nights,
            self.in_tool,
            self.modifiers | {modifier},
        )


def booked_on(feed: Feed, trip: Trip, lead_days: int) -> tuple[date, float]:
    """The day and local hour a booking was made, `lead_days` before departure."""
    return trip.depart - timedelta(days=lead_days), feed.rng.uniform(7.5, 20.0)


def _posted(feed: Feed, day: date, low: float = 0, high: float = 2) -> date:
    return day + timedelta(days=feed.noise.days(feed.rng, low, high))


def _fx_fee(feed: Feed, amount: float, day: date, budget: Budget) -> None:
    """The bank's foreign-transaction fee on a charge made in another currency."""
    if feed.fx_fee_card and amount > 0:
        name = feed.rng.choice(("FOREIGN TRANSACTION FEE", "INTL TRANSACTION FEE", "FX FEE"))
        feed.line(amount * 0.03, day, name, "fee", "fx_fee", None, relates_to=budget)


# --- flights -----------------------------------------------------------------------------


def flight(
    feed: Feed,
    trip: Trip,
    carrier: Carrier,
    agency: Agency | None,
    lead_days: int,
    fare: float,
    behaviour: str = "ticket",
    legs: str = "round",
) -> Budget:
    """A flight booking: round trip, or one way (`legs` "out" or "back")."""
    rng = feed.rng
    day, hour = booked_on(feed, trip, lead_days)
    created = at(day, hour, trip.origin.utc_offset) + timedelta(seconds=rng.randrange(3600))
    out_hour = rng.choice((6.5, 7.25, 8.0, 10.5, 13.0, 16.75, 18.5))
    back_hour = rng.choice((12.0, 15.5, 17.25, 19.0, 20.5))
    start = at(trip.depart, out_hour, trip.origin.utc_offset)
    end = at(trip.back, back_hour + rng.uniform(1.5, 5.0), trip.origin.utc_offset)
    if legs == "out":
        end = start + timedelta(hours=rng.uniform(1.5, 6.0))
    elif legs == "back":
        start = at(trip.back, back_hour, trip.dest.utc_offset)
        end = start + timedelta(hours=rng.uniform(1.5, 6.0))
    purchase = agency.name if agency else carrier.name
    budgeted = fare * rng.uniform(0.9, 1.12)
    mods = set(trip.modifiers) | ({"oneway"} if legs != "round" else set())
    return feed.budget(
        "flight",
        carrier.name,
        purchase,
        start,
        end,
        created,
        budgeted,
        fare,
        behaviour,
        mods,
        in_tool=trip.in_tool,
    )


@dataclass(frozen=True)
class Charged:
    """A ticket's card line as posted: descriptor, day and amount (the whole ticket)."""

    descriptor: str
    day: date
    amount: float


def _airline_line(feed: Feed, carrier: Carrier, agency: Agency | None) -> str:
    if agency is not None and agency.merchant_of_record:
        return vocab.agency_descriptor(feed.rng, agency, carrier)
    return vocab.ticket_descriptor(feed.rng, carrier)


def pay_ticket(
    feed: Feed,
    budget: Budget,
    carrier: Carrier,
    agency: Agency | None,
    fare: float,
    behaviour: str = "ticket",
    fare_currency: str | None = None,
) -> Charged:
    """The ticket's charge (or one charge per leg) at booking, the agency's separate fee."""
    rng, noise = feed.rng, feed.noise
    day = _posted(feed, budget.created.date(), 0, 1.5)
    amount = fare
    foreign = fare_currency is not None and fare_currency != feed.currency
    if foreign:
        amount = fare * noise.jitter(rng, 0.012)  # booked at one rate, posted at another
    mods = {"foreign"} if foreign else set()
    if noise.chance(rng, 0.08):
        amount *= noise.jitter(rng, 0.03)
        mods.add("repriced")
    descriptor = _airline_line(feed, carrier, agency)
    if rng.random() < 0.12:
        share = rng.uniform(0.38, 0.62)
        for part in (share, 1 - share):
            feed.line(
                amount * part, day, descriptor, "air", f"{behaviour}_leg", budget, modifiers=mods
            )
    else:
        feed.line(amount, day, descriptor, "air", behaviour, budget, modifiers=mods)
    if foreign:
        _fx_fee(feed, amount, day, budget)
    if agency is not None and (not agency.merchant_of_record or rng.random() < 0.3):
        fee = rng.choice((10.0, 15.0, 19.0, 25.0, 29.0, 35.0))
        feed.line(
            fee,
            day,
            rng.choice(agency.fee_stems),
            "agency_fee",
            "agency_fee",
            None,
            relates_to=budget,
        )
    return Charged(descriptor, day, amount)


def flight_extras(
    feed: Feed,
    budget: Budget,
    trip: Trip,
    carrier: Carrier,
    agency: Agency | None,
    ticket: Charged,
) -> None:
    """Bag and seat fees, wifi, an upgrade at the gate, a fare change, colleagues' tickets
    (often the same fare on the same day: an identical twin of the traveller's)."""
    rng = feed.rng
    booked = budget.created.date()
    if carrier.bag_fee and rng.random() < 0.3:
        for day in (trip.depart, trip.back)[: rng.choice((1, 2))]:
            feed.line(
                carrier.bag_fee,
                day,
                vocab.ticket_descriptor(rng, carrier),
                "air_fee",
                "bag_fee",
                None,
                relates_to=budget,
            )
    if rng.random() < 0.15:
        seat = rng.choice((19.0, 29.0, 39.0, 47.0, 59.0, 79.0, 89.0))
        day = booked if rng.random() < 0.5 else trip.depart - timedelta(days=1)
        role = rng.choice(("air_fee", "air", "other"))
        feed.line(
            seat,
            day,
            vocab.ticket_descriptor(rng, carrier),
            role,
            "seat_fee",
            None,
            relates_to=budget,
        )
    if rng.random() < 0.12:
        wifi = rng.choice(
            ("GOGO AIR", "VIASAT IN-FLIGHT WIFI", f"{carrier.stems[0]} WIFI", "PANASONIC AVIONICS")
        )
        feed.line(
            rng.choice((8.0, 10.0, 19.0, 29.0)),
            trip.depart,
            vocab.clip(wifi),
            "internet",
            "inflight_wifi",
            None,
            relates_to=budget,
        )
    if rng.random() < 0.04:
        feed.line(
            rng.choice((99.0, 149.0, 199.0, 249.0, 349.0, 449.0)),
            trip.depart,
            vocab.ticket_descriptor(rng, carrier),
            rng.choice(("air", "air_fee")),
            "cabin_upgrade",
            budget,
        )
    if rng.random() < 0.12 and (trip.depart - booked).days >= 2:
        fare_change(feed, budget, trip, carrier, agency)
    n_colleagues = 0
    if rng.random() < 0.10:
        n_colleagues = rng.choice((1, 1, 1, 2))
    for _ in range(n_colleagues):
        twin = rng.random() < 0.65
        amount = ticket.amount if twin else ticket.amount * rng.uniform(0.7, 1.3)
        day = (
            ticket.day if twin or rng.random() < 0.6 else booked + timedelta(days=rng.randint(1, 9))
        )
        same = (
            ticket.descriptor
            if not any(ch.isdigit() for ch in ticket.descriptor)
            else _airline_line(feed, carrier, agency)
        )
        feed.line(
            amount,
            day,
            same,
            "air",
            "colleague_ticket",
            None,
            relates_to=budget,
            modifiers={"twin"} if twin else set(),
        )


def fare_change(
    feed: Feed, budget: Budget, trip: Trip, carrier: Carrier, agency: Agency | None
) -> None:
    """A change any time between booking and departure: fee and difference, one combined line,
    or a residual credit when the new fare is lower."""
    rng = feed.rng
    span = (trip.depart - budget.created.date()).days
    day = budget.created.date() + timedelta(days=rng.randint(1, max(1, span - 1)))
    day = _posted(feed, day, 0, 1.5)
    descriptor = _airline_line(feed, carrier, agency)
    fee = rng.choice((75.0, 99.0, 150.0, 200.0, 0.0))
    difference = round(rng.uniform(18, 320), 2)
    roll = rng.random()
    if roll < 0.4:
        if fee:
            feed.line(
                fee, day, descriptor, rng.choice(("change", "air_fee", "air")), "change_fee", budget
            )
        feed.line(difference, day, descriptor, "air", "fare_difference", budget)
    elif roll < 0.8:
        feed.line(
            fee + difference,
            day,
            descriptor,
            rng.choice(("change", "air", "air_fee")),
            "change_combined",
            budget,
        )
    else:
        credit_day = _posted(feed, day, 2, 10)
        feed.line(
            -round(rng.uniform(15, 180), 2),
            credit_day,
            descriptor,
            "air",
            "residual_credit",
            budget,
        )
    if budget.actual is not None and rng.random() < 0.3:
        budget.actual = round(budget.actual + fee + difference, 2)


def credit_delay_days(feed: Feed) -> int:
    """Days from a cancellation to its credit: log-normal, median 21, scaled by the noise."""
    return max(2, round(math.exp(feed.rng.gauss(math.log(21), 0.45)) * feed.noise.scale))


def cancelled_flight(
    feed: Feed, trip: Trip, carrier: Carrier, agency: Agency | None, fare: float, lead_days: int
) -> None:
    """A ticket bought, cancelled, credited weeks later (in full, less a fee, or re-converted)
    and usually rebooked; or cancelled into the airline's credit and rebooked for the residual."""
    rng, noise = feed.rng, feed.noise
    shift = rng.choice((0, 0, 3, 7, 14))
    original = trip.marked("cancelled", days_earlier=shift)
    old = flight(feed, original, carrier, agency, lead_days, fare, behaviour="cancelled")
    foreign_currency = trip.dest.currency if rng.random() < 0.15 else None
    pay_ticket(feed, old, carrier, agency, fare, "cancelled_ticket", foreign_currency)
    span = max(1, (original.depart - old.created.date()).days - 1)
    cancel_day = old.created.date() + timedelta(days=rng.randint(1, span))
    new_fare = round(fare * rng.uniform(0.85, 1.25), 2)
    rebook_lead = max(1, (trip.depart - cancel_day).days - rng.randint(0, 3))

    def rebook(behaviour: str) -> Budget:
        return flight(
            feed, trip.marked("rebooked"), carrier, agency, rebook_lead, new_fare, behaviour
        )

    if rng.random() < 0.3:
        new = rebook("credit_rebook")
        residual = new_fare - fare
        if residual > 5:
            day = _posted(feed, new.created.date(), 0, 1.5)
            feed.line(
                residual, day, _airline_line(feed, carrier, agency), "air", "credit_residual", new
            )
        return
    credit_day = cancel_day + timedelta(days=credit_delay_days(feed))
    roll = rng.random()
    if foreign_currency:
        amount = -fare * noise.jitter(rng, 0.02)  # credited at the rate of its day
        behaviour = "cancel_credit_fx"
    elif roll < 0.3:
        amount = -(fare - rng.choice((50.0, 75.0, 100.0, 150.0, 200.0)))
        behaviour = "cancel_credit_less_fee"
    elif roll < 0.4:
        amount = -fare * noise.jitter(rng, 0.012)
        behaviour = "cancel_credit_fx"
    else:
        amount, behaviour = -fare, "cancel_credit"
    feed.line(
        min(amount, -1.0), credit_day, _airline_line(feed, carrier, agency), "air", behaviour, old
    )
    if rng.random() < 0.7:
        new = rebook("rebooked")
        pay_ticket(feed, new, carrier, agency, new_fare, "rebook_ticket")


# --- hotels ------------------------------------------------------------------------------


@dataclass
class Stay:
    budget: Budget
    brand: HotelBrand
    rate_local: float
    prepaid: bool


def hotel(
    feed: Feed,
    trip: Trip,
    brand: HotelBrand,
    lead_days: int,
    rate_local: float,
    prepaid: bool = False,
    area: str | None = None,
    behaviour: str = "stay",
) -> Stay:
    rng = feed.rng
    dest = trip.dest
    day, hour = booked_on(feed, trip, lead_days)
    created = at(day, hour, trip.origin.utc_offset) + timedelta(seconds=rng.randrange(3600))
    vendor = f"{brand.name} {dest.name} {area or rng.choice(vocab.AREAS)}"
    if prepaid:
        purchase = rng.choice(vocab.HOTEL_AGENCIES)[0]
    else:
        purchase = rng.choice((brand.name, brand.parent, f"{brand.parent} International"))
    fixed = sum(amount for _, amount in dest.per_night_taxes)
    room = rate_local * trip.nights
    with_taxes = trip.nights * (rate_local * (1 + dest.hotel_tax) + fixed)
    budgeted = feed.to_card(with_taxes * rng.uniform(0.93, 1.12), dest.currency)
    actual = feed.to_card(room if rng.random() < 0.45 else with_taxes, dest.currency)
    start = at(trip.depart, 15.0, dest.utc_offset)
    end = at(trip.back, 11.0, dest.utc_offset)
    mods = set(trip.modifiers) | ({"prepaid"} if prepaid else set())
    budget = feed.budget(
        "hotel",
        vendor,
        purchase,
        start,
        end,
        created,
        budgeted,
        actual,
        behaviour,
        mods,
        in_tool=trip.in_tool,
    )
    return Stay(budget, brand, rate_local, prepaid)


def pay_folio(
    feed: Feed,
    stay: Stay,
    trip: Trip,
    colleague_share: float = 0.04,
    late_share: float = 0.25,
    late_days: tuple[float, float] = (7, 24),
) -> None:
    """The folio posted at checkout or, often, a week or more later: itemised per night (room,
    tax, the city's per-night taxes and fees, incidentals on their own types) or one total."""
    rng, noise = feed.rng, feed.noise
    dest, budget = trip.dest, stay.budget
    foreign = dest.currency != feed.currency
    if stay.prepaid:
        _prepaid_stay(feed, stay, trip)
        return
    posted = _posted(feed, trip.back, 0, 2)
    mods: set[str] = set()
    if noise.chance(rng, late_share):
        posted = trip.back + timedelta(days=noise.days(rng, *late_days))
        mods.add("late_folio")
    descriptor = vocab.hotel_descriptor(rng, stay.brand, dest.name)
    folio = feed.expense(descriptor, "hotel")
    rate_of_day = feed.to_card(1.0, dest.currency, 0.015)

    def card(amount_local: float) -> float:
        return amount_local * rate_of_day

    nights = []
    for k in range(trip.nights):
        rate = stay.rate_local * (rng.uniform(0.85, 1.15) if rng.random() < 0.2 else 1.0)
        nights.append((trip.depart + timedelta(days=k), rate))
    incidentals = []
    if rng.random() < 0.55:
        for _ in range(rng.randint(1, 4)):
            role, name, (low, high) = rng.choice(vocab.INCIDENTALS)
            night = rng.choice(nights)[0]
            incidentals.append((role, name, round(rng.uniform(low, high), 2), night))
    total_local = 0.0
    if rng.random() < 0.55:
        nightly_dates = rng.random() < 0.6
        mods.add("itemised")
        for night, rate in nights:
            day = night if nightly_dates else posted
            feed.line(
                card(rate),
                day,
                descriptor,
                "hotel",
                "folio_room",
                budget,
                modifiers=mods,
                item_role="room",
                expense=folio,
            )
            if dest.hotel_tax:
                feed.line(
                    card(rate * dest.hotel_tax),
                    day,
                    descriptor,
                    "hotel",
                    "folio_tax",
                    budget,
                    modifiers=mods,
                    item_role="room_tax",
                    expense=folio,
                )
            for name, amount in dest.per_night_taxes:
                resort = name.startswith(("Resort", "Destination"))
                feed.line(
                    card(amount),
                    day,
                    descriptor,
                    "hotel",
                    "folio_resort_fee" if resort else "folio_city_tax",
                    budget,
                    modifiers=mods,
                    item_role="resort" if resort else "city_tax",
                    item_type=name if rng.random() < 0.6 else None,
                    expense=folio,
                )
            total_local += rate * (1 + dest.hotel_tax) + sum(a for _, a in dest.per_night_taxes)
        for role, name, amount, night in incidentals:
            day = night if nightly_dates else posted
            feed.line(
                card(amount),
                day,
                descriptor,
                "hotel",
                "folio_incidental",
                None,
                relates_to=budget,
                item_role=role,
                item_type=name if rng.random() < 0.5 else None,
                expense=folio,
            )
            total_local += amount
    else:
        for _, rate in nights:
            total_local += rate * (1 + dest.hotel_tax) + sum(a for _, a in dest.per_night_taxes)
        with_incidentals = sum(amount for *_, amount, _ in incidentals)
        if with_incidentals:
            mods.add("with_incidentals")
        total_local += with_incidentals
        feed.line(
            card(total_local),
            posted,
            descriptor,
            "hotel",
            "folio_total",
            budget,
            modifiers=mods,
            expense=folio,
        )
    if foreign:
        _fx_fee(feed, card(total_local), posted, budget)
    if rng.random() < colleague_share:
        feed.line(
            card(total_local),
            posted,
            descriptor,
            "hotel",
            "colleague_room",
            None,
            relates_to=budget,
            modifiers={"twin"},
        )


def _prepaid_stay(feed: Feed, stay: Stay, trip: Trip) -> None:
    """Paid to an agency at booking; the hotel charges only the incidentals at checkout."""
    rng, dest = feed.rng, trip.dest
    agency_stems = dict(vocab.HOTEL_AGENCIES).get(
        stay.budget.purchase_vendor or "", ("EXPEDIA*HOTEL",)
    )
    fixed = sum(amount for _, amount in dest.per_night_taxes)
    total = trip.nights * (stay.rate_local * (1 + dest.hotel_tax) + fixed)
    day = _posted(feed, stay.budget.created.date(), 0, 1.5)
    amount = feed.to_card(total, dest.currency, 0.01)
    stem = rng.choice(agency_stems)
    descriptor = vocab.clip(f"{stem} {vocab.digits(rng, 10)}" if rng.random() < 0.5 else stem)
    feed.line(amount, day, descriptor, "hotel", "prepaid_stay", stay.budget)
    if rng.random() < 0.4:
        extras = round(rng.uniform(18, 140), 2)
        feed.line(
            feed.to_card(extras, dest.currency, 0.015),
            _posted(feed, trip.back, 0, 2),
            vocab.hotel_descriptor(rng, stay.brand, dest.name),
            rng.choice(("meal", "parking", "hotel")),
            "incidentals_charge",
            None,
            relates_to=stay.budget,
        )


# --- cars and trains ----------------------------------------------------------------------


def car(feed: Feed, trip: Trip, company: RentalCompany, lead_days: int) -> None:
    """A rental booked with the trip, charged at return with taxes and extras; a later toll
    programme, fuel service or gas station (not the budget's); sometimes a later adjustment."""
    rng, noise = feed.rng, feed.noise
    dest = trip.dest
    day, hour = booked_on(feed, trip, lead_days)
    created = at(day, hour, trip.origin.utc_offset) + timedelta(seconds=rng.randrange(3600))
    days = max(1, trip.nights)
    daily = rng.randint(*company.daily)
    actual = feed.to_card(daily * days, dest.currency)
    budget = feed.budget(
        "car",
        company.name,
        company.name,
        at(trip.depart, rng.uniform(9, 14), dest.utc_offset),
        at(trip.back, rng.uniform(10, 17), dest.utc_offset),
        created,
        actual * rng.uniform(1.0, 1.25),
        actual,
        "rental",
        set(trip.modifiers),
        in_tool=trip.in_tool,
    )
    returned = _posted(feed, trip.back, 0, 2)
    charge = daily * days * rng.uniform(1.12, 1.32)
    mods = set()
    if rng.random() < 0.3:
        charge += rng.uniform(25, 75)
        mods.add("fuel_included")
    amount = feed.to_card(charge, dest.currency, 0.015)
    feed.line(
        amount,
        returned,
        vocab.rental_descriptor(rng, company, dest.name),
        "car",
        "rental",
        budget,
        modifiers=mods,
    )
    if dest.currency != feed.currency:
        _fx_fee(feed, amount, returned, budget)
    if rng.random() < 0.2:
        toll = 5.95 * days + rng.uniform(2, 30)
        feed.line(
            feed.to_card(toll, dest.currency),
            trip.back + timedelta(days=noise.days(rng, 8, 40)),
            vocab.clip(rng.choice(company.toll_stems)),
            "toll",
            "toll_programme",
            None,
            relates_to=budget,
        )
    if rng.random() < 0.08:
        feed.line(
            feed.to_card(rng.uniform(35, 95), dest.currency),
            trip.back + timedelta(days=noise.days(rng, 3, 20)),
            vocab.clip(f"{company.stems[0]} FUEL SVC"),
            "fuel",
            "fuel_service",
            None,
            relates_to=budget,
        )
    if rng.random() < 0.35:
        feed.line(
            rng.uniform(28, 70),
            trip.back,
            vocab.merchant(rng, ("SHELL OIL", "CHEVRON", "EXXONMOBIL", "BP#")),
            "fuel",
            "gas_station",
            None,
            relates_to=budget,
        )
    if rng.random() < 0.05:
        adjustment = rng.uniform(15, 90) * rng.choice((1, 1, -1))
        feed.line(
            feed.to_card(adjustment, dest.currency),
            trip.back + timedelta(days=noise.days(rng, 7, 30)),
            vocab.rental_descriptor(rng, company, dest.name),
            "car",
            "rental_adjustment",
            budget,
        )


def rail(feed: Feed, trip: Trip, lead_days: int) -> None:
    """A rail ticket charged at booking; in Europe, sometimes a separate seat reservation."""
    rng = feed.rng
    region = "eu" if trip.dest.region == "eu" else "us"
    operator, stems = rng.choice(vocab.RAIL[region])
    currency = trip.dest.currency
    fare_local = round(rng.uniform(49, 289), 2)
    day, hour = booked_on(feed, trip, lead_days)
    created = at(day, hour, trip.origin.utc_offset) + timedelta(seconds=rng.randrange(3600))
    fare = feed.to_card(fare_local, currency)
    budget = feed.budget(
        "rail",
        operator,
        operator,
        at(trip.depart, rng.uniform(6, 18), trip.origin.utc_offset),
        at(trip.back, rng.uniform(15, 21), trip.dest.utc_offset),
        created,
        fare * rng.uniform(0.95, 1.15),
        fare,
        "rail_ticket",
        set(trip.modifiers),
        in_tool=trip.in_tool,
    )
    posted = _posted(feed, day, 0, 1.5)
    stem = rng.choice(stems)
    descriptor = vocab.clip(f"{stem} {vocab.digits(rng, 10)}" if rng.random() < 0.5 else stem)
    amount = feed.to_card(fare_local, currency, 0.012)
    feed.line(amount, posted, descriptor, "rail", "rail_ticket", budget)
    if currency != feed.currency:
        _fx_fee(feed, amount, posted, budget)
    if region == "eu" and rng.random() < 0.3:
        feed.line(
            feed.to_card(rng.choice((4.9, 5.9, 9.9)), currency),
            posted,
            descriptor,
            "rail",
            "rail_seat",
            None,
            relates_to=budget,
        )
