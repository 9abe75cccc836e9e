"""What card feeds and travel tools write: cities, carriers, hotel brands, rental companies,
agencies, everyday merchants, expense-type vocabularies, and the way descriptors get mangled.

Descriptors follow real card statements: an airline's ticket number after its name
(`UNITED 0162345678901`), an agency's reference (`EXPEDIA 72512345678901`), a property's city,
a store number, 25 characters at most."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

DESCRIPTOR_CHARS = 25


@dataclass(frozen=True)
class City:
    name: str
    airport: str
    currency: str
    utc_offset: int  # hours, standard time
    hotel_tax: float  # share of the room rate on the tax line (0: included in the rate)
    per_night_taxes: tuple[tuple[str, float], ...]  # fixed lines per night (local units)
    nightly_rate: tuple[int, int]  # local units
    region: str  # "us" or "eu" or "other"


CITIES = {
    c.name: c
    for c in (
        City(
            "New York",
            "JFK",
            "USD",
            -5,
            0.14750,
            (("Occupancy Tax", 2.00), ("Unit Fee", 1.50)),
            (229, 459),
            "us",
        ),
        City("Chicago", "ORD", "USD", -6, 0.17390, (), (169, 329), "us"),
        City(
            "San Francisco",
            "SFO",
            "USD",
            -8,
            0.14000,
            (("Tourism Assessment", 3.20),),
            (199, 399),
            "us",
        ),
        City(
            "Los Angeles", "LAX", "USD", -8, 0.14000, (("TMD Assessment", 2.70),), (179, 339), "us"
        ),
        City("Boston", "BOS", "USD", -5, 0.14450, (), (209, 389), "us"),
        City("Washington", "DCA", "USD", -5, 0.14950, (), (189, 359), "us"),
        City("Atlanta", "ATL", "USD", -5, 0.16900, (("Hotel Fee", 5.00),), (139, 259), "us"),
        City("Dallas", "DFW", "USD", -6, 0.15000, (), (129, 249), "us"),
        City("Denver", "DEN", "USD", -7, 0.14750, (), (149, 279), "us"),
        City("Seattle", "SEA", "USD", -8, 0.15700, (("Tourism Fee", 2.00),), (179, 339), "us"),
        City("Austin", "AUS", "USD", -6, 0.17000, (), (159, 299), "us"),
        City("Houston", "IAH", "USD", -6, 0.17000, (), (119, 229), "us"),
        City("Minneapolis", "MSP", "USD", -6, 0.13400, (), (139, 249), "us"),
        City("Charlotte", "CLT", "USD", -5, 0.15250, (), (129, 239), "us"),
        City("Phoenix", "PHX", "USD", -7, 0.12570, (), (119, 229), "us"),
        City("Philadelphia", "PHL", "USD", -5, 0.15500, (), (159, 289), "us"),
        City("Miami", "MIA", "USD", -5, 0.13000, (("Resort Fee", 30.00),), (179, 369), "us"),
        City("Nashville", "BNA", "USD", -6, 0.16250, (("Occupancy Tax", 2.50),), (169, 319), "us"),
        City("Las Vegas", "LAS", "USD", -8, 0.13380, (("Resort Fee", 39.00),), (99, 249), "us"),
        City("London", "LHR", "GBP", 0, 0.0, (), (159, 329), "eu"),
        City("Paris", "CDG", "EUR", 1, 0.0, (("Taxe de Sejour", 2.88),), (169, 349), "eu"),
        City("Frankfurt", "FRA", "EUR", 1, 0.07, (), (119, 259), "eu"),
        City("Berlin", "BER", "EUR", 1, 0.075, (), (99, 219), "eu"),
        City("Amsterdam", "AMS", "EUR", 1, 0.125, (), (149, 309), "eu"),
        City("Madrid", "MAD", "EUR", 1, 0.0, (), (109, 229), "eu"),
        City(
            "Toronto", "YYZ", "CAD", -5, 0.17000, (("Destination Fee", 3.00),), (189, 349), "other"
        ),
        City(
            "Tokyo", "HND", "JPY", 9, 0.0, (("Accommodation Tax", 200.0),), (18000, 38000), "other"
        ),
        City("Mexico City", "MEX", "MXN", -6, 0.19, (), (2200, 4800), "other"),
    )
}

US_CITIES = [c for c in CITIES.values() if c.region == "us"]
EU_CITIES = [c for c in CITIES.values() if c.region == "eu"]
# Rail corridors where the train is booked instead of a flight.
RAIL_PAIRS = {
    frozenset({"New York", "Boston"}),
    frozenset({"New York", "Washington"}),
    frozenset({"New York", "Philadelphia"}),
    frozenset({"Washington", "Philadelphia"}),
    frozenset({"London", "Paris"}),
    frozenset({"Paris", "Amsterdam"}),
    frozenset({"Frankfurt", "Berlin"}),
    frozenset({"Paris", "Frankfurt"}),
    frozenset({"Amsterdam", "Frankfurt"}),
    frozenset({"Berlin", "Amsterdam"}),
}

# Home currency per unit of each currency (USD base); card charges convert at the posting rate.
USD_PER_UNIT = {
    "USD": 1.0,
    "EUR": 1.09,
    "GBP": 1.27,
    "CAD": 0.74,
    "JPY": 0.0068,
    "MXN": 0.058,
    "CHF": 1.13,
}


@dataclass(frozen=True)
class Carrier:
    name: str  # as the travel tool writes it
    stems: tuple[str, ...]  # card descriptor stems
    prefix: str  # ticket-number prefix (IATA accounting code)
    hubs: tuple[str, ...]
    bag_fee: float
    region: str


CARRIERS = (
    Carrier(
        "United Airlines",
        ("UNITED", "UNITED AIRLINES", "UNITED AIR"),
        "016",
        ("Chicago", "San Francisco", "Denver", "Houston", "New York", "Washington"),
        40.0,
        "us",
    ),
    Carrier(
        "Delta Air Lines",
        ("DELTA AIR LINES", "DELTA AIR", "DELTA"),
        "006",
        ("Atlanta", "Minneapolis", "Seattle", "New York", "Boston", "Los Angeles"),
        35.0,
        "us",
    ),
    Carrier(
        "American Airlines",
        ("AMERICAN AIRLINES", "AMERICAN AIR", "AA"),
        "001",
        ("Dallas", "Charlotte", "Phoenix", "Philadelphia", "Miami", "Chicago"),
        40.0,
        "us",
    ),
    Carrier(
        "Southwest Airlines",
        ("SOUTHWES", "SOUTHWEST AIRLINES", "SOUTHWEST AIR"),
        "526",
        ("Dallas", "Denver", "Las Vegas", "Phoenix", "Austin", "Nashville", "Houston"),
        0.0,
        "us",
    ),
    Carrier(
        "Alaska Airlines",
        ("ALASKA AIR", "ALASKA AIRLINES"),
        "027",
        ("Seattle", "San Francisco", "Los Angeles"),
        35.0,
        "us",
    ),
    Carrier(
        "JetBlue Airways", ("JETBLUE", "JETBLUE AIRWAYS"), "279", ("Boston", "New York"), 35.0, "us"
    ),
    Carrier(
        "British Airways", ("BRITISH A", "BRITISH AIRWAYS", "BA"), "125", ("London",), 65.0, "eu"
    ),
    Carrier(
        "Lufthansa",
        ("LUFTHANSA", "DEUTSCHE LUFTHANSA", "LH"),
        "220",
        ("Frankfurt", "Berlin"),
        60.0,
        "eu",
    ),
    Carrier("Air France", ("AIR FRANCE", "AIR FRANCE KLM", "AF"), "057", ("Paris",), 55.0, "eu"),
    Carrier(
        "KLM Royal Dutch Airlines", ("KLM", "KLM ROYAL DUTCH"), "074", ("Amsterdam",), 55.0, "eu"
    ),
    Carrier("Iberia", ("IBERIA", "IBERIA LAE"), "075", ("Madrid",), 50.0, "eu"),
    Carrier("Air Canada", ("AIR CANADA", "AIR CAN"), "014", ("Toronto",), 35.0, "other"),
)


@dataclass(frozen=True)
class Agency:
    name: str  # the tool's purchase vendor
    stems: tuple[str, ...]  # the agency's own descriptor (when it charges the booking itself)
    fee_stems: tuple[str, ...]  # its separate service-fee line
    merchant_of_record: bool  # charges the ticket itself (else the airline charges the card)


AGENCIES = (
    Agency("Expedia", ("EXPEDIA", "EXPEDIA*TRAVEL", "EXPEDIA.COM"), ("EXPEDIA SERVICE FEE",), True),
    Agency(
        "Egencia", ("EGENCIA*", "EGENCIA LLC", "EGENCIA"), ("EGENCIA*FEE", "EGENCIA SVC FEE"), False
    ),
    Agency(
        "American Express Global Business Travel",
        ("AMEX GBT", "AMEX TRAVEL", "AMEXGBT"),
        ("AMEX GBT FEE", "AMEXGBT*SVC FEE"),
        False,
    ),
    Agency(
        "Navan", ("NAVAN*", "NAVAN INC", "TRIPACTIONS*"), ("NAVAN*FEE", "TRIPACTIONS FEE"), True
    ),
    Agency("BCD Travel", ("BCD TRAVEL", "BCD TRAVEL USA"), ("BCD TRAVEL FEE",), False),
    Agency("CWT", ("CWT SATOTRAVEL", "CWT"), ("CWT SVC FEE", "CWT FEE"), False),
)
HOTEL_AGENCIES = (
    ("Expedia", ("EXPEDIA*HOTEL", "EXPEDIA 72")),
    ("Hotels.com", ("HOTELS.COM", "HOTELSCOM")),
    ("Booking.com", ("BOOKING.COM", "BKG*BOOKING.COM")),
)


@dataclass(frozen=True)
class HotelBrand:
    name: str  # the tool writes "{name} {city} {area}"
    parent: str
    stems: tuple[str, ...]  # "{city}" is the property's city (or its abbreviation)
    region: str  # "us", "eu" or "any"


HOTEL_BRANDS = (
    HotelBrand(
        "Marriott", "Marriott", ("MARRIOTT {city}", "{city} MARRIOTT", "MARRIOTT HOTELS"), "any"
    ),
    HotelBrand(
        "Courtyard", "Marriott", ("COURTYARD {city}", "COURTYARD BY MARRIOTT", "CY {city}"), "us"
    ),
    HotelBrand(
        "Residence Inn", "Marriott", ("RESIDENCE INN {city}", "RESIDENCE INN", "RI {city}"), "us"
    ),
    HotelBrand("Westin", "Marriott", ("WESTIN {city}", "THE WESTIN {city}"), "any"),
    HotelBrand("Sheraton", "Marriott", ("SHERATON {city}", "SHERATON HOTELS"), "any"),
    HotelBrand("Hilton", "Hilton", ("HILTON {city}", "{city} HILTON", "HILTON HOTELS"), "any"),
    HotelBrand(
        "Hampton Inn", "Hilton", ("HAMPTON INN {city}", "HAMPTON INNS", "HAMPTON INN"), "us"
    ),
    HotelBrand(
        "Hilton Garden Inn",
        "Hilton",
        ("HILTON GARDEN INN {city}", "HGI {city}", "HILTON GARDEN INN"),
        "us",
    ),
    HotelBrand(
        "DoubleTree by Hilton", "Hilton", ("DOUBLETREE {city}", "DOUBLETREE BY HILTON"), "us"
    ),
    HotelBrand("Hyatt Regency", "Hyatt", ("HYATT REGENCY {city}", "HYATT HOTELS"), "any"),
    HotelBrand("Hyatt Place", "Hyatt", ("HYATT PLACE {city}", "HYATT PLACE"), "us"),
    HotelBrand(
        "Holiday Inn Express",
        "IHG",
        ("HOLIDAY INN EXP {city}", "HOLIDAY INN EXPRESS", "HIE {city}"),
        "us",
    ),
    HotelBrand("InterContinental", "IHG", ("INTERCONTINENTAL {city}", "IHG HOTELS"), "any"),
    HotelBrand("Novotel", "Accor", ("NOVOTEL {city}", "HOTEL NOVOTEL"), "eu"),
    HotelBrand("Ibis", "Accor", ("IBIS {city}", "HOTEL IBIS"), "eu"),
    HotelBrand("Premier Inn", "Whitbread", ("PREMIER INN {city}", "PREMIER INN"), "eu"),
    HotelBrand("Motel One", "Motel One", ("MOTEL ONE {city}", "MOTEL ONE"), "eu"),
    HotelBrand("NH Collection", "Minor Hotels", ("NH COLLECTION {city}", "NH HOTELS"), "eu"),
)
AREAS = (
    "Downtown",
    "Airport",
    "Midtown",
    "Convention Center",
    "Financial District",
    "Tech Center",
    "North",
    "Waterfront",
    "City Centre",
    "Central Station",
)
CITY_CODES = {
    "New York": ("NYC", "NEW YORK", "NY MIDTOWN"),
    "San Francisco": ("SF", "SAN FRANCISC"),
    "Los Angeles": ("LA", "LOS ANGELES"),
    "Washington": ("DC", "WASHINGTON"),
    "Las Vegas": ("LV", "LAS VEGAS"),
    "Mexico City": ("CDMX", "MEXICO CITY"),
}


@dataclass(frozen=True)
class RentalCompany:
    name: str
    stems: tuple[str, ...]
    toll_stems: tuple[str, ...]
    daily: tuple[int, int]


RENTALS = (
    RentalCompany(
        "Hertz",
        ("HERTZ RENT-A-CAR", "HERTZ", "THE HERTZ CORPORATION"),
        ("HERTZ PLATEPASS", "PLATEPASS LLC"),
        (52, 98),
    ),
    RentalCompany(
        "Avis", ("AVIS RENT A CAR", "AVIS.COM", "AVIS"), ("AVIS E-TOLL", "HTS*AVIS ETOLL"), (48, 92)
    ),
    RentalCompany(
        "Enterprise",
        ("ENTERPRISE RENT-A-CAR", "ENTERPRISE RENT A CAR"),
        ("ENTERPRISE TOLLPASS", "ENT TOLL SVC"),
        (45, 88),
    ),
    RentalCompany(
        "National",
        ("NATIONAL CAR RENTAL", "NATIONAL CAR RENT"),
        ("NATIONAL TOLLPASS", "NATL TOLL SVC"),
        (50, 95),
    ),
    RentalCompany(
        "Budget", ("BUDGET RENT A CAR", "BUDGET RENT-A-CAR"), ("BUDGET E-TOLL",), (42, 80)
    ),
    RentalCompany("Sixt", ("SIXT RENT A CAR", "SIXT"), ("SIXT TOLL SERVICE",), (55, 110)),
)

RAIL = {
    "us": (("Amtrak", ("AMTRAK .COM", "AMTRAK TEL", "AMTRAK")),),
    "eu": (
        ("Deutsche Bahn", ("DB FERNVERKEHR AG", "DB VERTRIEB GMBH", "DB BAHN")),
        ("SNCF", ("SNCF VOYAGEURS", "SNCF INTERNET", "OUI.SNCF")),
        ("Eurostar", ("EUROSTAR INTERNATIONAL", "EUROSTAR")),
        ("Trainline", ("TRAINLINE.COM", "TRAINLINE")),
    ),
}

# Expense-type vocabularies of three companies: the same role under each company's names.
TYPE_VOCABULARIES = (
    {
        "air": "Airfare",
        "air_fee": "Airline Fees",
        "change": "Airline Fees",
        "hotel": "Hotel",
        "room": "Room Rate",
        "room_tax": "Room Tax",
        "city_tax": "Occupancy Tax",
        "resort": "Resort Fee",
        "car": "Car Rental",
        "rail": "Train",
        "taxi": "Taxi",
        "rideshare": "Taxi",
        "meal": "Meals",
        "breakfast": "Breakfast",
        "dinner": "Business Meals",
        "parking": "Parking",
        "fuel": "Fuel",
        "toll": "Tolls",
        "office": "Office Supplies",
        "software": "Software",
        "phone": "Mobile Phone",
        "internet": "Internet",
        "fee": "Bank Fees",
        "agency_fee": "Travel Agency Fees",
        "laundry": "Laundry",
        "other": "Miscellaneous",
        "conference": "Conference Fees",
        "shipping": "Postage",
    },
    {
        "air": "Air Travel",
        "air_fee": "Air Travel Fees",
        "change": "Change fee",
        "hotel": "Lodging",
        "room": "Lodging Room",
        "room_tax": "Lodging Tax",
        "city_tax": "City Tax",
        "resort": "Lodging Fees",
        "car": "Rental Car",
        "rail": "Rail",
        "taxi": "Ground Transportation",
        "rideshare": "Ground Transportation",
        "meal": "Business Meals",
        "breakfast": "Meals - Breakfast",
        "dinner": "Business Meals",
        "parking": "Parking",
        "fuel": "Gasoline",
        "toll": "Tolls/Road Charges",
        "office": "Office Supplies",
        "software": "Software/Subscriptions",
        "phone": "Cellular Phone",
        "internet": "Internet/Online Fees",
        "fee": "Foreign Transaction Fee",
        "agency_fee": "Booking Fees",
        "laundry": "Laundry",
        "other": "Other",
        "conference": "Seminars/Conferences",
        "shipping": "Shipping",
    },
    {
        "air": "Flights",
        "air_fee": "Airline Extras",
        "change": "Airfare",
        "hotel": "Accommodation",
        "room": "Hotel Room",
        "room_tax": "Hotel Tax",
        "city_tax": "City Tax",
        "resort": "Hotel Fees",
        "car": "Car Hire",
        "rail": "Train Tickets",
        "taxi": "Taxi/Uber",
        "rideshare": "Taxi/Uber",
        "meal": "Subsistence",
        "breakfast": "Breakfast",
        "dinner": "Client Entertainment",
        "parking": "Parking",
        "fuel": "Fuel",
        "toll": "Tolls",
        "office": "Stationery",
        "software": "IT Subscriptions",
        "phone": "Telephone",
        "internet": "Internet",
        "fee": "Card Fees",
        "agency_fee": "Booking Fees",
        "laundry": "Laundry",
        "other": "Sundry",
        "conference": "Training",
        "shipping": "Postage",
    },
)
CATEGORIES = {
    "air": "airfare",
    "air_fee": "airfare",
    "change": "airfare",
    "hotel": "lodging",
    "room": "lodging",
    "room_tax": "lodging",
    "city_tax": "lodging",
    "resort": "lodging",
    "car": "car rental",
    "rail": "rail",
    "taxi": "ground transportation",
    "rideshare": "ground transportation",
    "meal": "meals",
    "breakfast": "meals",
    "dinner": "meals",
    "parking": "parking",
    "fuel": "fuel",
    "toll": "ground transportation",
    "office": "office",
    "software": "software",
    "phone": "telecom",
    "internet": "telecom",
    "fee": "fees",
    "agency_fee": "fees",
    "laundry": "other",
    "other": "other",
    "conference": "other",
    "shipping": "other",
}

# Merchants: descriptor stems, role and amount range (card currency).
Merchants = tuple[tuple[str, ...], str, tuple[float, float]]
EVERYDAY: tuple[Merchants, ...] = (
    (("STARBUCKS STORE", "SBUX", "DUNKIN #"), "meal", (3.25, 11.5)),
    (("CHIPOTLE", "SWEETGREEN", "PANERA BREAD #", "SQ *", "TST* "), "meal", (8.5, 24.0)),
    (("DOORDASH*", "UBER EATS", "GRUBHUB*"), "meal", (14.0, 62.0)),
    (("TST* ", "SQ *", "OPENTABLE*"), "dinner", (48.0, 340.0)),
    (("UBER *TRIP", "UBER   *TRIP", "LYFT   *RIDE", "LYFT *RIDE"), "rideshare", (8.9, 64.0)),
    (("YELLOW CAB", "CURB SVC", "TAXI "), "taxi", (11.0, 58.0)),
    (
        (
            "ADOBE  *CREATIVE CLD",
            "ZOOM.US 888-799-9666",
            "SLACK T0",
            "MSFT *MICROSOFT 365",
            "GITHUB, INC.",
            "DROPBOX*",
            "NOTION LABS",
            "ATLASSIAN",
        ),
        "software",
        (8.0, 96.0),
    ),
    (("AMAZON WEB SERVICES", "AWS EMEA", "GOOGLE *CLOUD"), "software", (12.0, 640.0)),
    (("STAPLES", "OFFICE DEPOT #", "AMZN MKTP US*", "AMAZON.COM*"), "office", (6.0, 240.0)),
    (("VERIZON WRLS", "AT&T*BILL PAYMENT", "T-MOBILE"), "phone", (45.0, 130.0)),
    (("PARKMOBILE", "SP+ PARKING", "LAZ PARKING", "PAYBYPHONE"), "parking", (4.0, 42.0)),
    (("SHELL OIL", "CHEVRON", "EXXONMOBIL", "BP#"), "fuel", (28.0, 78.0)),
    (("FEDEX OFFIC", "UPS STORE", "USPS PO"), "shipping", (9.0, 85.0)),
    (("EVENTBRITE/", "CVENT*", "EB *"), "conference", (149.0, 1495.0)),
)
TRIP_MERCHANTS: tuple[Merchants, ...] = (
    (("HMSHOST", "OTG MANAGEMENT", "HUDSON NEWS", "PARADIES"), "meal", (6.0, 38.0)),
    (("UBER *TRIP", "LYFT   *RIDE", "YELLOW CAB", "TAXI "), "taxi", (18.0, 82.0)),
    (("TST* ", "SQ *", "OPENTABLE*"), "dinner", (34.0, 180.0)),
)
RESTAURANT_WORDS = (
    "BISTRO",
    "GRILL",
    "KITCHEN",
    "TAVERN",
    "CAFE",
    "SUSHI",
    "TRATTORIA",
    "TAQUERIA",
    "STEAKHOUSE",
    "BRASSERIE",
    "DINER",
    "NOODLE BAR",
)
RESTAURANT_NAMES = (
    "LUCKY",
    "BLUE DOOR",
    "HARBOR",
    "OAK",
    "MAPLE",
    "RED HEN",
    "NORTH END",
    "GOLDEN",
    "LITTLE",
    "CORNER",
    "THE ALLEY",
    "MARKET",
)
INCIDENTALS = (
    ("breakfast", "Breakfast", (16.0, 34.0)),
    ("dinner", "Room Service", (24.0, 78.0)),
    ("parking", "Hotel Parking", (32.0, 68.0)),
    ("internet", "Hotel Internet", (9.95, 16.95)),
    ("meal", "Minibar", (6.0, 28.0)),
    ("laundry", "Laundry", (14.0, 42.0)),
    ("dinner", "Restaurant", (38.0, 120.0)),
)


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def clip(descriptor: str) -> str:
    """A card descriptor: upper case, at most 25 characters, no trailing space."""
    return descriptor.upper()[:DESCRIPTOR_CHARS].rstrip()


def city_token(rng: random.Random, city: str) -> str:
    codes = CITY_CODES.get(city)
    if codes and rng.random() < 0.6:
        return rng.choice(codes)
    return city.upper()


def ticket_descriptor(rng: random.Random, carrier: Carrier) -> str:
    """An airline's card line: its stem and a 13-digit ticket or EMD number, or its city."""
    stem = rng.choice(carrier.stems)
    roll = rng.random()
    if roll < 0.6:
        return clip(f"{stem} {carrier.prefix}{digits(rng, 10)}")
    if roll < 0.75:
        return clip(f"{stem}{carrier.prefix}{digits(rng, 10)}")
    if roll < 0.9:
        hub = rng.choice(carrier.hubs).upper()
        return clip(f"{stem} {hub}")
    return clip(f"{stem} {digits(rng, 3)}-{digits(rng, 3)}-{digits(rng, 4)}")


