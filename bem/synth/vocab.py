"""Vocabularies for the synthetic data generator: vendors, expense types, card-feed spellings.

Vendors are drawn from these tables and then spelled the way card feeds and expense tools
spell them (`card_spelling`): upper case, truncation to the card network's field width,
store or ticket numbers, payment-processor prefixes, city suffixes, dropped punctuation,
diacritics kept or lost. Spellings are made by rules rather than listed, so a model cannot
learn a fixed set of strings.
"""

from __future__ import annotations

import random
import unicodedata

# budget type -> [(brand as the booking tool writes it, card-feed stems, chain/parent names)]
TRAVEL_VENDORS: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "flight": [
        ("Southwest Airlines", ["SOUTHWEST AIR", "SOUTHWES", "SWA"], ["Southwest"]),
        ("United Airlines", ["UNITED", "UNITED AIRLINES", "UA"], ["United"]),
        ("Delta Air Lines", ["DELTA AIR", "DELTA AIR LINES", "DL"], ["Delta"]),
        ("American Airlines", ["AMERICAN AIR", "AA", "AMERICAN AIRLINES"], ["American"]),
        ("Alaska Airlines", ["ALASKA AIR", "ALASKA AIRLINES"], ["Alaska"]),
        ("JetBlue Airways", ["JETBLUE", "JETBLUE AIRWAYS"], ["JetBlue"]),
        ("Lufthansa", ["LUFTHANSA", "DEUTSCHE LUFTHANSA AG", "LH"], ["Deutsche Lufthansa"]),
        ("Air France", ["AIR FRANCE", "AIR FRANCE KLM", "AF"], ["Air France KLM"]),
        ("British Airways", ["BRITISH A", "BRITISH AIRWAYS", "BA"], ["British Airways"]),
        ("Air Canada", ["AIR CANADA", "AIR CAN"], ["Air Canada"]),
        ("Spirit Airlines", ["SPIRIT AIRL", "SPIRIT AIRLINES"], ["Spirit"]),
        ("Frontier Airlines", ["FRONTIER AIRLINES", "FRONTIER AI"], ["Frontier"]),
        ("KLM Royal Dutch Airlines", ["KLM", "KLM ROYAL DUTCH"], ["KLM"]),
        ("Swiss International Air Lines", ["SWISS INTL AIR", "SWISS"], ["Swiss"]),
        ("All Nippon Airways", ["ANA", "ALL NIPPON AIRWAYS"], ["ANA"]),
        ("Aer Lingus", ["AER LINGUS", "AERLINGUS"], ["Aer Lingus"]),
    ],
    "hotel": [
        ("Courtyard by Marriott", ["COURTYARD", "CY", "MARRIOTT"], ["Marriott"]),
        ("Marriott Marquis", ["MARRIOTT", "MARRIOTT MARQUIS"], ["Marriott"]),
        ("Residence Inn", ["RESIDENCE INN", "MARRIOTT RES INN"], ["Marriott"]),
        ("Sheraton", ["SHERATON", "SHERATON HOTELS"], ["Marriott"]),
        ("The Westin", ["WESTIN", "THE WESTIN"], ["Marriott"]),
        ("Hilton Garden Inn", ["HILTON GARDEN INN", "HGI", "HILTON"], ["Hilton"]),
        ("Hampton Inn", ["HAMPTON INN", "HAMPTON INNS"], ["Hilton"]),
        ("DoubleTree by Hilton", ["DOUBLETREE", "DOUBLETREE HOTEL"], ["Hilton"]),
        ("Hyatt Regency", ["HYATT REGENCY", "HYATT"], ["Hyatt"]),
        ("Hyatt Place", ["HYATT PLACE", "HYATT PL"], ["Hyatt"]),
        ("Holiday Inn Express", ["HOLIDAY INN EXPRESS", "HOLIDAY INN EXP", "HIE"], ["IHG"]),
        ("InterContinental", ["INTERCONTINENTAL", "INTERCONTI"], ["IHG"]),
        ("Crowne Plaza", ["CROWNE PLAZA", "CROWNE PLZ"], ["IHG"]),
        ("Best Western Plus", ["BEST WESTERN", "BW PLUS"], ["Best Western"]),
        ("Novotel", ["NOVOTEL", "ACCOR NOVOTEL"], ["Accor"]),
        ("ibis", ["IBIS", "HOTEL IBIS"], ["Accor"]),
        ("Hôtel Le Marais", ["HOTEL LE MARAIS", "HÔTEL LE MARAIS"], ["Le Marais"]),
        ("Motel 6", ["MOTEL 6", "MOTEL6"], ["G6 Hospitality"]),
        ("Kimpton", ["KIMPTON", "KIMPTON HOTEL"], ["IHG"]),
        ("Four Seasons", ["FOUR SEASONS", "FOUR SEASONS HOTEL"], ["Four Seasons"]),
    ],
    "car": [
        ("Hertz", ["HERTZ RENT-A-CAR", "HERTZ", "THE HERTZ CORPORATION"], ["Hertz"]),
        ("Avis", ["AVIS RENT A CAR", "AVIS", "AVIS BUDGET"], ["Avis Budget"]),
        ("Budget", ["BUDGET RENT A CAR", "BUDGET RENT-A-CAR", "BUDGET"], ["Avis Budget"]),
        ("Enterprise", ["ENTERPRISE RENT-A-CAR", "ENTERPRISE RENT A CAR", "ERAC"], ["Enterprise"]),
        ("National Car Rental", ["NATIONAL CAR RENTAL", "NATIONAL CAR"], ["Enterprise"]),
        ("Alamo", ["ALAMO RENT-A-CAR", "ALAMO"], ["Enterprise"]),
        ("Sixt", ["SIXT RAC", "SIXT RENT A CAR", "SIXT"], ["Sixt"]),
        ("Europcar", ["EUROPCAR", "EUROPCAR INTL"], ["Europcar"]),
        ("Thrifty", ["THRIFTY CAR RENTAL", "THRIFTY"], ["Hertz"]),
        ("Dollar", ["DOLLAR RENT A CAR", "DOLLAR RAC"], ["Hertz"]),
    ],
    "rail": [
        ("Amtrak", ["AMTRAK", "AMTRAK .COM", "AMTRAK MOBILE"], ["Amtrak"]),
        ("Eurostar", ["EUROSTAR", "EUROSTAR INTL"], ["Eurostar"]),
        ("Deutsche Bahn", ["DB FERNVERKEHR", "DB VERTRIEB GMBH", "DB BAHN"], ["Deutsche Bahn"]),
        ("SNCF", ["SNCF", "OUI.SNCF", "SNCF INTERNET"], ["SNCF"]),
        ("Trenitalia", ["TRENITALIA", "TRENITALIA SPA"], ["Trenitalia"]),
        ("SBB CFF FFS", ["SBB CFF FFS", "SBB"], ["SBB"]),
        ("Renfe", ["RENFE VIAJEROS", "RENFE"], ["Renfe"]),
        ("VIA Rail Canada", ["VIA RAIL", "VIA RAIL CANADA"], ["VIA Rail"]),
        ("Brightline", ["BRIGHTLINE", "BRIGHTLINE TRAINS"], ["Brightline"]),
        ("Österreichische Bundesbahnen", ["ÖBB", "OEBB PV AG", "OBB"], ["ÖBB"]),
    ],
}

