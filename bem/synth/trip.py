"""One synthetic user's trips: budgets, the charges that pay for them, and everything else."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bem.synth import vocab
from bem.synth.draws import UserProfile, day_stamp, lognormal, money, poisson, stamp
from bem.synth.knobs import NoiseKnobs
from budget_matcher import contract

Record = dict[str, str | None]


class TripBuilder:
    """Builds one user's budgets and line items, and records which pairs match."""

    def __init__(
        self, rng: random.Random, knobs: NoiseKnobs, profile: UserProfile, counters: dict[str, int]
    ) -> None:
        self.rng, self.knobs, self.profile, self.counters = rng, knobs, profile, counters
        self.budgets: list[Record] = []
        self.items: list[Record] = []
        self.matches: set[tuple[str, str]] = set()
        self.tags: dict[str, str] = {}  # item id -> what the item is (for error analysis)

    # ids, records ---------------------------------------------------------------------------
    def _next_id(self, kind: str) -> str:
        self.counters[kind] += 1 + self.rng.randrange(3)
        return str(self.counters[kind])

    def _blank(self, record: Record, keep: str) -> Record:
        """Null each field but `keep` with probability `knobs.missing`."""
        for key in record:
            if key != keep and self.rng.random() < self.knobs.missing:
                record[key] = None
        return record

    def _kind_names(self, kind: str) -> tuple[str, str]:
        rng = self.rng
        if rng.random() < self.knobs.vague_type:
            return rng.choice(vocab.VAGUE_KINDS)
        if rng.random() < 0.85:
            return self.profile.company_kinds[kind]
        return rng.choice(vocab.EXPENSE_KINDS[kind])

    def add_item(
        self,
        kind: str,
        vendor: str,
        amount: float,
        day: date,
        budget_id: str | None = None,
        item_names: tuple[str, str] | None = None,
        expense_names: tuple[str, str] | None = None,
        tag: str = "",
    ) -> None:
        """One line item; `budget_id` marks it as a match of that budget."""
        expense_type, expense_category = expense_names or self._kind_names(kind)
        item_type, item_category = item_names or (expense_type, expense_category)
        item_id = self._next_id("item")
        record: Record = {
            contract.ITEM_ID: item_id,
            contract.ITEM_AMOUNT: money(amount),
            contract.ITEM_TYPE_NAME: item_type,
            contract.ITEM_CATEGORY: item_category,
            contract.ITEM_DATE: day_stamp(day),
            contract.ITEM_VENDOR: vendor,
            contract.EXPENSE_TYPE_NAME: expense_type,
            contract.EXPENSE_CATEGORY: expense_category,
        }
        self.items.append(self._blank(record, contract.ITEM_ID))
        self.tags[item_id] = tag or kind
        if budget_id is not None:
            self.matches.add((budget_id, item_id))

    def local_day(self, moment_utc: datetime, tz: float) -> date:
        """The local date of a UTC moment, plus a posting delay of 0..date_delay days."""
        delay = self.rng.randint(0, round(self.knobs.date_delay))
        return (moment_utc + timedelta(hours=tz) + timedelta(days=delay)).date()

    def spell(self, stems: list[str]) -> str:
        """A card-feed spelling of one of `stems`."""
        return vocab.card_spelling(self.rng, self.rng.choice(stems), self.knobs.vendor)

    # the user ------------------------------------------------------------------------------
    def build_user(self) -> None:
        """All trips, an unbudgeted trip maybe, and the everyday items around them."""
        rng, profile = self.rng, self.profile
        day = profile.period_start
        for _ in range(profile.trips):
            day += timedelta(days=rng.randint(3, 45))
            nights = rng.choices(range(0, 8), [1, 4, 5, 5, 3, 2, 1, 1])[0]
            self.build_trip(day, nights, budgeted=True)
            day += timedelta(days=nights)
        if rng.random() < self.knobs.unbudgeted_trip:  # a separate trip nobody budgeted
            day += timedelta(days=rng.randint(3, 40))
            nights = rng.randint(1, 4)
            self.build_trip(day, nights, budgeted=False)
            day += timedelta(days=nights)
        span = (day - profile.period_start).days + 30
        for _ in range(max(1, poisson(rng, 0.06 * span * self.knobs.distractors))):
            kind = rng.choice(["other", "other", "meal", "taxi", "parking", "fuel"])
            when = profile.period_start + timedelta(days=rng.randrange(span))
            amount = lognormal(rng, 35.0 if kind != "other" else 60.0, 0.9)
            self.add_item(
                kind,
                self.spell(vocab.DISTRACTOR_VENDORS[kind]),
                amount,
                when,
                tag=f"everyday_{kind}",
            )
        rng.shuffle(self.items)
        rng.shuffle(self.budgets)

    def build_trip(self, start_day: date, nights: int, budgeted: bool) -> None:
        """One trip's budgets, their charges, and the trip's incidental spending."""
        rng, knobs, profile = self.rng, self.knobs, self.profile
        foreign = rng.random() < knobs.foreign
        dest_tz = rng.choice([tz for tz, _ in vocab.TIMEZONES]) if foreign else profile.home_tz
        currency = rng.choice(vocab.CURRENCIES) if foreign else ("USD", 1.0)
        depart_hour = 0 if profile.midnight_trips else rng.randint(6, 20)
        start_utc = datetime.combine(start_day, datetime.min.time()) + timedelta(
            hours=depart_hour - profile.home_tz
        )
        end_hour = 0 if profile.midnight_trips else rng.randint(8, 22)
        end_utc = datetime.combine(
            start_day + timedelta(days=max(nights, 1)), datetime.min.time()
        ) + timedelta(hours=end_hour - dest_tz)
        booked = start_utc - timedelta(days=rng.uniform(2, 45), hours=rng.uniform(0, 12))
        types = [
            t
            for t, p in (
                ("flight", 0.95 if foreign else 0.8),
                ("rail", 0.35 if foreign else 0.15),
                ("hotel", 0.9 if nights else 0.0),
                ("car", 0.15 if foreign else 0.35),
            )
            if rng.random() < p
        ]
        if not types:
            types = [rng.choice(["flight", "car", "rail"])]
        trip = _Trip(start_utc, end_utc, booked, nights, dest_tz, currency, foreign)
        budgets_before, items_before = len(self.budgets), len(self.items)
        for budget_type in types:
            self.build_budget(budget_type, trip)
        self.add_trip_spending(trip, types)
        if not budgeted:
            unbudgeted = {b[contract.BUDGET_ID] for b in self.budgets[budgets_before:]}
            self.matches = {m for m in self.matches if m[0] not in unbudgeted}
            del self.budgets[budgets_before:]
            for item in self.items[items_before:]:
                item_id = str(item[contract.ITEM_ID])
                self.tags[item_id] = "unbudgeted_" + self.tags[item_id]

    def build_budget(self, budget_type: str, trip: _Trip) -> None:
        """A budget of `budget_type` and the charges that pay for it."""
        rng, knobs = self.rng, self.knobs
        vendors = vocab.TRAVEL_VENDORS[budget_type]
        index = self.profile.loyal[budget_type]
        if rng.random() < 0.3:
            index = rng.randrange(len(vendors))
        brand, stems, parents = vendors[index]
        if budget_type == "flight":
            trip.airline_stems = stems
        agency = rng.choice(vocab.AGENCIES) if rng.random() < knobs.agency else None
        units = max(trip.nights, 1)
        tax = 0.0
        if budget_type == "flight":
            median = 280.0 * (2.5 if trip.foreign else 1.0)
            cost = min(max(lognormal(rng, median, 0.5), 59.0), 4000.0)
        elif budget_type == "hotel":
            cost, tax = round(lognormal(rng, 170.0, 0.35), 2) * units, rng.uniform(0.08, 0.18)
        elif budget_type == "car":
            cost, tax = round(lognormal(rng, 55.0, 0.3), 2) * units, rng.uniform(0.12, 0.35)
        else:
            cost = min(max(lognormal(rng, 90.0, 0.6), 15.0), 900.0)
        cost = round(cost, 2)
        estimate = cost * (1 + tax) * math.exp(rng.gauss(0.05, 0.15))
        lead_days = rng.choice([rng.uniform(0, 3), rng.uniform(0, 3), rng.uniform(3, 30)])
        generated = trip.booked - timedelta(days=lead_days)
        if rng.random() < 0.3:  # budget generated from the booked itinerary
            generated = trip.booked + timedelta(minutes=rng.uniform(1, 600))
        actual = None if rng.random() < 0.12 else cost * (1 + tax if rng.random() < 0.4 else 1)
        budget_id = self._next_id("budget")
        purchase = agency or (rng.choice(parents) if rng.random() < 0.2 else brand)
        record: Record = {
            contract.BUDGET_ID: budget_id,
            contract.BUDGET_TYPE: budget_type if rng.random() > 0.05 else budget_type.title(),
            contract.BUDGET_PRICE: money(round(estimate, 0 if rng.random() < 0.5 else 2)),
            contract.BUDGET_ACTUAL_COST: None if actual is None else money(actual),
            contract.BUDGET_TRAVEL_VENDOR: vocab.tool_spelling(rng, brand, knobs.vendor),
            contract.BUDGET_PURCHASE_VENDOR: vocab.tool_spelling(rng, purchase, knobs.vendor),
            contract.BUDGET_TRIP_START: stamp(trip.start_utc),
            contract.BUDGET_TRIP_END: stamp(trip.end_utc),
            contract.BUDGET_GENERATED_AT: stamp(generated),
        }
        self.budgets.append(self._blank(record, contract.BUDGET_ID))
        if rng.random() < knobs.unmatched_budget:
            return
        self.add_charges(budget_type, budget_id, stems, agency, cost, tax, trip)

    def brand_stem(self, stems: list[str]) -> str:
        """A brand's card-feed stem: its usual one mostly, codes and variants sometimes."""
        return stems[0] if self.rng.random() < 0.6 else self.rng.choice(stems)

    def vendor_for(self, budget_type: str, stems: list[str], agency: str | None) -> str:
        """How the card feed names the merchant of a charge.

        A ticket bought through an agency is mostly settled by the carrier (the carrier is the
        merchant); a prepaid hotel or car through an agency shows the agency.
        """
        rng = self.rng
        ticket = budget_type in ("flight", "rail")
        if agency is not None and (not ticket or rng.random() < 0.15):
            stem = vocab.AGENCY_CARD[agency]
            if rng.random() < 0.5:
                stem += "*" + self.brand_stem(stems)
            return vocab.card_spelling(rng, stem, self.knobs.vendor)
        if rng.random() < 0.15:
            return vocab.tool_spelling(rng, self.brand_stem(stems).title(), self.knobs.vendor)
        return vocab.card_spelling(rng, self.brand_stem(stems), self.knobs.vendor)

    def converted(self, amount: float, trip: _Trip, abroad: bool) -> float:
        """The charge in the report currency: FX drift, foreign fees, or a currency slip."""
        rng = self.rng
        drift = math.exp(rng.gauss(0.0, self.knobs.amount)) if rng.random() < 0.5 else 1.0
        if trip.foreign and abroad:
            if rng.random() < self.knobs.currency_slip:
                return amount * trip.currency[1]
            drift *= 1.03 if rng.random() < 0.3 else math.exp(rng.gauss(0.0, 0.02))
        return amount * drift

    def add_charges(
        self,
        budget_type: str,
        budget_id: str,
        stems: list[str],
        agency: str | None,
        cost: float,
        tax: float,
        trip: _Trip,
    ) -> None:
        """The matching charges of one budget (label 1) and a look-alike (label 0)."""
        rng, knobs = self.rng, self.knobs
        at_booking = budget_type in ("flight", "rail") or rng.random() < knobs.prepaid
        when = trip.booked if at_booking else trip.end_utc
        if budget_type in ("flight", "rail") and rng.random() < knobs.late_charge:
            when = trip.start_utc  # posted at departure (lodged card, pay-at-station)
        tz = self.profile.home_tz if at_booking else trip.dest_tz
        total = self.converted(cost * (1 + tax), trip, abroad=not at_booking or trip.foreign)
        vendor = self.vendor_for(budget_type, stems, agency if at_booking else None)
        kind_names = self._kind_names(budget_type)
        if agency is not None and at_booking and rng.random() < 0.7:
            self.add_item(
                "agency_fee",
                vocab.card_spelling(rng, vocab.AGENCY_CARD[agency], knobs.vendor),
                rng.uniform(5, 40),
                self.local_day(trip.booked, tz),
            )
        if budget_type == "hotel" and not at_booking and rng.random() < knobs.itemize:
            self.add_folio(budget_id, vendor, kind_names, total, tax, trip)
        elif rng.random() < knobs.split:
            share = rng.uniform(0.35, 0.65)
            for part in (share, 1 - share):
                self.add_item(
                    budget_type,
                    vendor,
                    total * part,
                    self.local_day(when, tz),
                    budget_id,
                    expense_names=kind_names,
                    tag=f"{budget_type}_split",
                )
        else:
            extra = rng.uniform(5, 60) if rng.random() < 0.15 else 0.0
            self.add_item(
                budget_type,
                vendor,
                total + extra,
                self.local_day(when, tz),
                budget_id,
                expense_names=kind_names,
                tag=budget_type,
            )
        if rng.random() < knobs.refund:
            refund_at = when + timedelta(days=rng.uniform(1, 20))
            self.add_item(
                budget_type,
                vendor,
                -total * rng.uniform(0.1, 1.0),
                self.local_day(refund_at, tz),
                budget_id,
                expense_names=kind_names,
                tag="refund",
            )
        if rng.random() < knobs.companion:
            look_alike = when + timedelta(days=rng.uniform(-2, 2))
            self.add_item(
                budget_type,
                self.vendor_for(budget_type, stems, agency if at_booking else None),
                total * rng.uniform(0.8, 1.2),
                self.local_day(look_alike, tz),
                tag="companion",
            )

    def add_folio(
        self,
        budget_id: str,
        vendor: str,
        kind_names: tuple[str, str],
        total: float,
        tax: float,
        trip: _Trip,
    ) -> None:
        """A hotel folio itemized: nightly room rate, tax and incidentals, all on the stay."""
        rng = self.rng
        nights = max(trip.nights, 1)
        room = total / (1 + tax)
        check_in = trip.start_utc + timedelta(hours=trip.dest_tz)
        room_names = rng.choice(vocab.HOTEL_ROOM_ITEMS)
        for night in range(nights):
            day = (check_in + timedelta(days=night)).date()
            self.add_item(
                "hotel",
                vendor,
                room / nights,
                day,
                budget_id,
                room_names,
                kind_names,
                tag="folio_room",
            )
        tax_day = (check_in + timedelta(days=nights)).date()
        self.add_item(
            "hotel",
            vendor,
            total - room,
            tax_day,
            budget_id,
            rng.choice(vocab.HOTEL_TAX_ITEMS),
            kind_names,
            tag="folio_tax",
        )
        for _ in range(poisson(rng, 1.0 * self.knobs.distractors)):
            day = (check_in + timedelta(days=rng.randrange(nights + 1))).date()
            self.add_item(
                "hotel",
                vendor,
                lognormal(rng, 25.0, 0.6),
                day,
                budget_id,
                rng.choice(vocab.HOTEL_INCIDENTALS),
                kind_names,
                tag="folio_incidental",
            )

    def add_trip_spending(self, trip: _Trip, types: list[str]) -> None:
        """Meals, taxis, parking, fuel, tolls, airline fees and wifi during the trip."""
        rng, scale = self.rng, self.knobs.distractors
        days = max(trip.nights, 1) + 1
        first = (trip.start_utc + timedelta(hours=trip.dest_tz)).date()
        plan = [("meal", 1.2 * days, 25.0), ("taxi", 0.7 * days, 30.0)]
        if "flight" in types:
            plan += [("parking", 0.3, 15.0 * days), ("airline_fee", 0.25, 45.0)]
            plan += [("wifi", 0.1, 12.0)]
        if "car" in types:
            plan += [("fuel", 0.6, 45.0), ("toll", 0.2, 8.0)]
        for kind, mean, median in plan:
            for _ in range(poisson(rng, mean * scale)):
                day = first + timedelta(days=rng.randrange(days))
                if kind in ("airline_fee", "wifi"):
                    day = first
                if kind == "airline_fee":
                    stems = trip.airline_stems or rng.choice(vocab.TRAVEL_VENDORS["flight"])[1]
                    stem = self.brand_stem(stems)
                else:
                    stem = rng.choice(vocab.DISTRACTOR_VENDORS[kind])
                vendor = vocab.card_spelling(rng, stem, self.knobs.vendor)
                amount = self.converted(lognormal(rng, median, 0.5), trip, abroad=True)
                self.add_item(kind, vendor, amount, day, tag=f"trip_{kind}")


@dataclass
class _Trip:
    start_utc: datetime
    end_utc: datetime
    booked: datetime
    nights: int
    dest_tz: float
    currency: tuple[str, float]
    foreign: bool
    airline_stems: list[str] | None = None
