"""One traveller's feed as it is built: the travel tool's budgets, the card and expense lines,
and the truth about each line (the budget it pays for, its behaviour, its relatives)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from feedgen.vocab import CATEGORIES, USD_PER_UNIT, typo


@dataclass(frozen=True)
class Noise:
    """The `--noise` multiplier: scales posting delays, amount perturbations, FX drift, typo,
    mistype and missing-field rates (behaviours' shares stay as they are)."""

    scale: float = 1.0

    def days(self, rng: random.Random, low: float, high: float) -> int:
        return round(rng.uniform(low, high) * self.scale)

    def chance(self, rng: random.Random, share: float) -> bool:
        return rng.random() < min(0.95, share * self.scale)

    def jitter(self, rng: random.Random, sd: float) -> float:
        return 1.0 + rng.gauss(0.0, sd * self.scale)


@dataclass
class Budget:
    budget_id: str
    kind: str  # flight, hotel, car, rail
    vendor: str
    purchase_vendor: str | None
    start: datetime
    end: datetime
    created: datetime
    budgeted: float
    actual: float | None
    behaviour: str
    modifiers: set[str] = field(default_factory=set)


@dataclass
class Line:
    item_id: str
    amount: float
    day: date
    vendor: str | None
    type_item: str | None
    type_expense: str | None
    category_item: str | None
    category_expense: str | None
    behaviour: str
    owner: str | None  # the budget it pays for (the label); None: no budget's
    relates_to: str | None  # the budget it was made beside (a colleague's twin, an incidental…)
    modifiers: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Expense:
    vendor: str | None
    type_name: str
    category: str | None
    mistyped: bool
    slips: set[str]


@dataclass
class Feed:
    """A traveller under construction: ids, the company's type names, the card's currency."""

    user_id: str
    rng: random.Random
    noise: Noise
    types: dict[str, str]
    currency: str
    fx_fee_card: bool
    id_base: int
    budgets: list[Budget] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    def _next_budget_id(self) -> str:
        return str(300000 + self.id_base * 1000 + len(self.budgets) + 1)

    def budget(
        self,
        kind: str,
        vendor: str,
        purchase: str | None,
        start: datetime,
        end: datetime,
        created: datetime,
        budgeted: float,
        actual: float | None,
        behaviour: str,
        modifiers: set[str],
        in_tool: bool = True,
    ) -> Budget:
        """A booking; in the tool's budgets only when booked in the tool."""
        rng = self.rng
        if purchase is not None and self.noise.chance(rng, 0.06):
            purchase = None
        if actual is not None and self.noise.chance(rng, 0.10):
            actual = None
        if self.noise.chance(rng, 0.02):
            vendor = typo(rng, vendor)
        created_at = created.replace(microsecond=0)
        budget_id = self._next_budget_id() if in_tool else f"offtool-{len(self.lines)}"
        made = Budget(
            budget_id,
            kind,
            vendor,
            purchase,
            start,
            end,
            created_at,
            round(budgeted, 2),
            None if actual is None else round(actual, 2),
            behaviour,
            set(modifiers),
        )
        if in_tool:
            self.budgets.append(made)
        return made

    def expense(self, vendor: str | None, role: str) -> Expense:
        """One card transaction as the traveller files it: the vendor after the feed's and the
        traveller's slips (a typo, a lost name), the expense's type (sometimes a wrong one) and
        category (sometimes missing). Itemisations of one transaction share it."""
        rng, noise = self.rng, self.noise
        slips: set[str] = set()
        if vendor is not None and noise.chance(rng, 0.05):
            vendor = typo(rng, vendor)
            slips.add("typo")
        if noise.chance(rng, 0.01):
            vendor = None
        wrong = None
        if noise.chance(rng, 0.03):
            wrong = rng.choice(("other", "meal", "taxi", "air", "hotel", "fee"))
            slips.add("mistype")
        type_role = wrong or role
        category = None if noise.chance(rng, 0.04) else CATEGORIES[type_role]
        return Expense(vendor, self.types[type_role], category, wrong is not None, slips)

    def line(
        self,
        amount: float,
        day: date,
        vendor: str | None,
        role: str,
        behaviour: str,
        owner: Budget | None,
        relates_to: Budget | None = None,
        modifiers: set[str] | None = None,
        item_role: str | None = None,
        item_type: str | None = None,
        expense: Expense | None = None,
    ) -> Line:
        """A line item: `role` names the expense's type, `item_role`/`item_type` the
        itemisation's (a folio's night, which shares `expense` with the folio's other lines).
        The owner's label holds only for a budget of the tool: a line paying for a booking made
        outside it belongs to no budget."""
        rng = self.rng
        mods = set(modifiers or ())
        in_tool = owner is not None and not owner.budget_id.startswith("offtool")
        if owner is not None and not in_tool:
            behaviour = f"off_tool_{behaviour}"
            mods.add("off_tool")
        if owner is not None:
            mods |= owner.modifiers
        elif relates_to is not None:
            mods |= relates_to.modifiers & {"commuter", "lookalike", "foreign"}
        itemised = item_role is not None or item_type is not None
        filed = expense or self.expense(vendor, role)
        mods |= filed.slips
        type_item = item_type or self.types[item_role or role]
        category_item: str | None = CATEGORIES[item_role or role]
        if not itemised:
            type_item, category_item = filed.type_name, filed.category
        elif self.noise.chance(rng, 0.01):
            wrong = rng.choice(("other", "meal", "fee"))
            type_item, category_item = self.types[wrong], CATEGORIES[wrong]
            mods.add("mistype")
        if category_item is not None and self.noise.chance(rng, 0.04):
            category_item = None
        made = Line(
            item_id=str(4600000 + self.id_base * 10000 + len(self.lines) + 1),
            amount=round(amount, 2),
            day=day,
            vendor=filed.vendor,
            type_item=type_item,
            type_expense=filed.type_name,
            category_item=category_item,
            category_expense=filed.category,
            behaviour=behaviour,
            owner=owner.budget_id if in_tool and owner is not None else None,
            relates_to=_tool_id(relates_to or owner),
            modifiers=mods,
        )
        self.lines.append(made)
        return made

    def to_card(self, amount: float, currency: str, drift_sd: float = 0.0) -> float:
        """An amount in `currency` as the card's currency, at a rate drifting by `drift_sd`
        (scaled by the noise) from the reference."""
        if currency == self.currency:
            return amount
        rate = USD_PER_UNIT[currency] / USD_PER_UNIT[self.currency]
        if drift_sd:
            rate *= self.noise.jitter(self.rng, drift_sd)
        return amount * rate


def _tool_id(budget: Budget | None) -> str | None:
    """A budget's id when the tool holds it."""
    if budget is None or budget.budget_id.startswith("offtool"):
        return None
    return budget.budget_id


def at(day: date, hour: float, utc_offset: int) -> datetime:
    """A local time on `day` as naive UTC."""
    local = datetime(day.year, day.month, day.day) + timedelta(hours=hour)
    return local - timedelta(hours=utc_offset)
