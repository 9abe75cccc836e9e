"""The batch's rows against the handler's answer: same keys, matched, error codes and fields,
scores within 1e-9. The handler is called at test time, so the comparison follows whatever
features and model are current."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pandas as pd

import lambda_handler
from bem.batch.lines import line_event
from budget_matcher import contract as c

TOLERANCE = 1e-9
Key = tuple[str, str, str, str]


def handler_line_items(lines: list[str]) -> list[dict[str, Any]]:
    """The handler's items for each request line posted as a request's body (blank lines are
    no requests; a refused body answers its error as one item)."""
    items: list[dict[str, Any]] = []
    for text in lines:
        if not text.strip():
            continue
        answer = json.loads(lambda_handler.answer(line_event(text), None)["body"])
        if isinstance(answer, dict) and "results" in answer:  # a line asking for the envelope
            answer = answer["results"]
        elif isinstance(answer, dict) and "error" in answer:  # the body refused (HTTP 400)
            answer = [{"error": answer["error"]}]
        assert isinstance(answer, list), answer
        items.extend(answer)
    return items


def _key(item: dict[str, Any]) -> Key:
    error = item.get("error") or {}
    return (
        str(item.get(c.USER_ID_KEY)),
        str(item.get(c.BUDGET_ID)),
        str(item.get(c.ITEM_ID)),
        str(error.get("code")),
    )


def _outcome(item: dict[str, Any]) -> tuple[float, bool | None, str | None]:
    score = item.get("score")
    return (
        float("nan") if score is None else float(score),
        item.get("matched"),
        (item.get("error") or {}).get("field"),
    )


def frame_items(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The batch's rows as response items (the fields the comparison reads)."""
    items = []
    for row in frame.to_dict("records"):
        item: dict[str, Any] = {
            c.USER_ID_KEY: row["user_id"],
            c.BUDGET_ID: row["budget_id"],
            c.ITEM_ID: row["itemization_id"],
            "score": None if pd.isna(row["score"]) else row["score"],
            "matched": None if pd.isna(row["matched"]) else bool(row["matched"]),
        }
        if row["error_code"] is not None:
            item["error"] = {"code": row["error_code"], "field": row["error_field"]}
        items.append(item)
    return items


def grouped(items: list[dict[str, Any]]) -> dict[Key, list[tuple[float, bool | None, str | None]]]:
    """Outcomes by key, each key's outcomes sorted (several lines may hold the same key)."""
    by_key: dict[Key, list[tuple[float, bool | None, str | None]]] = defaultdict(list)
    for item in items:
        by_key[_key(item)].append(_outcome(item))
    return {
        key: sorted(values, key=lambda v: (v[0] != v[0], v[0])) for key, values in by_key.items()
    }


def assert_same(handler_items: list[dict[str, Any]], frame: pd.DataFrame) -> None:
    """The frame's rows are the handler's items (keys counted, scores within TOLERANCE)."""
    expected, got = grouped(handler_items), grouped(frame_items(frame))
    assert len(frame) == len(handler_items)
    assert set(got) == set(expected), set(got) ^ set(expected)
    worst = 0.0
    for key, outcomes in expected.items():
        others = got[key]
        assert len(others) == len(outcomes), key
        for (score, matched, field), (other_score, other_matched, other_field) in zip(
            outcomes, others, strict=True
        ):
            assert (other_matched, other_field) == (matched, field), key
            assert (score != score) == (other_score != other_score), key
            if score == score:
                worst = max(worst, abs(other_score - score))
    assert worst <= TOLERANCE, worst