AGENCIES = [
    "Expedia",
    "Egencia",
    "Concur Travel",
    "BCD Travel",
    "AMEX GBT",
    "Booking.com",
    "Navan",
    "CWT",
]
AGENCY_CARD = {
    "Expedia": "EXPEDIA",
    "Egencia": "EGENCIA",
    "Concur Travel": "CONCUR TRAVEL",
    "BCD Travel": "BCD TRAVEL",
    "AMEX GBT": "AMEX GBT",
    "Booking.com": "BOOKING.COM",
    "Navan": "NAVAN",
    "CWT": "CWT CARLSON",
}

# distractor kind -> card-feed stems
DISTRACTOR_VENDORS: dict[str, list[str]] = {
    "meal": [
        "STARBUCKS",
        "CHIPOTLE",
        "PANERA BREAD",
        "MCDONALD'S",
        "PRET A MANGER",
        "SUBWAY",
        "SHAKE SHACK",
        "JOE'S CRAB SHACK",
        "CAFÉ DE FLORE",
        "SUSHI ZEN",
        "DOORDASH*",
        "UBER EATS",
        "HUDSON NEWS",
        "DUNKIN",
        "OLIVE GARDEN",
        "BRASSERIE LIPP",
        "THE CAPITAL GRILLE",
        "TST* BLUE BOTTLE",
        "SQ *FOOD TRUCK",
        "HOTEL BAR",
    ],
    "taxi": [
        "UBER *TRIP",
        "UBER",
        "LYFT *RIDE",
        "LYFT",
        "YELLOW CAB",
        "NYC TAXI",
        "TAXI",
        "CURB",
        "BOLT.EU",
        "FREE NOW",
        "SUPER SHUTTLE",
        "BLACKLANE",
    ],
    "parking": [
        "SFO PARKING",
        "LAZ PARKING",
        "SP+ PARKING",
        "ABM PARKING",
        "PARKWHIZ",
        "ORD PARKING",
        "AIRPORT PARKING",
    ],
    "fuel": ["SHELL OIL", "CHEVRON", "EXXONMOBIL", "BP", "76", "ARCO", "TOTAL ENERGIES"],
    "toll": ["E-ZPASS", "FASTRAK", "SUNPASS", "ILLINOIS TOLLWAY"],
    "wifi": ["GOGOAIR.COM", "VIASAT IN-FLIGHT WIFI", "PANASONIC WIFI"],
    "other": [
        "STAPLES",
        "AMAZON.COM*",
        "ZOOM.US",
        "ADOBE *CREATIVE CLD",
        "FEDEX OFFICE",
        "EVENTBRITE",
        "LINKEDIN PREMIUM",
        "OFFICE DEPOT",
        "WALGREENS",
        "CVS/PHARMACY",
        "VERIZON WRLS",
        "APPLE.COM/BILL",
        "DROPBOX",
        "USPS",
        "BEST BUY",
        "REGISTRATION FEE CONF",
        "WEWORK",
        "SLACK TECHNOLOGIES",
    ],
}

