"""A ticket's card-feed lines: fare changes, a booking fee inside the charge or beside it, a
cabin upgrade, seat, bag and rail-seat fees, a colleague's ticket, and a non-refundable ticket
cancelled and rebooked with the airline's credit.

Labels follow the labelling policy (bem/synth/policy.py): a fare change (fee, difference,
combined line or residual credit), a booking fee inside the charge, a cabin upgrade and a
rebooking's residual belong to their budget; a separate booking-fee line, seat selection,
priority boarding, a checked bag, a rail seat reservation and a colleague's ticket do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bem.synth import charges, names, vocab
from bem.synth.charges import TripBuilder
from bem.synth.draws import Booking, Trip


@dataclass(frozen=True)
class BookingFee:
    """A booking fee: inside the ticket's own charge, or a separate line of the same merchant."""

    amount: float
    inside: bool


def booking_fee(builder: TripBuilder) -> BookingFee | None:
    """A booking fee for this ticket maybe (`booking_fee`), half the time inside the charge."""
    rng = builder.rng
    if not builder.chance(builder.knobs.booking_fee):
        return None
    return BookingFee(round(rng.uniform(5, 35), 2), rng.random() < 0.5)


def _some_time_before(builder: TripBuilder, trip: Trip) -> datetime:
    """A moment between booking and departure."""
    return trip.booked + (trip.start_utc - trip.booked) * builder.rng.uniform(0.02, 0.98)


def _change_kind(builder: TripBuilder, budget_type: str) -> tuple[str, str]:
    """How a traveller types a fare change: the company's ticket type or a fee's."""
    rng = builder.rng
    flight = budget_type == "flight"
    if rng.random() < (0.55 if flight else 0.3):
        return rng.choice(names.FARE_CHANGE_KINDS if flight else names.RAIL_CHANGE_KINDS)
    return builder.kind_names(budget_type)


def add_fare_change(
    builder: TripBuilder, booking: Booking, vendor: str, total: float, trip: Trip, tz: float
) -> None:
    """A fare change posted any time between booking and departure: a change fee and the fare
    difference (either sign), or one combined line, or the fee alone, or the fee and a
    residual credit later; all the booking's."""
    rng, budget_type = builder.rng, booking.budget_type
    day = builder.local_day(_some_time_before(builder, trip), tz)
    fee = 0.0 if rng.random() < 0.2 else rng.uniform(50, 250)
    difference = total * rng.uniform(0.05, 0.5) * (1 if rng.random() < 0.7 else -1)
    kind = _change_kind(builder, budget_type)
    fee_names = rng.choice(names.FARE_CHANGE_ITEMS)
    if rng.random() >= 0.6:
        vendor = builder.vendor_for(budget_type, booking.stems, booking.agency)
    form = rng.random()
    lines: list[tuple[float, tuple[str, str] | None, str, int]] = []
    if form < 0.45:
        lines = [(fee, fee_names, "change_fee", 0), (difference, None, "fare_diff", 0)]
    elif form < 0.75:
        lines = [(fee + difference, None, "change_combined", 0)]
    elif form < 0.9:
        lines = [(fee or rng.uniform(50, 250), fee_names, "change_fee", 0)]
    else:
        credit = -abs(difference)
        lines = [(fee, fee_names, "change_fee", 0), (credit, None, "fare_credit", 5)]
    for amount, item_names, tag, later in lines:
        if abs(amount) < 0.5:
            continue
        posted = day + timedelta(days=rng.randint(later, 3 * later))
        if item_names is None:
            item_names = names.FARE_CHANGE_ITEMS[0] if rng.random() < 0.2 else kind
        builder.add_item(
            budget_type,
            vendor,
            amount,
            posted,
            booking.budget_id,
            item_names,
            kind,
            tag,
            ("fare_change",),
        )


