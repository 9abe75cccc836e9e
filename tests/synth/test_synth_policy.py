"""The labelling policy as data: docs and card agree with it, and `bem synth` labels each
decided case by it (each case's knobs forced on, its lines found by tag, their labels checked)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from bem.model import train
from bem.synth import policy
from bem.synth.knobs import CARD_FEED_KNOBS, NoiseKnobs, SynthConfig
from bem.synth.users import SynthUser, generate_users
from budget_matcher import contract

ROOT = Path(__file__).resolve().parents[2]
# The budget type a belonging line of each case is labelled with.
OWNER_TYPE = {
    "preauth_hold": "hotel",
    "preauth_release": "hotel",
    "cabin_upgrade": "flight",
    "ticket_with_fee": ("flight", "rail"),
    "car_adjustment": "car",
    "folio_total": "hotel",
    "no_show_night": "hotel",
    "credited_ticket": "flight",
    "credit_residual": "flight",
}


def _users(seed: int, users: int = 120, **knobs: float) -> list[SynthUser]:
    """`users` users with `knobs` set (the rest at their defaults), no per-user noise spread."""
    return _users_with(seed, knobs, users)


def _users_with(seed: int, knobs: dict[str, float], users: int = 120) -> list[SynthUser]:
    config = SynthConfig(users=users, seed=seed, knobs=replace(NoiseKnobs(), **knobs))
    return generate_users(replace(config, noise_spread=0.0))


def _budget_type(user: SynthUser, budget_id: str) -> str:
    budget = next(b for b in user.budgets if b[contract.BUDGET_ID] == budget_id)
    return (budget[contract.BUDGET_TYPE] or "").lower()


def test_policy_table_in_the_docs_is_the_policy() -> None:
    page = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    section = page.split("## What belongs to a budget: the labelling policy", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert "\n".join(rows) + "\n" == policy.decision_table()
    assert len(rows) == 2 + len(policy.CASES) == 12
    assert "ticket number" in section and "record locator" in section  # what tells twins apart


def test_policy_card_writes_the_policy_and_every_case() -> None:
    card = train.LABELLING_POLICY  # what bem/model/train.py writes as the card's policy
    assert card is policy.LABELLING_POLICY
    assert [(c["case"], c["decision"]) for c in card["cases"]] == [
        (c.case, c.decision) for c in policy.CASES
    ]
    assert (
        card["belongs"] and card["does_not_belong"] and "ticket number" in card["identical_twins"]
    )


def test_policy_cases_name_card_feed_knobs_and_distinct_tags() -> None:
    tags = [tag for case in policy.CASES for tag in case.belongs + case.apart]
    assert len(tags) == len(set(tags))
    assert all(knob in CARD_FEED_KNOBS for case in policy.CASES for knob in case.knobs)


TAGGED = [c for c in policy.CASES if c.belongs or c.apart]  # split_stay: its own test below


@pytest.mark.parametrize("case", TAGGED, ids=[c.knobs[0] for c in TAGGED])
def test_synth_labels_each_decided_case_by_the_policy(case: policy.PolicyCase) -> None:
    forced = {**dict.fromkeys(case.knobs, 0.9), "unmatched_budget": 0.0, "missing": 0.0}
    users = _users_with(31, forced)
    seen: Counter[str] = Counter()
    for user in users:
        owner = {item: budget for budget, item in user.matches}
        for item_id, tag in user.tags.items():
            if tag in case.belongs:
                assert item_id in owner, (tag, item_id)
                expected = OWNER_TYPE.get(tag)
                if expected is not None:
                    assert _budget_type(user, owner[item_id]) in expected, tag
            if tag in case.apart:
                assert item_id not in owner, (tag, item_id)
            seen[tag] += 1
    assert all(seen[tag] >= 10 for tag in case.belongs + case.apart), seen


def test_synth_no_line_belongs_to_two_budgets() -> None:
    knobs = NoiseKnobs(**dict.fromkeys(CARD_FEED_KNOBS, 0.5))
    for user in generate_users(SynthConfig(users=80, seed=32, knobs=knobs)):
        owners = Counter(item for _, item in user.matches)
        assert not owners or max(owners.values()) == 1


def test_credit_rebook_original_stays_and_new_budget_gets_only_the_residual() -> None:
    checked = 0
    for user in _users(33, credit_rebook=0.9, unmatched_budget=0.0, cancel=0.0):
        by_budget: dict[str, set[str]] = {}
        for budget, item in user.matches:
            by_budget.setdefault(budget, set()).add(user.tags[item])
        for budget, tags in by_budget.items():
            if "credit_residual" in tags:
                assert tags == {"credit_residual"}  # nothing else is the new budget's
                assert "credit_rebook" in user.budget_knobs[budget]
                checked += 1
            if "credited_ticket" in tags:
                assert tags <= {"credited_ticket", "fare_diff", "change_fee"} or tags == {
                    "credited_ticket"
                }
    assert checked > 20


def test_split_stay_each_reservation_has_its_own_folio() -> None:
    pairs = 0
    for user in _users(34, split_stay=0.9, unmatched_budget=0.0, cancel=0.0, no_show=0.0):
        split = [
            b for b in user.budgets if "split_stay" in user.budget_knobs[str(b[contract.BUDGET_ID])]
        ]
        matched = {budget for budget, _ in user.matches}
        assert len(split) % 2 == 0
        for budget in split:
            assert budget[contract.BUDGET_ID] in matched  # each reservation is paid by its own
        pairs += len(split) // 2
    assert pairs > 20


def test_colleague_tickets_are_identical_twins_often() -> None:
    twins = colleagues = 0
    for user in _users(35, colleague=0.9, missing=0.0, formats=0.0):
        items = {i[contract.ITEM_ID]: i for i in user.items}
        own = {
            (items[i][contract.ITEM_AMOUNT], items[i][contract.ITEM_DATE])
            for _, i in user.matches
            if user.tags[i] in ("flight", "rail", "ticket_with_fee")
        }
        for item_id, tag in user.tags.items():
            if tag == "colleague_ticket":
                colleagues += 1
                item = items[item_id]
                twins += (item[contract.ITEM_AMOUNT], item[contract.ITEM_DATE]) in own
    assert colleagues > 50
    assert 0.2 < twins / colleagues < 0.8  # same fare, same day (else another fare or day)


def test_knob_shares_are_honoured_roughly() -> None:
    """Each extra line per eligible booking comes at about its knob's share."""
    knobs = NoiseKnobs()
    users = _users(36, users=400, missing=0.0, unmatched_budget=0.0, cancel=0.0)
    bookings: Counter[str] = Counter()
    for user in users:
        for budget in user.budgets:
            shaped = user.budget_knobs[str(budget[contract.BUDGET_ID])]
            if not shaped & {"credit_rebook", "split_stay", "no_show"}:
                bookings[(budget[contract.BUDGET_TYPE] or "").lower()] += 1
    lines = Counter(tag for user in users for tag in user.tags.values())
    expected = {
        "seat_fee": knobs.seat_fee * bookings["flight"],
        "bag_fee": knobs.bag_fee * 1.6 * bookings["flight"],  # the return day 60 % of the time
        "cabin_upgrade": knobs.cabin_upgrade * bookings["flight"],
        "rail_seat": knobs.rail_seat * bookings["rail"],
        "colleague_ticket": knobs.colleague * 1.3 * (bookings["flight"] + bookings["rail"]),
        "car_toll_programme": knobs.car_extra * 0.6 * bookings["car"],
        "car_adjustment": knobs.car_adjust * bookings["car"],
    }
    for tag, count in expected.items():
        assert 0.65 * count < lines[tag] < 1.35 * count, (tag, lines[tag], count)


