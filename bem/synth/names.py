"""Item and expense-type names of the labelling policy's card-feed cases, as feeds and
travellers write them: (type name, category) pairs, and merchant suffixes."""

from __future__ import annotations

CITY_TAX_ITEMS = [
    ("City Tax", "taxes"),
    ("Occupancy Tax", "lodging"),
    ("Tourism Tax", "taxes"),
    ("Taxe de Séjour", "taxes"),
    ("State Occupancy Tax", "taxes"),
    # cities and hotels that call the levy a fee (a per-night amount, mostly)
    ("Tourism Fee", "taxes"),
    ("Occupancy Fee", "lodging"),
    ("Hotel Unit Fee", "lodging"),
    ("City Fee", "taxes"),
]
HOTEL_HOLD_ITEMS = [
    ("Pre-Authorization", "lodging"),
    ("Hotel Deposit", "lodging"),
    ("Incidentals Hold", "lodging"),
    ("Authorization", "other"),
]
NO_SHOW_ITEMS = [("No Show", "lodging"), ("Late Cancellation", "lodging"), ("Hotel", "lodging")]
NO_SHOW_KINDS = [("Cancellation Fee", "fees"), ("Hotel Fees", "lodging"), ("Travel Misc", "other")]
FARE_CHANGE_ITEMS = [
    ("Change Fee", "airfare"),
    ("Exchange", "airfare"),
    ("Ticket Change", "airfare"),
    ("Reissue", "airfare"),
]
# How travellers type a fare change (besides their company's airfare type).
FARE_CHANGE_KINDS = [
    ("Airline Fees", "airfare"),
    ("Airfare", "airfare"),
    ("Change fee", "fees"),
    ("Change Fee", "airfare"),
    ("Travel - Other", "travel"),
]
RAIL_CHANGE_KINDS = [("Change fee", "fees"), ("Rail Fees", "rail"), ("Travel - Other", "travel")]
CABIN_UPGRADE_ITEMS = [
    ("Upgrade", "airfare"),
    ("Cabin Upgrade", "airfare"),
    ("Business Class Upgrade", "airfare"),
    ("Paid Upgrade", "air"),
]
SEAT_FEE_ITEMS = [
    ("Seat Selection", "airfare"),
    ("Seat Fee", "air"),
    ("Priority Boarding", "airfare"),
    ("Extra Legroom Seat", "airfare"),
    ("Preferred Seat", "air"),
]
BAG_FEE_ITEMS = [
    ("Baggage Fee", "airfare"),
    ("Checked Bag", "air"),
    ("Bag Fee", "airfare"),
    ("Excess Baggage", "airfare"),
]
BAG_FEES = (30.0, 35.0, 40.0, 45.0, 60.0, 75.0)  # an airline's price of a checked bag
AIRLINE_FEE_KINDS = [("Airline Fees", "airfare"), ("Seat Selection", "airfare"), ("Airfare", "air")]
# How a card feed names an airline's ancillary sale (a seat, an upgrade) after the stem.
AIRLINE_ANCILLARY_SUFFIXES = ["EMD", "ANCILLARY", "SEAT", "UPGRADE", "INFLIGHT"]
RAIL_SEAT_ITEMS = [
    ("Seat Reservation", "rail"),
    ("Sitzplatzreservierung", "rail"),
    ("Reservation", "rail"),
    ("Seat", "ground"),
]
BOOKING_FEE_ITEMS = [
    ("Booking Fee", "fees"),
    ("Service Fee", "fees"),
    ("Ticketing Fee", "airfare"),
    ("Online Booking Fee", "fees"),
]
RENTAL_TOLL_SUFFIXES = ["PLATEPASS", "E-TOLL", "TOLL PASS", "TOLLS", "EZ TOLL"]
RENTAL_FUEL_SUFFIXES = ["FUEL SVC", "REFUEL", "FUEL CHARGE", "FUEL"]
RENTAL_TOLL_ITEMS = [("Tolls", "tolls"), ("Toll Service", "car"), ("Parking/Tolls", "car")]
RENTAL_FUEL_ITEMS = [("Fuel", "fuel"), ("Refueling Charge", "car"), ("Gasoline", "car")]
RENTAL_ADJUST_ITEMS = [("Rental Adjustment", "car_rental"), ("Extra Day", "car_rental")]
