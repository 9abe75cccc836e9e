"""The log line's bounded JSON: small values through orjson, large ones incrementally."""

from __future__ import annotations

import gc
import json
import sys
from typing import Any

from budget_matcher.request_log import FEW_VALUES, bounded_json


def test_a_small_value_is_whole_json_when_it_fits() -> None:
    value = {"budgets": [{"id": "1", "price": 24.5}], "note": "caf\u00e9"}
    assert json.loads(bounded_json(value, 10_000)) == value


def test_a_small_and_a_large_value_are_cut_at_the_limit() -> None:
    small = {"items": list(range(50))}
    large = {"items": list(range(FEW_VALUES * 4))}
    for value in (small, large):
        text = bounded_json(value, 40)
        assert len(text) == 41 and text.endswith("…")
        assert text[:40] == json.dumps(value, separators=(",", ":"))[:40]


def test_a_lone_surrogate_is_escaped_not_refused() -> None:
    text = bounded_json({"user_id": "\ud800"}, 1000)
    assert json.loads(text) == {"user_id": "\ud800"}
    text.encode("utf-8")  # the log line stays valid UTF-8


def test_values_json_cannot_hold_are_written_by_repr() -> None:
    assert json.loads(bounded_json({"when": {1, 2}}, 1000)) == {"when": repr({1, 2})}


def test_bounded_json_holds_nothing_of_a_large_value_once_it_returns() -> None:
    # The encoder stopped at the limit keeps no frame or container map: the answer it logged is
    # freed when the caller drops it, not at the next garbage collection (80k items of memory).
    value = [{"score": 0.5, "budget_id": str(k)} for k in range(2 * FEW_VALUES)]
    held = sys.getrefcount(value)
    gc.disable()
    try:
        assert bounded_json(value, 200).endswith("…")
        assert sys.getrefcount(value) == held
    finally:
        gc.enable()


def test_bounded_json_of_a_cycle_is_a_note_not_a_crash() -> None:
    value: list[Any] = [1] * (2 * FEW_VALUES)
    value.append(value)
    assert bounded_json(value, 10**9) == "<unserialisable: RecursionError>"
