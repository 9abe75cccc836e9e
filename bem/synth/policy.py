"""The labelling policy: what belongs to a budget, as data.

One source for docs/contract.md (its decision table is `decision_table()`, checked by a test),
the model card's `labelling_policy` (`LABELLING_POLICY`) and the generator, whose item tags
each case names: the lines of a case's `belongs` tags are labelled with their budget, those of
its `apart` tags with none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PolicyCase:
    """One decided case: the line kinds, the decision, and how `bem synth` emits it."""

    case: str
    decision: str
    knobs: tuple[str, ...]  # the generator knobs that emit it
    belongs: tuple[str, ...] = ()  # item tags labelled with their budget
    apart: tuple[str, ...] = ()  # item tags labelled with no budget


CASES: tuple[PolicyCase, ...] = (
    PolicyCase(
        "a hotel's pre-authorisation hold at check-in and its release",
        "both belong to the stay, like a cancelled booking's charge and its credit",
        ("preauth",),
        belongs=("preauth_hold", "preauth_release"),
    ),
    PolicyCase(
        "a cabin upgrade bought at the gate or after booking",
        "belongs (it changes the booked fare); seat selection and priority boarding do not",
        ("cabin_upgrade", "seat_fee"),
        belongs=("cabin_upgrade",),
        apart=("seat_fee",),
    ),
    PolicyCase(
        "an optional rail seat reservation bought separately",
        "does not belong (a seat fee)",
        ("rail_seat",),
        apart=("rail_seat",),
    ),
    PolicyCase(
        "a booking fee inside the ticket's own charge",
        "belongs (it is part of the charge); the same fee as a separate line does not",
        ("booking_fee",),
        belongs=("ticket_with_fee",),
        apart=("booking_fee_line",),
    ),
    PolicyCase(
        "a car rental's toll-programme or fuel-service charge posted later",
        "does not belong (an incidental); the rental company's later adjustment of the rental"
        " charge itself does",
        ("car_extra", "car_adjust"),
        belongs=("car_adjustment",),
        apart=("car_toll_programme", "car_fuel_service"),
    ),
    PolicyCase(
        "a folio paid as one total that includes incidentals",
        "belongs (only itemised incidental lines are excluded)",
        ("folio_total",),
        belongs=("folio_total",),
    ),
    PolicyCase(
        "a no-show night or a late-cancellation night",
        "belongs to the booking it penalises",
        ("no_show",),
        belongs=("no_show_night",),
    ),
    PolicyCase(
        "a non-refundable ticket cancelled and rebooked with the airline's credit",
        "the original charge stays with the cancelled budget; the new budget gets only the"
        " residual the traveller paid",
        ("credit_rebook",),
        belongs=("credited_ticket", "credit_residual"),
    ),
    PolicyCase(
        "an extended stay booked as two reservations",
        "each reservation's folio belongs to its own budget",
        ("split_stay",),
    ),
    PolicyCase(
        "identical charges of a colleague's ticket on the same day",
        "do not belong; no matcher can tell identical twins apart from these fields (add a"
        " ticket or record number to tell them apart)",
        ("colleague",),
        apart=("colleague_ticket",),
    ),
)

BUDGET = "one booking made in the travel tool; its expense is what pays for that booking"
BELONGS = (
    "the ticket, or one charge per leg",
    "a fare-change fee and the fare difference, alone or as one combined line, and a residual"
    " credit",
    "room-night, room-tax, occupancy- and city-tax lines of an itemised folio, mandatory resort"
    " fees",
    "the rental charge",
    "a cancelled booking's charge and its credit, also when the credit is less a fee",
    "an agency's charge for the booking itself",
)
DOES_NOT_BELONG = (
    "folio incidentals (restaurant, minibar, room service, laundry, parking, internet)",
    "an agency's separate service-fee line",
    "a bank's foreign-transaction-fee line",
    "baggage and seat fees (a better seat in the same cabin is a seat fee)",
    "a colleague's ticket paid on this card",
    "charges of trips booked outside the tool",
)
TWINS = (
    "a colleague's ticket at the same fare, on the same day, from the same airline or agency"
    " has the same amount, date, vendor and type as the traveller's own: no matcher can tell"
    " the two apart from these fields: whichever the model scores higher or a decision keeps,"
    " nothing says it is the traveller's own; a team that needs them told apart adds the"
    " ticket number or the booking's record locator to both records"
)
DECISIONS = "each line item to at most one budget"

LABELLING_POLICY: dict[str, Any] = {
    "budget": BUDGET,
    "belongs": list(BELONGS),
    "does_not_belong": list(DOES_NOT_BELONG),
    "cases": [{"case": c.case, "decision": c.decision} for c in CASES],
    "identical_twins": TWINS,
    "decisions": DECISIONS,
}


# Every item tag `bem synth` emits, by what the policy says of it (the tags of unbudgeted trips,
# "unbudgeted_<tag>", never belong: nothing was booked in the tool).
BELONGING_TAGS = frozenset(
    {"flight", "hotel", "car", "rail", "refund", "cancelled_charge", "cancel_credit"}
    | {f"{kind}_split" for kind in ("flight", "hotel", "car", "rail")}
    | {"folio_room", "folio_tax", "city_tax", "resort_fee"}
    | {"change_fee", "fare_diff", "change_combined", "fare_credit"}
    | {tag for case in CASES for tag in case.belongs}
)
APART_TAGS = frozenset(
    {"folio_incidental", "agency_fee", "fx_fee", "companion", "bag_fee"}
    | {f"trip_{kind}" for kind in ("meal", "taxi", "parking", "airline_fee", "wifi", "fuel")}
    | {"trip_toll"}
    | {f"everyday_{kind}" for kind in ("other", "meal", "taxi", "parking", "fuel")}
    | {tag for case in CASES for tag in case.apart}
)


def tag_belongs(tag: str) -> bool:
    """Whether an item of generator tag `tag` belongs to a budget (KeyError: an unknown tag)."""
    if tag.startswith("unbudgeted_"):
        tag_belongs(tag.removeprefix("unbudgeted_"))  # known, still
        return False
    if tag in BELONGING_TAGS:
        return True
    if tag in APART_TAGS:
        return False
    raise KeyError(f"tag {tag!r} is not in the labelling policy's tags")


def decision_table() -> str:
    """The decided cases as the Markdown table of docs/contract.md."""
    lines = ["| case | decision |", "|---|---|"]
    lines += [f"| {c.case} | {c.decision} |" for c in CASES]
    return "\n".join(lines) + "\n"
