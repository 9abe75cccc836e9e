"""One synthetic user's trips: budgets, the charges that pay for them, and everything else."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

from bem.synth import charges, hotel, paying, tickets, vocab
from bem.synth.draws import (
    Booking,
    Record,
    Trip,
    UserProfile,
    day_stamp,
    lognormal,
    money,
    poisson,
    stamp,
)
from bem.synth.knobs import NoiseKnobs
from budget_matcher import contract


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
        # id -> the knobs that shaped the record (the evaluation's per-knob breakdown)
        self.item_knobs: dict[str, set[str]] = {}
        self.budget_knobs: dict[str, set[str]] = {}
        self.scope: set[str] = set()  # knobs of the trip/booking being built
        self.commute: charges.Commute | None = None  # the commute being built, if any
        self.last_vendor: dict[str, int] = {}  # budget type -> the latest booking's vendor
        self.same_vendor: dict[str, int] = {}  # budget type -> the vendor to book again

    # ids, records ---------------------------------------------------------------------------
    def _next_id(self, kind: str) -> str:
        self.counters[kind] += 1 + self.rng.randrange(3)
        return str(self.counters[kind])

    def chance(self, share: float) -> bool:
        """True with probability `share`; no draw at all when it is 0 (a knob that is off
        leaves every other draw, hence the rest of the output, as it was)."""
        return share > 0 and self.rng.random() < share

    def _blank(self, record: Record, keep: str, knobs: set[str]) -> Record:
        """Null each field but `keep` with probability `knobs.missing`, each optional field
        with `knobs.sparse` more; then write dates and amounts in another format maybe."""
        for key in record:
            if key != keep and self.rng.random() < self.knobs.missing:
                record[key] = None
            elif key in charges.OPTIONAL_FIELDS and self.rng.random() < self.knobs.sparse:
                record[key] = None
                knobs.add("sparse")
        if self.rng.random() < self.knobs.formats:
            charges.reformat(self.rng, record)
            knobs.add("formats")
        return record

    def kind_names(self, kind: str) -> tuple[str, str]:
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
        knobs: tuple[str, ...] = (),
    ) -> str:
        """One line item (its id); `budget_id` marks it as a match of that budget."""
        rng, shaped = self.rng, self.scope | set(knobs)
        if budget_id is not None and rng.random() < self.knobs.mistype:
            expense_names, shaped = rng.choice(vocab.MISTYPED_KINDS), shaped | {"mistype"}
        # One posting delay at most: a folio already posted late is not posted later again.
        late = rng.random() < self.knobs.late_posting and "folio_delay" not in shaped
        commute_charge = self.commute is not None and kind in charges.COMMUTE_KINDS
        if late:
            day, shaped = day + timedelta(days=rng.randint(4, 12)), shaped | {"late_posting"}
        elif commute_charge and self.chance(self.knobs.commute_shift):  # into next week's dates
            day, shaped = day + timedelta(days=rng.randint(5, 9)), shaped | {"commute_shift"}
        expense_type, expense_category = expense_names or self.kind_names(kind)
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
        self.items.append(self._blank(record, contract.ITEM_ID, shaped))
        self.tags[item_id] = tag or kind
        self.item_knobs[item_id] = shaped
        if budget_id is not None:
            self.matches.add((budget_id, item_id))
        return item_id

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
        trips = profile.trips
        if rng.random() < self.knobs.commuter:
            day = charges.build_commute(self, day)
            trips = trips // 2
        for index in range(trips):
            lookalike = index > 0 and self.chance(self.knobs.lookalike)
            day += timedelta(days=rng.randint(3, 28) if lookalike else rng.randint(3, 45))
            nights = rng.choices(range(0, 8), [1, 4, 5, 5, 3, 2, 1, 1])[0]
            if lookalike:  # the same chain or airline again, elsewhere, within weeks
                self.same_vendor, outer = dict(self.last_vendor), set(self.scope)
                self.scope.add("lookalike")
            self.build_trip(day, nights, budgeted=True)
            if lookalike:
                self.same_vendor, self.scope = {}, outer
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
        foreign = rng.random() < knobs.foreign and self.commute is None
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
        ahead = rng.uniform(3, 14) if self.commute is not None else rng.uniform(2, 45)
        booked = start_utc - timedelta(days=ahead, hours=rng.uniform(0, 12))
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
        if self.commute is not None:
            types = [t for t in self.commute.types if t != "hotel" or nights]
        trip = Trip(start_utc, end_utc, booked, nights, dest_tz, currency, foreign)
        budgets_before, items_before = len(self.budgets), len(self.items)
        outer = set(self.scope)
        if foreign:
            self.scope.add("foreign")
        for budget_type in types:
            self.build_budget(budget_type, trip)
        charges.add_trip_spending(self, trip, types)
        self.scope = outer
        if not budgeted:
            unbudgeted = {b[contract.BUDGET_ID] for b in self.budgets[budgets_before:]}
            self.matches = {m for m in self.matches if m[0] not in unbudgeted}
            del self.budgets[budgets_before:]
            knob = "commute_unbooked" if self.commute is not None else "unbudgeted_trip"
            for item in self.items[items_before:]:
                item_id = str(item[contract.ITEM_ID])
                self.tags[item_id] = "unbudgeted_" + self.tags[item_id]
                self.item_knobs[item_id].add(knob)

    def build_budget(self, budget_type: str, trip: Trip, price: float | None = None) -> None:
        """A budget of `budget_type` and the charges that pay for it (`price`: the booked cost
        of a rebooking or a commute, varied by ±10 %)."""
        rng, knobs = self.rng, self.knobs
        if budget_type == "hotel" and hotel.splits(self, trip, price):
            hotel.build_split_stay(self, trip)
            return
        booking = self.new_budget(budget_type, trip, price)
        budget_id, stems, agency = booking.budget_id, booking.stems, booking.agency
        cost, tax, shaped = booking.cost, booking.tax, booking.shaped
        if rng.random() < knobs.unmatched_budget:
            shaped.add("unmatched_budget")
            return
        outer = set(self.scope)
        self.scope = shaped
        if rng.random() < knobs.cancel:
            shaped.add("cancel")
            vendor = self.vendor_for(budget_type, stems, agency)
            charges.add_cancellation(self, budget_type, budget_id, vendor, cost * (1 + tax), trip)
            self.scope = outer
            if rng.random() < knobs.rebook:
                self.scope = outer | {"rebook"}
                self.build_budget(budget_type, charges.rebooked(rng, trip), cost)
                self.scope = outer
            return
        if budget_type == "hotel" and self.chance(knobs.no_show):
            shaped.add("no_show")
            hotel.add_no_show(self, booking, trip)
        elif budget_type == "flight" and price is None and self.chance(knobs.credit_rebook):
            shaped.add("credit_rebook")
            tickets.add_credit_rebook(self, booking, trip, outer)
        else:
            if rng.random() < knobs.upgrade:
                shaped.add("upgrade")
                booking.cost = cost * rng.uniform(1.2, 1.4)
            paying.add_charges(self, booking, trip)
        self.scope = outer

    def new_budget(self, budget_type: str, trip: Trip, price: float | None = None) -> Booking:
        """A budget record of `budget_type` for `trip` (no charges yet)."""
        rng, knobs = self.rng, self.knobs
        vendors = vocab.TRAVEL_VENDORS[budget_type]
        index = self.profile.loyal[budget_type]
        if rng.random() < 0.3 and self.commute is None:
            index = rng.randrange(len(vendors))
        index = self.same_vendor.get(budget_type, index)
        self.last_vendor[budget_type] = index
        if self.commute is not None and price is None:
            price = self.commute.prices.get(budget_type)
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
        if price is not None:
            cost = price * rng.uniform(0.9, 1.1)
        commute = self.commute
        if commute is not None and commute.same_fare and budget_type in commute.prices:
            cost = commute.prices[budget_type]  # the negotiated fare or rate, every week
            tax = commute.taxes.get(budget_type, tax)
        cost = round(cost, 2)
        estimate = cost * (1 + tax) * math.exp(rng.gauss(0.05, 0.15))
        lead_days = rng.choice([rng.uniform(0, 3), rng.uniform(0, 3), rng.uniform(3, 30)])
        generated = trip.booked - timedelta(days=lead_days)
        # Generated from the booked itinerary (always for a commute, booked in the tool, and
        # for a rebooking, which exists only once the first booking is cancelled).
        rebooking = bool(self.scope & {"rebook", "credit_rebook"})
        if rng.random() < 0.3 or self.commute is not None or rebooking:
            generated = trip.booked + timedelta(minutes=rng.uniform(1, 600))
        shaped = set(self.scope) | ({"agency"} if agency else set())
        actual = None if rng.random() < 0.12 else cost * (1 + tax if rng.random() < 0.4 else 1)
        if actual is not None and rng.random() < knobs.no_actual:
            actual = None
            shaped.add("no_actual")
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
        self.budgets.append(self._blank(record, contract.BUDGET_ID, shaped))
        self.budget_knobs[budget_id] = shaped
        return Booking(budget_id, budget_type, stems, agency, cost, tax, shaped)

    def brand_stem(self, stems: list[str]) -> str:
        """A brand's card-feed stem: its usual one mostly, codes and variants sometimes."""
        return stems[0] if self.rng.random() < 0.6 else self.rng.choice(stems)

    def vendor_for(self, budget_type: str, stems: list[str], agency: str | None) -> str:
        """How the card feed names the merchant of a charge.

        A ticket bought through an agency is mostly settled by the carrier (the carrier is the
        merchant); a prepaid hotel or car through an agency shows the agency.
        """
        rng, k = self.rng, self.knobs
        ticket = budget_type in ("flight", "rail")
        if agency is not None and (not ticket or rng.random() < max(0.15, k.agency_merchant)):
            stem = vocab.AGENCY_CARD[agency]
            if rng.random() < 0.5:
                stem += "*" + self.brand_stem(stems)
            return vocab.card_spelling(rng, stem, self.knobs.vendor)
        if rng.random() < 0.15:
            return vocab.tool_spelling(rng, self.brand_stem(stems).title(), self.knobs.vendor)
        return vocab.card_spelling(rng, self.brand_stem(stems), self.knobs.vendor)

    def converted(self, amount: float, trip: Trip, abroad: bool) -> float:
        """The charge in the report currency: FX drift, foreign fees, or a currency slip."""
        rng = self.rng
        drift = math.exp(rng.gauss(0.0, self.knobs.amount)) if rng.random() < 0.5 else 1.0
        if trip.foreign and abroad:
            if rng.random() < self.knobs.currency_slip:
                return amount * trip.currency[1]
            drift *= 1.03 if rng.random() < 0.3 else math.exp(rng.gauss(0.0, 0.02))
            spread = self.knobs.fx_spread
            drift *= rng.uniform(1 - spread, 1 + spread) if spread > 0 else 1.0
        return amount * drift