def agency_descriptor(rng: random.Random, agency: Agency, carrier: Carrier | None) -> str:
    stem = rng.choice(agency.stems)
    if stem.endswith("*") and carrier is not None:
        return clip(f"{stem}{carrier.name}")
    if rng.random() < 0.6:
        return clip(f"{stem} {digits(rng, 12)}")
    return clip(stem)


def hotel_descriptor(rng: random.Random, brand: HotelBrand, city: str) -> str:
    stem = rng.choice(brand.stems)
    text = stem.replace("{city}", city_token(rng, city))
    if "{city}" not in stem and rng.random() < 0.5:
        text = f"{text} {digits(rng, 4)}"
    return clip(text)


def rental_descriptor(rng: random.Random, company: RentalCompany, city: str) -> str:
    stem = rng.choice(company.stems)
    roll = rng.random()
    if roll < 0.4:
        return clip(f"{stem} {city.upper()}")
    if roll < 0.7:
        return clip(f"{stem} #{digits(rng, 6)}")
    return clip(stem)


def restaurant(rng: random.Random, prefix: str) -> str:
    name = f"{rng.choice(RESTAURANT_NAMES)} {rng.choice(RESTAURANT_WORDS)}"
    return clip(f"{prefix}{name}")


def merchant(rng: random.Random, stems: tuple[str, ...]) -> str:
    """A merchant's descriptor: a restaurant behind a processor prefix, a store or order
    number after a chain's stem, or the stem alone."""
    stem = rng.choice(stems)
    if stem in ("SQ *", "TST* ", "OPENTABLE*"):
        return restaurant(rng, stem)
    if stem.endswith(("#", "*", "T0", "/")):
        return clip(f"{stem}{digits(rng, 5)}")
    if stem.endswith(" ") or stem in ("STARBUCKS STORE", "CHIPOTLE", "STAPLES"):
        return clip(f"{stem.rstrip()} {digits(rng, 5)}")
    return clip(stem)


def typo(rng: random.Random, text: str) -> str:
    """One slip of the kind people and feed processors make: a dropped, doubled or swapped
    letter, an abbreviation, a lost word, or lower case."""
    words = text.split()
    roll = rng.random()
    if roll < 0.2 and len(words) > 1:
        words.pop(rng.randrange(1, len(words)))
        return " ".join(words)
    if roll < 0.35:
        return text.lower() if rng.random() < 0.5 else text.title()
    if roll < 0.5:
        vowels = [i for i, ch in enumerate(text) if ch.upper() in "AEIOU" and i > 0]
        if vowels:
            i = rng.choice(vowels)
            return text[:i] + text[i + 1 :]
    letters = [i for i, ch in enumerate(text[:-1]) if ch.isalpha() and text[i + 1].isalpha()]
    if not letters:
        return text
    i = rng.choice(letters)
    if roll < 0.75:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if roll < 0.9:
        return text[:i] + text[i] + text[i:]
    return text[:i] + text[i + 1 :]