def add_credit_rebook(builder: TripBuilder, booking: Booking, trip: Trip, outer: set[str]) -> None:
    """A non-refundable ticket cancelled and rebooked with the airline's credit: the original
    charge stays with its (cancelled) budget; the new budget gets only the residual paid."""
    rng, tz = builder.rng, builder.profile.home_tz
    vendor = builder.vendor_for("flight", booking.stems, booking.agency)
    total = builder.converted(booking.cost, trip, abroad=trip.foreign)
    builder.add_item(
        "flight",
        vendor,
        total,
        builder.local_day(trip.booked, tz),
        booking.budget_id,
        expense_names=builder.kind_names("flight"),
        tag="credited_ticket",
    )
    later = charges.rebooked(rng, trip)
    saved_scope, saved_vendor = builder.scope, dict(builder.same_vendor)
    builder.scope = outer | {"credit_rebook"}
    builder.same_vendor["flight"] = builder.last_vendor["flight"]  # the credit's airline
    rebooked = builder.new_budget("flight", later, booking.cost * rng.uniform(0.95, 1.3))
    residual = rebooked.cost - booking.cost
    if rng.random() < 0.4:
        residual += rng.uniform(25, 150)  # a change fee paid with the residual
    if residual > 10:
        builder.add_item(
            "flight",
            builder.vendor_for("flight", rebooked.stems, rebooked.agency),
            builder.converted(residual, later, abroad=later.foreign),
            builder.local_day(later.booked, tz),
            rebooked.budget_id,
            expense_names=_change_kind(builder, "flight"),
            tag="credit_residual",
        )
    builder.scope, builder.same_vendor = saved_scope, saved_vendor


def _ancillary_vendor(builder: TripBuilder, booking: Booking) -> str:
    """How the card names an airline's ancillary sale: the airline as for a ticket, or its
    stem and a sale descriptor ("UNITED EMD", "DELTA AIR SEAT")."""
    rng = builder.rng
    if rng.random() < 0.6:
        return builder.vendor_for(booking.budget_type, booking.stems, None)
    stem = f"{builder.brand_stem(booking.stems)} {rng.choice(names.AIRLINE_ANCILLARY_SUFFIXES)}"
    return vocab.card_spelling(rng, stem, builder.knobs.vendor)


def _airline_fee_kind(
    builder: TripBuilder, as_fee: float, as_flight: float
) -> tuple[str, str] | None:
    """How a traveller types an airline's ancillary charge: one draw below `as_fee` an
    airline-fee type, below `as_flight` (≥ `as_fee`) the company's flight type, else none."""
    roll = builder.rng.random()
    if roll < as_fee:
        return builder.rng.choice(names.AIRLINE_FEE_KINDS)
    return builder.kind_names("flight") if roll < as_flight else None


