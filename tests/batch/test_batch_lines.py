"""Request lines without Spark: each line scored exactly as the handler answers that line."""

from __future__ import annotations

import copy
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from bem.batch import lines, worker
from bem.synth.users import SynthUser
from budget_matcher import contract as c
from tests.batch.parity import assert_same, handler_line_items


def _score(
    texts: list[str], run: worker.ScoreRun | None = None, per_batch: int = 3
) -> pd.DataFrame:
    """The rows `mapInArrow` would write for these lines (in Arrow batches of `per_batch`)."""
    chosen = run or worker.ScoreRun("lines", "model")
    batches = [
        pa.record_batch([pa.array(texts[k : k + per_batch], pa.string())], names=["value"])
        for k in range(0, len(texts), per_batch)
    ]
    out = list(lines.score_line_batches(iter(batches), chosen))
    schema = worker.score_arrow(chosen.with_inputs)
    return pa.Table.from_batches(out, schema=schema).to_pandas()


def _user(user: SynthUser, user_id: Any = None) -> dict[str, Any]:
    payload: dict[str, Any] = {c.BUDGETS_KEY: user.budgets, c.LINE_ITEMS_KEY: user.items}
    return {c.USER_ID_KEY: user.user_id if user_id is None else user_id, **payload}


STRUCTURAL_PROBES = {
    "neither list": ({c.USER_ID_KEY: "n1"}, "missing_field", c.BUDGETS_KEY),
    "budgets a string": (
        {c.USER_ID_KEY: "s1", c.BUDGETS_KEY: "abc", c.LINE_ITEMS_KEY: []},
        "invalid_type",
        c.BUDGETS_KEY,
    ),
    "users a string": ({c.USERS_KEY: "abc"}, "invalid_payload", c.USERS_KEY),
    "user_id true": ({**c.SEED_EXAMPLE, c.USER_ID_KEY: True}, "invalid_type", c.USER_ID_KEY),
}


@pytest.mark.parametrize("probe", sorted(STRUCTURAL_PROBES))
def test_score_line_batches_gives_the_handlers_error_row_for_structural_probes(
    probe: str,
) -> None:
    payload, code, field = STRUCTURAL_PROBES[probe]
    texts = [json.dumps(c.SEED_EXAMPLE), json.dumps(payload)]

    frame = _score(texts)

    assert_same(handler_line_items(texts), frame)
    errors = frame[frame["error_code"].notna()]
    assert list(zip(errors["error_code"], errors["error_field"], strict=True)) == [(code, field)]


def test_score_line_batches_never_merges_users_across_lines(small_users: list[SynthUser]) -> None:
    """`17` and "17", and one id on two lines: each line's users meet their own records only."""
    a, b, d = small_users[:3]
    texts = [
        json.dumps(_user(a, 17)),
        json.dumps(_user(b, "17")),
        json.dumps({c.USERS_KEY: [_user(d, "x"), _user(a, "y")]}),
        json.dumps(_user(d, "x")),
    ]

    frame = _score(texts, per_batch=2)

    n_pairs = sum(len(u.budgets) * len(u.items) for u in (a, b, d, a, d))
    assert len(frame) == n_pairs and frame["error_code"].isna().all()
    assert_same(handler_line_items(texts), frame)
    seventeen = frame[frame["user_id"] == "17"]
    assert len(seventeen) == len(a.budgets) * len(a.items) + len(b.budgets) * len(b.items)


def test_score_line_batches_keeps_each_lines_answer_positions(small_users: list[SynthUser]) -> None:
    users = copy.deepcopy(small_users[:3])
    users[1].budgets[0][c.BUDGET_PRICE] = "a lot"
    texts = [json.dumps(_user(u)) for u in users]

    frame = _score(texts, per_batch=3)

    for text, user in zip(texts, users, strict=True):
        rows = frame[frame["user_id"] == user.user_id]
        expected = handler_line_items([text])
        assert sorted(rows["pair_index"]) == list(range(len(expected)))
        by_position = rows.sort_values("pair_index")
        got = list(zip(by_position["budget_id"], by_position["itemization_id"], strict=True))
        assert got == [(i.get(c.BUDGET_ID), i.get(c.ITEM_ID)) for i in expected]


def test_score_line_batches_answers_unreadable_and_deeply_nested_lines_with_error_rows() -> None:
    deep_value = {
        **c.SEED_EXAMPLE[c.BUDGETS_KEY][0],
        c.BUDGET_TYPE: json.loads("[" * 900 + "]" * 900),
    }
    texts = [
        "{not json",
        "[" * 100_000,  # past the parser's recursion limit (the job used to die of it)
        json.dumps({**c.SEED_EXAMPLE, c.BUDGETS_KEY: [deep_value]}),
        "   ",
        json.dumps(c.SEED_EXAMPLE),
    ]

    frame = _score(texts)

    assert_same(handler_line_items(texts), frame)
    assert list(frame["error_code"].dropna())[:2] == ["invalid_json", "invalid_json"]
    assert frame["score"].notna().sum() == 1
    assert (frame["pair_index"] == 0).all()  # one row per line


def test_score_line_batches_without_a_model_answers_every_line(tmp_path: Any) -> None:
    texts = [json.dumps(c.SEED_EXAMPLE), json.dumps({c.USER_ID_KEY: "u", c.BUDGETS_KEY: []})]

    frame = _score(texts, worker.ScoreRun("lines", str(tmp_path)))

    assert list(frame["error_code"]) == ["model_missing", "model_missing"]
    assert list(frame["pair_index"]) == [0, 0]


def test_score_line_batches_writes_the_items_of_a_line_asking_for_the_envelope() -> None:
    options = {c.OPTIONS_KEY: {"response_format": "envelope"}}
    texts = [json.dumps({**c.SEED_EXAMPLE, **options}), json.dumps(c.SEED_EXAMPLE)]

    frame = _score(texts)

    assert_same(handler_line_items(texts), frame)
    assert len(frame) == 2 and frame["score"].notna().all()


def test_score_line_batches_answers_only_the_budgets_a_line_names(
    small_users: list[SynthUser],
) -> None:
    a, b = small_users[:2]
    named = _user(a)
    named[c.ANSWER_BUDGETS_KEY] = [a.budgets[0][c.BUDGET_ID]]
    texts = [json.dumps(named), json.dumps(_user(b))]

    frame = _score(texts)

    assert_same(handler_line_items(texts), frame)
    mine = frame[frame["user_id"] == a.user_id]
    assert set(mine["budget_id"]) == {a.budgets[0][c.BUDGET_ID]}
    assert sorted(mine["pair_index"]) == list(range(len(mine)))
