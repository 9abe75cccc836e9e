"""The charges that pay for one booking (label 1), and the lines around them that do not."""

from __future__ import annotations

from datetime import date, timedelta

from bem.synth import charges, hotel, rental, tickets, vocab
from bem.synth.charges import TripBuilder
from bem.synth.draws import Booking, Trip


def add_charges(builder: TripBuilder, booking: Booking, trip: Trip) -> None:
    """The matching charges of one booking, and the look-alikes and extras beside them."""
    rng, knobs = builder.rng, builder.knobs
    budget_type, budget_id = booking.budget_type, booking.budget_id
    stems, agency, cost, tax = booking.stems, booking.agency, booking.cost, booking.tax
    ticket = budget_type in ("flight", "rail")
    at_booking = ticket or rng.random() < knobs.prepaid
    when = trip.booked if at_booking else trip.end_utc
    if ticket and rng.random() < knobs.late_charge:
        when = trip.start_utc  # posted at departure (lodged card, pay-at-station)
    tz = builder.profile.home_tz if at_booking else trip.dest_tz
    total = builder.converted(cost * (1 + tax), trip, abroad=not at_booking or trip.foreign)
    vendor = builder.vendor_for(budget_type, stems, agency if at_booking else None)
    kind_names = builder.kind_names(budget_type)
    if agency is not None and at_booking and rng.random() < 0.7:
        builder.add_item(
            "agency_fee",
            vocab.card_spelling(rng, vocab.AGENCY_CARD[agency], knobs.vendor),
            rng.uniform(5, 40),
            builder.local_day(trip.booked, tz),
            knobs=("agency_fee",),
        )
    stay = budget_type == "hotel" and not at_booking  # paid at checkout
    charged: tuple[float, date] | None = None  # the one charge's amount and day, if one
    fee = tickets.booking_fee(builder) if ticket else None
    itemised = stay and rng.random() < knobs.itemize
    nightly = stay and builder.chance(knobs.folio_nightly)  # room and tax lines each night
    if itemised or nightly:
        hotel.add_folio(builder, budget_id, vendor, kind_names, total, tax, trip, nightly)
    elif rng.random() < knobs.split:
        share = rng.uniform(0.35, 0.65)
        for part in (share, 1 - share):
            builder.add_item(
                budget_type,
                vendor,
                total * part,
                builder.local_day(when, tz),
                budget_id,
                expense_names=kind_names,
                tag=f"{budget_type}_split",
                knobs=("split",),
            )
    else:
        extra = rng.uniform(5, 60) if rng.random() < 0.15 else 0.0
        day, tag, shaped = builder.local_day(when, tz), budget_type, tuple[str, ...]()
        if fee is not None and fee.inside:
            extra, tag = extra + fee.amount, "ticket_with_fee"
        if stay:
            extra, tag, shaped, delay = hotel.one_total(builder, total, extra, tag)
            day += timedelta(days=delay)
        builder.add_item(
            budget_type,
            vendor,
            total + extra,
            day,
            budget_id,
            expense_names=kind_names,
            tag=tag,
            knobs=shaped,
        )
        charged = (total + extra, day)
    if rng.random() < knobs.refund:
        refund_at = when + timedelta(days=rng.uniform(1, 20))
        builder.add_item(
            budget_type,
            vendor,
            -total * rng.uniform(0.1, 1.0),
            builder.local_day(refund_at, tz),
            budget_id,
            expense_names=kind_names,
            tag="refund",
            knobs=("refund",),
        )
    if trip.foreign and rng.random() < knobs.fx_fee:
        charges.add_fx_fee(builder, total, builder.local_day(when, tz))
    if ticket and rng.random() < knobs.fare_change:
        tickets.add_fare_change(builder, booking, vendor, total, trip, tz)
    if rng.random() < knobs.companion:
        look_alike = when + timedelta(days=rng.uniform(-2, 2))
        builder.add_item(
            budget_type,
            builder.vendor_for(budget_type, stems, agency if at_booking else None),
            total * rng.uniform(0.8, 1.2),
            builder.local_day(look_alike, tz),
            tag="companion",
            knobs=("companion",),
        )
    # The card-feed cases of the labelling policy's decision table (each draws only when on).
    if stay and builder.chance(knobs.preauth):
        hotel.add_preauth(builder, booking, vendor, total, trip)
    if ticket:
        tickets.add_ticket_extras(builder, booking, vendor, total, trip, when, tz, fee, charged)
    if budget_type == "car":
        rental.add_rental_extras(builder, booking, vendor, total, trip)
