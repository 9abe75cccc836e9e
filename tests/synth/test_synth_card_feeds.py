"""The card-feed knobs of the generator and the labelling policy it follows."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace

import pytest

from bem.synth.knobs import CARD_FEED_KNOBS, NoiseKnobs, SynthConfig, knobs_from_options
from bem.synth.users import SynthUser, generate_users
from budget_matcher import contract
from budget_matcher.values import parse_amount, parse_datetime


@pytest.fixture(scope="module")
def feed_users() -> list[SynthUser]:
    """200 users with every card-feed case frequent enough to be seen."""
    knobs = replace(NoiseKnobs(), commuter=0.5, cancel=0.3, fare_change=0.3, itemize=0.9)
    return generate_users(SynthConfig(users=200, seed=21, knobs=knobs))


def _labelled(users: list[SynthUser]) -> Counter[tuple[str, bool]]:
    """(item tag, belongs to some budget) counts."""
    counts: Counter[tuple[str, bool]] = Counter()
    for user in users:
        matched = {item for _, item in user.matches}
        for item_id, tag in user.tags.items():
            counts[(tag, item_id in matched)] += 1
    return counts


def test_labelling_policy_what_belongs_and_what_does_not(feed_users) -> None:
    counts = _labelled(feed_users)
    belongs = ["folio_room", "folio_tax", "resort_fee", "change_fee", "fare_diff"]
    belongs += ["cancelled_charge", "cancel_credit"]
    for tag in belongs:
        assert counts[(tag, True)] > 0 and counts[(tag, False)] == 0, tag
    for tag in ("folio_incidental", "fx_fee", "agency_fee", "trip_airline_fee", "companion"):
        assert counts[(tag, False)] > 0 and counts[(tag, True)] == 0, tag


def test_cancellation_credit_is_its_charge_less_a_fee_at_most(feed_users) -> None:
    """A credit is the charge, less a cancellation fee sometimes, at another rate abroad."""
    ratios = []
    for user in feed_users:
        items = {i[contract.ITEM_ID]: i for i in user.items}
        owner = {item: budget for budget, item in user.matches}
        charges: dict[str, dict[str, float]] = {}
        for item_id, tag in user.tags.items():
            if tag in ("cancelled_charge", "cancel_credit"):
                amount = parse_amount(items[item_id][contract.ITEM_AMOUNT])
                charges.setdefault(owner[item_id], {})[tag] = amount
        for pair in charges.values():
            charge, credit = pair.get("cancelled_charge"), pair.get("cancel_credit")
            if charge and credit and charge == charge and credit == credit:  # both, not NaN
                ratios.append(-credit / charge)
    assert len(ratios) > 10
    assert [r for r in ratios if not 0.47 <= r <= 1.05] == []
    exact = sum(abs(ratio - 1) < 1e-3 for ratio in ratios) / len(ratios)
    assert 0.5 < exact < 0.95  # most are the charge exactly; some less a fee or re-converted


def test_commuter_budgets_look_alike_and_differ_by_dates(feed_users) -> None:
    commuters = [u for u in feed_users if any("commuter" in k for k in u.budget_knobs.values())]
    assert len(commuters) > 50
    weekly_users = 0
    for user in commuters:
        hotels = [
            b
            for b in user.budgets
            if "commuter" in user.budget_knobs[b[contract.BUDGET_ID]]
            and (b[contract.BUDGET_TYPE] or "").lower() == "hotel"
        ]
        starts = sorted(
            start
            for start in (parse_datetime(b[contract.BUDGET_TRIP_START]) for b in hotels)
            if start == start  # not NaN (a missing start)
        )
        gaps = [(later - earlier) / 86400 for earlier, later in itertools.pairwise(starts)]
        weekly_users += any(gap >= 6 and abs(gap - 7 * round(gap / 7)) < 1 for gap in gaps)
    assert weekly_users >= 0.8 * len(commuters)  # stays a week or two apart, same weekday


def test_card_feed_zero_turns_every_new_knob_off() -> None:
    knobs = knobs_from_options(1.0, ("card_feed=0",))
    assert all(getattr(knobs, name) == 0.0 for name in CARD_FEED_KNOBS)
    assert knobs.split == NoiseKnobs().split  # the classic knobs stay
    users = generate_users(SynthConfig(users=60, seed=3, knobs=knobs))
    tags = {tag for u in users for tag in u.tags.values()}
    assert not tags & {"fx_fee", "change_fee", "cancel_credit", "resort_fee"}
    shaped = {k for u in users for ks in u.item_knobs.values() for k in ks}
    assert not shaped & set(CARD_FEED_KNOBS)


def test_knobs_tag_the_records_they_shape(feed_users) -> None:
    shaped = Counter(k for u in feed_users for ks in u.item_knobs.values() for k in ks)
    for knob in ("commuter", "late_posting", "mistype", "sparse", "formats", "fare_change"):
        assert shaped[knob] > 0, knob
    on_budgets = Counter(k for u in feed_users for ks in u.budget_knobs.values() for k in ks)
    for knob in ("no_actual", "upgrade", "cancel", "agency"):
        assert on_budgets[knob] > 0, knob


def test_formats_knob_writes_values_the_service_reads() -> None:
    knobs = replace(NoiseKnobs(), formats=1.0, missing=0.0)
    users = generate_users(SynthConfig(users=10, seed=4, knobs=knobs, noise_spread=0.0))
    amounts = [i[contract.ITEM_AMOUNT] for u in users for i in u.items]
    dates = [i[contract.ITEM_DATE] for u in users for i in u.items]
    assert any(a and ("$" in a or "USD" in a or "," in a) for a in amounts)
    assert all(parse_amount(a) == parse_amount(a) for a in amounts)  # no NaN: all readable
    assert all(parse_datetime(d) > 0 for d in dates)


def test_unknown_knob_lists_card_feed() -> None:
    with pytest.raises(ValueError, match="card_feed"):
        knobs_from_options(1.0, ("nope=1",))


def test_clean_feed_share_of_users_have_no_card_feed_line() -> None:
    # clean_feed=0.5: about half the users draw every card-feed knob off; the others keep them.
    users = generate_users(
        SynthConfig(users=80, seed=5, knobs=knobs_from_options(1.0, ("clean_feed=0.5",)))
    )
    shaped = [{k for ks in u.item_knobs.values() for k in ks} & set(CARD_FEED_KNOBS) for u in users]
    clean = sum(not knobs for knobs in shaped)
    assert 25 <= clean <= 55
    assert sum(len(knobs) >= 3 for knobs in shaped) >= 25


def test_clean_feed_off_leaves_the_generator_as_it_was() -> None:
    # Who is clean is drawn from a stream of its own: at 0, every user is drawn as before, and
    # the share is a population's, so --noise does not scale it.
    base = generate_users(SynthConfig(users=20, seed=6))
    again = generate_users(SynthConfig(users=20, seed=6, knobs=NoiseKnobs(clean_feed=0.0)))
    assert [u.items for u in base] == [u.items for u in again]
    assert NoiseKnobs(clean_feed=0.3).scaled(2.0).clean_feed == 0.3