def add_ticket_extras(
    builder: TripBuilder,
    booking: Booking,
    vendor: str,
    total: float,
    trip: Trip,
    when: datetime,
    tz: float,
    fee: BookingFee | None,
    charged: tuple[float, date] | None = None,
) -> None:
    """The lines beside a ticket: a separate booking-fee line, a cabin upgrade, a seat fee,
    bag fees, a rail seat reservation, a colleague's ticket (each by its knob)."""
    rng, knobs, budget_type = builder.rng, builder.knobs, booking.budget_type
    if fee is not None and not fee.inside:
        kind = builder.kind_names(budget_type) if rng.random() < 0.4 else None
        builder.add_item(
            "agency_fee",
            vendor,
            fee.amount,
            builder.local_day(when, tz),
            None,
            rng.choice(names.BOOKING_FEE_ITEMS),
            kind,
            "booking_fee_line",
            ("booking_fee",),
        )
    if budget_type == "flight" and builder.chance(knobs.cabin_upgrade):
        at_gate = rng.random() < 0.5
        moment = trip.start_utc if at_gate else _some_time_before(builder, trip)
        amount = total * rng.uniform(0.2, 0.8) if rng.random() < 0.5 else rng.uniform(79, 899)
        kind = _change_kind(builder, budget_type) if rng.random() < 0.5 else None
        airline = _ancillary_vendor(builder, booking)
        builder.add_item(
            "flight",
            airline,
            amount,
            builder.local_day(moment, tz),
            booking.budget_id,
            rng.choice(names.CABIN_UPGRADE_ITEMS),
            kind,
            "cabin_upgrade",
            ("cabin_upgrade",),
        )
    if budget_type == "flight" and builder.chance(knobs.seat_fee):
        moment = when if rng.random() < 0.5 else trip.start_utc - timedelta(hours=24)
        kind = _airline_fee_kind(builder, as_fee=0.6, as_flight=0.85)
        airline = _ancillary_vendor(builder, booking)
        builder.add_item(
            "airline_fee",
            airline,
            rng.uniform(12, 120),
            builder.local_day(moment, tz),
            None,
            rng.choice(names.SEAT_FEE_ITEMS),
            kind,
            "seat_fee",
            ("seat_fee",),
        )
    if budget_type == "flight" and builder.chance(knobs.bag_fee):
        add_bag_fees(builder, booking, trip)
    if budget_type == "rail" and builder.chance(knobs.rail_seat):
        moment = when if rng.random() < 0.6 else trip.start_utc
        amount = builder.converted(rng.uniform(2, 25), trip, abroad=True)
        kind = builder.kind_names("rail") if rng.random() < 0.5 else None
        railway = builder.vendor_for(budget_type, booking.stems, None)
        builder.add_item(
            "rail",
            railway,
            amount,
            builder.local_day(moment, tz),
            None,
            rng.choice(names.RAIL_SEAT_ITEMS),
            kind,
            "rail_seat",
            ("rail_seat",),
        )
    if builder.chance(knobs.colleague):
        add_colleague_tickets(builder, booking, vendor, charged or (total, None), when, tz)


def add_bag_fees(builder: TripBuilder, booking: Booking, trip: Trip) -> None:
    """Checked-bag fees paid at the airport: the airline's price of a bag on the departure
    day, on the return day too maybe; not this budget's (a baggage fee)."""
    rng = builder.rng
    fee = rng.choice(names.BAG_FEES) * (2 if rng.random() < 0.15 else 1)
    days = [builder.local_day(trip.start_utc, builder.profile.home_tz)]
    if rng.random() < 0.6:
        days.append(builder.local_day(trip.end_utc, trip.dest_tz))
    for day in days:
        kind = _airline_fee_kind(builder, as_fee=0.5, as_flight=0.8)
        builder.add_item(
            "airline_fee",
            _ancillary_vendor(builder, booking),
            builder.converted(fee, trip, abroad=trip.foreign),
            day,
            None,
            rng.choice(names.BAG_FEE_ITEMS),
            kind,
            "bag_fee",
            ("bag_fee",),
        )


def add_colleague_tickets(
    builder: TripBuilder,
    booking: Booking,
    vendor: str,
    charged: tuple[float, date | None],
    when: datetime,
    tz: float,
) -> None:
    """One or two colleagues' tickets on this card: same airline or agency, mostly the same
    fare on the same day as the traveller's own charge (identical twins); not this budget's."""
    rng, budget_type = builder.rng, booking.budget_type
    fare, day = charged
    for _ in range(1 if rng.random() < 0.7 else 2):
        twin = rng.random() < 0.6
        amount = fare if twin else fare * rng.uniform(0.85, 1.15)
        if twin and day is not None:
            posted = day
        else:
            moment = when if rng.random() < 0.7 else when + timedelta(days=rng.uniform(-3, 3))
            posted = builder.local_day(moment, tz)
        spelled = (
            vendor
            if twin or rng.random() < 0.5
            else builder.vendor_for(budget_type, booking.stems, booking.agency)
        )
        builder.add_item(
            budget_type,
            spelled,
            amount,
            posted,
            expense_names=builder.kind_names(budget_type),
            tag="colleague_ticket",
            knobs=("colleague",),
        )
