"""A car rental's later lines: the toll programme or fuel service (incidentals, not the
rental's) and the rental company's adjustment of the rental charge itself (the rental's), by
the labelling policy (bem/synth/policy.py)."""

from __future__ import annotations

from datetime import timedelta

from bem.synth import names, vocab
from bem.synth.charges import TripBuilder
from bem.synth.draws import Booking, Trip


def add_rental_extras(
    builder: TripBuilder, booking: Booking, vendor: str, total: float, trip: Trip
) -> None:
    """Lines the rental company posts after the return (each by its knob)."""
    rng, knobs = builder.rng, builder.knobs
    returned = trip.end_utc + timedelta(hours=trip.dest_tz)
    days = max(trip.nights, 1)
    if builder.chance(knobs.car_extra):
        toll = rng.random() < 0.6
        if toll:  # a daily programme fee (capped) plus the tolls themselves
            amount = min(rng.uniform(3.95, 5.95) * days, 30.0) + rng.uniform(2, 40)
            suffixes, items, tag = names.RENTAL_TOLL_SUFFIXES, names.RENTAL_TOLL_ITEMS, "toll"
            posted = returned + timedelta(days=rng.randint(7, 45))
        else:
            amount = rng.uniform(25, 110)
            suffixes, items, tag = names.RENTAL_FUEL_SUFFIXES, names.RENTAL_FUEL_ITEMS, "fuel"
            posted = returned + timedelta(days=rng.randint(1, 20))
        if rng.random() < 0.6:
            stem = f"{builder.brand_stem(booking.stems)} {rng.choice(suffixes)}"
            spelled = vocab.card_spelling(rng, stem, knobs.vendor)
        else:
            spelled = vendor
        # Often typed as the rental itself (the line names the rental company).
        kind = builder.kind_names("car") if rng.random() < 0.35 else rng.choice(items)
        builder.add_item(
            "toll" if toll else "fuel",
            spelled,
            builder.converted(amount, trip, abroad=True),
            posted.date(),
            None,
            rng.choice(items),
            kind,
            "car_toll_programme" if tag == "toll" else "car_fuel_service",
            ("car_extra",),
        )
    if builder.chance(knobs.car_adjust):
        change = total * rng.uniform(0.05, 0.35) * (1 if rng.random() < 0.7 else -1)
        item_names = rng.choice(names.RENTAL_ADJUST_ITEMS) if rng.random() < 0.4 else None
        builder.add_item(
            "car",
            builder.vendor_for("car", booking.stems, None),
            change,
            (returned + timedelta(days=rng.randint(3, 30))).date(),
            booking.budget_id,
            item_names,
            builder.kind_names("car"),
            "car_adjustment",
            ("car_adjust",),
        )