def test_fare_changes_are_typed_as_travellers_type_them() -> None:
    users = _users(37, fare_change=0.9)
    types = Counter(
        item[contract.EXPENSE_TYPE_NAME]
        for user in users
        for item in user.items
        if user.tags[str(item[contract.ITEM_ID])] in ("change_fee", "fare_diff", "change_combined")
    )
    assert {"Airline Fees", "Airfare", "Change fee"} <= set(types)
    tags = Counter(tag for user in users for tag in user.tags.values())
    assert tags["change_combined"] > 20 and tags["fare_credit"] > 5


def test_cancellations_are_credited_about_three_weeks_later() -> None:
    from budget_matcher.values import parse_datetime

    delays = []
    for user in _users(38, cancel=0.5, late_posting=0.0, missing=0.0, formats=0.0):
        items = {i[contract.ITEM_ID]: i for i in user.items}
        dated: dict[str, dict[str, float]] = {}
        for budget, item in user.matches:
            tag = user.tags[item]
            if tag in ("cancelled_charge", "cancel_credit"):
                day = parse_datetime(items[item][contract.ITEM_DATE])
                dated.setdefault(budget, {})[tag] = day
        delays += [
            (d["cancel_credit"] - d["cancelled_charge"]) / 86400
            for d in dated.values()
            if len(d) == 2
        ]
    delays.sort()
    assert len(delays) > 50
    assert 15 <= delays[len(delays) // 2] <= 28


def test_late_folios_post_in_one_batch_days_or_weeks_after_checkout() -> None:
    from budget_matcher.values import parse_datetime

    knobs = {"folio_nightly": 0.9, "folio_delay": 0.9, "late_posting": 0.0, "missing": 0.0}
    delays = []  # (commuters' shifted charges and split stays' two folios left out)
    for user in _users_with(41, {**knobs, "formats": 0.0, "commuter": 0.0, "split_stay": 0.0}):
        items = {i[contract.ITEM_ID]: i for i in user.items}
        ends = {b[contract.BUDGET_ID]: b[contract.BUDGET_TRIP_END] for b in user.budgets}
        posted: dict[str, set[float]] = {}
        for budget, item in user.matches:
            if user.tags[item] == "folio_room" and "folio_delay" in user.item_knobs[item]:
                day = parse_datetime(items[item][contract.ITEM_DATE])
                posted.setdefault(budget, set()).add(day)
        for budget, days in posted.items():
            assert len(days) == 1  # the whole folio on its posting day
            delays.append((days.pop() - parse_datetime(ends[budget])) / 86400)
    assert len(delays) > 60
    # days after the trip's end (a time of day, UTC) of a day counted from check-in: ±1.5 d
    short = sum(d < 7 for d in delays)
    assert all(-2 < d < 26 for d in delays)
    assert 0.3 < short / len(delays) < 0.7  # half into a commuter's next week, half later


def test_nightly_folios_have_a_room_and_a_tax_line_each_night() -> None:
    checked = 0
    for user in _users(39, folio_nightly=0.9, itemize=0.0, folio_delay=0.0, late_posting=0.0):
        items = {i[contract.ITEM_ID]: i for i in user.items}
        per_budget: dict[str, Counter[str]] = {}
        nights: dict[str, set[str | None]] = {}
        for budget, item in user.matches:
            tag = user.tags[item]
            if tag in ("folio_room", "folio_tax") and "folio_nightly" in user.item_knobs[item]:
                per_budget.setdefault(budget, Counter())[tag] += 1
                nights.setdefault(budget, set()).add(items[item][contract.ITEM_DATE])
        for budget, counts in per_budget.items():
            assert counts["folio_room"] == counts["folio_tax"]
            dated = {n for n in nights[budget] if n}
            assert len(dated) >= counts["folio_room"] - 1  # one date a night (a null maybe)
            checked += 1
    assert checked > 30


def test_commute_weeks_outside_the_tool_share_vendors_and_prices() -> None:
    shifted = outside = 0
    for user in _users(40, commuter=0.9, commute_unbooked=0.3, commute_shift=0.5):
        owner = {item for _, item in user.matches}
        for item_id, shaped in user.item_knobs.items():
            if "commute_shift" in shaped and user.tags[item_id] in ("flight", "rail", "hotel"):
                shifted += 1
                assert item_id in owner, item_id  # a week late, still its own week's
            if "commute_unbooked" in shaped:
                outside += 1
                assert item_id not in owner
    assert shifted > 50 and outside > 50


def _repeated_commute_fares(knobs: dict[str, float]) -> tuple[int, int]:
    """Commuter flight budgets whose booked cost another week of the user repeats, of all."""
    repeated = total = 0
    for user in _users_with(42, knobs):
        costs = Counter(
            budget[contract.BUDGET_ACTUAL_COST]
            for budget in user.budgets
            if "commuter" in user.budget_knobs[str(budget[contract.BUDGET_ID])]
            and _budget_type(user, str(budget[contract.BUDGET_ID])) == "flight"
            and budget[contract.BUDGET_ACTUAL_COST] is not None  # paid centrally
        )
        total += sum(costs.values())
        repeated += sum(n for n in costs.values() if n > 1)
    return repeated, total


def test_a_negotiated_commute_fare_repeats_to_the_cent_every_week() -> None:
    exact = {"commuter": 0.9, "missing": 0.0, "no_actual": 0.0, "formats": 0.0}
    repeated, total = _repeated_commute_fares({**exact, "commute_fare": 1.0})
    assert total > 100 and repeated > 0.7 * total
    repeated, total = _repeated_commute_fares({**exact, "commute_fare": 0.0})
    assert total > 100 and repeated < 0.05 * total  # ±10 % a week without it


def test_lookalike_trips_book_the_same_brand_again_within_weeks() -> None:
    from budget_matcher.values import parse_datetime

    found = 0
    for user in _users(41, lookalike=0.9, missing=0.0, formats=0.0, vendor=0.0):
        budgets = sorted(user.budgets, key=lambda b: parse_datetime(b[contract.BUDGET_TRIP_START]))
        for index, budget in enumerate(budgets):
            if "lookalike" not in user.budget_knobs[str(budget[contract.BUDGET_ID])]:
                continue
            start = parse_datetime(budget[contract.BUDGET_TRIP_START])
            earlier = [
                b
                for b in budgets[:index]
                if b[contract.BUDGET_TYPE] == budget[contract.BUDGET_TYPE]
                and start - parse_datetime(b[contract.BUDGET_TRIP_START]) < 60 * 86400
            ]
            vendors = {b[contract.BUDGET_TRAVEL_VENDOR] for b in earlier}
            found += budget[contract.BUDGET_TRAVEL_VENDOR] in vendors
    assert found > 50


def test_policy_decision_table_is_markdown_rows() -> None:
    table = policy.decision_table()
    assert re.fullmatch(r"(\|[^\n]*\|\n)+", table)


def test_every_card_feed_knob_has_a_row_with_its_default_in_the_model_docs() -> None:
    page = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    section = page.split("### Card-feed knobs", 1)[1].split("\n## ", 1)[0]  # other tables too
    rows = dict(re.findall(r"^\| `(\w+)` \| ([0-9.]+) ", section, flags=re.MULTILINE))
    defaults = NoiseKnobs()
    for knob in CARD_FEED_KNOBS:
        assert knob in rows, knob
        assert float(rows[knob]) == getattr(defaults, knob), knob


def test_booking_and_user_knob_shares_are_honoured_roughly() -> None:
    users = _users(42, users=300, no_show=0.3, credit_rebook=0.3, cancel=0.0, missing=0.0)
    hotels = flights = no_shows = credited = 0
    for user in users:
        for budget in user.budgets:
            kind = (budget[contract.BUDGET_TYPE] or "").lower()
            hotels += kind == "hotel"
            flights += kind == "flight"
            no_shows += "no_show" in user.budget_knobs[str(budget[contract.BUDGET_ID])]
        credited += sum(tag == "credited_ticket" for tag in user.tags.values())
    assert 0.22 < no_shows / hotels < 0.38
    assert 0.22 < credited / (flights - credited) < 0.38  # each rebooking is a flight budget too
    commuters = sum(any("commuter" in k for k in u.budget_knobs.values()) for u in users)
    assert 0.08 < commuters / len(users) < 0.22  # commuter: 0.15 per user


def test_every_emitted_line_is_labelled_as_the_policy_says_of_its_tag() -> None:
    knobs = NoiseKnobs(**dict.fromkeys(CARD_FEED_KNOBS, 0.4))
    users = generate_users(SynthConfig(users=150, seed=43, knobs=knobs))
    tags: Counter[str] = Counter()
    for user in users + _users(44, users=60):
        owned = {item for _, item in user.matches}
        for item_id, tag in user.tags.items():
            assert (item_id in owned) == policy.tag_belongs(tag), tag
            tags[tag] += 1
    assert set(policy.BELONGING_TAGS | policy.APART_TAGS) <= set(tags)  # every tag is emitted


def test_tag_belongs_refuses_an_unknown_tag() -> None:
    assert policy.tag_belongs("unbudgeted_flight") is False
    with pytest.raises(KeyError, match="labelling policy"):
        policy.tag_belongs("mystery")