# Canonical expense kinds and the names companies give them: (type name, category).
EXPENSE_KINDS: dict[str, list[tuple[str, str]]] = {
    "flight": [
        ("Airfare", "airfare"),
        ("Air Travel", "air"),
        ("Flights", "travel"),
        ("Airline Tickets", "airfare"),
        ("Air", "air_travel"),
    ],
    "hotel": [
        ("Hotel", "lodging"),
        ("Lodging", "lodging"),
        ("Hotel Room", "hotel"),
        ("Accommodation", "travel"),
    ],
    "car": [
        ("Car Rental", "car_rental"),
        ("Rental Car", "car rental"),
        ("Auto Rental", "ground"),
        ("Vehicle Rental", "car_rental"),
    ],
    "rail": [
        ("Train", "rail"),
        ("Rail", "rail"),
        ("Train/Rail", "ground"),
        ("Ground Transportation - Rail", "ground_transportation"),
    ],
    "meal": [
        ("Meals", "meals"),
        ("Business Meals", "meals"),
        ("Individual Meals", "meals"),
        ("Dinner", "meals"),
        ("Lunch", "food"),
        ("Breakfast", "meals"),
    ],
    "taxi": [
        ("Taxi", "taxi"),
        ("Taxi/Uber", "taxi"),
        ("Ground Transportation", "ground"),
        ("Rideshare", "taxi"),
    ],
    "parking": [("Parking", "parking"), ("Parking/Tolls", "car")],
    "fuel": [("Fuel", "fuel"), ("Gasoline", "car"), ("Mileage/Fuel", "car")],
    "toll": [("Tolls", "tolls"), ("Parking/Tolls", "car")],
    "wifi": [("Internet/Wi-Fi", "communications"), ("Wi-Fi", "telecom")],
    "airline_fee": [
        ("Airline Fees", "airfare"),
        ("Baggage Fees", "air"),
        ("Seat Upgrade", "airfare"),
    ],
    "agency_fee": [
        ("Travel Agency Fee", "travel"),
        ("Booking Fee", "fees"),
        ("Airfare Service Fee", "airfare"),
    ],
    "other": [
        ("Office Supplies", "office"),
        ("Software", "software"),
        ("Conference Fees", "conference"),
        ("Miscellaneous", "other"),
        ("Mobile Phone", "communications"),
        ("Shipping", "office"),
    ],
}
# Hotel folio itemizations: (type name, category); room rate and tax belong to the stay.
HOTEL_ROOM_ITEMS = [("Room Rate", "lodging"), ("Room Charges", "lodging"), ("Hotel Room", "hotel")]
HOTEL_TAX_ITEMS = [("Room Tax", "lodging"), ("Hotel Tax", "taxes"), ("Lodging Tax", "lodging")]
HOTEL_INCIDENTALS = [
    ("Hotel Breakfast", "meals"),
    ("Hotel Parking", "parking"),
    ("Room Service", "meals"),
    ("Hotel Internet", "communications"),
    ("Minibar", "meals"),
    ("Laundry", "other"),
]
VAGUE_KINDS = [("Travel - Other", "travel"), ("Miscellaneous", "other"), ("Travel", "travel")]
# Expense types a user picks by mistake for a travel charge (another group than the charge's).
MISTYPED_KINDS = [
    ("Meals", "meals"),
    ("Travel Misc", "other"),
    ("Taxi", "taxi"),
    ("Office Supplies", "office"),
    ("Parking", "parking"),
]
RESORT_FEE_ITEMS = [("Resort Fee", "lodging"), ("Destination Fee", "lodging")]
CHANGE_FEE_ITEMS = [("Change Fee", "airfare"), ("Fare Difference", "airfare")]
# How a bank names its foreign-transaction-fee line on the statement.
FX_FEE_VENDORS = ["FOREIGN TRANSACTION FEE", "INTL TRANSACTION FEE", "FX FEE", "CROSS BORDER FEE"]
FX_FEE_KINDS = [("Bank Fees", "fees"), ("Foreign Transaction Fee", "fees"), ("Misc", "other")]

CITIES = [
    "SAN FRAN",
    "SAN FRANCISCO",
    "NEW YORK",
    "NEW YORK NY",
    "CHICAGO",
    "BOSTON",
    "SEATTLE",
    "AUSTIN",
    "DENVER",
    "ATLANTA",
    "LOS ANGELES",
    "MIAMI",
    "PARIS",
    "LONDON",
    "MÜNCHEN",
    "ZÜRICH",
    "TORONTO",
    "TOKYO",
    "DALLAS",
    "PORTLAND",
    "SÃO PAULO",
    "KÖLN",
]

# Time zones by region: (UTC offset hours, weight).
TIMEZONES = [(-8, 3), (-7, 2), (-6, 3), (-5, 4), (0, 1), (1, 2), (2, 1), (9, 1), (5.5, 1)]

# Currency of a foreign trip: (code, units per USD).
CURRENCIES = [
    ("EUR", 0.92),
    ("GBP", 0.79),
    ("CAD", 1.36),
    ("JPY", 151.0),
    ("CHF", 0.88),
    ("INR", 83.0),
]

CARD_FIELD_WIDTH = 25  # card networks carry about 22-25 characters of merchant name


def strip_accents(text: str) -> str:
    """`text` without combining diacritics (Zürich -> Zurich)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def card_spelling(rng: random.Random, stem: str, strength: float) -> str:
    """A card-feed spelling of `stem`; `strength` in [0, 1+] scales how mangled it gets."""
    text = stem
    if rng.random() < 0.5 * strength:
        text = text.replace("-", " ") if rng.random() < 0.5 else text.replace(" ", "")
    if rng.random() < 0.3 * strength:
        text = text.replace(".", "").replace("'", "")
    if rng.random() < 0.4 * strength:
        text = strip_accents(text)
    if rng.random() < 0.15 * strength:
        prefix = rng.choice(["SQ *", "TST* ", "PAYPAL *", "PP*", "IC* "])
        text = prefix + text
    suffix_roll = rng.random()
    if suffix_roll < 0.35 * strength:
        text += " " + str(rng.randint(10**5, 10**10))
    elif suffix_roll < 0.55 * strength:
        text += " #" + str(rng.randint(1, 9999))
    elif suffix_roll < 0.7 * strength:
        text += " " + rng.choice(CITIES)
    if rng.random() < 0.6 * strength:
        text = text[:CARD_FIELD_WIDTH].rstrip()
    case_roll = rng.random()
    if case_roll < 0.7:
        text = text.upper()
    elif case_roll < 0.85:
        text = text.title()
    elif case_roll < 0.92:
        text = text.lower()
    return text


def tool_spelling(rng: random.Random, name: str, strength: float) -> str:
    """How an expense tool or a person writes a vendor name (mostly clean, sometimes not)."""
    roll = rng.random()
    if roll < 0.15 * strength:
        return name.lower()
    if roll < 0.25 * strength:
        return name.upper()
    if roll < 0.32 * strength:
        return strip_accents(name)
    return name
