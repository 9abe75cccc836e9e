"""Generated hostile payloads and AWS-shaped events for bench/bench_fuzz.py, and the oracle that
says which pairs each one must answer.

Every case is drawn from a `random.Random` seeded by its number, so a case is reproduced from
its number alone (`case(n)`). Kinds: arbitrary JSON, the seed example with one field replaced by
a hostile value, batches of users (duplicate ids, surrogates, huge numbers, long strings, wrong
types), wrapped as a direct invoke, an API Gateway REST v1 / HTTP API v2 / Function URL event
(plain or base64 body, odd header/query/flag types, other methods) or a raw string body.
"""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from budget_matcher import contract as c
from budget_matcher.values import MAX_ID_CHARS, utf8_safe

SEED = c.SEED_EXAMPLE
HOSTILE_STRINGS = (
    "",
    " ",
    "\ud800",
    "a\udfffb",
    "\x00",
    "UBER\x00TRIP",
    "1" + " " * 99 + "x",
    "a" + " " * 60 + "!",
    "2017-04-18T09:00:00+99:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2017-04-18 09:00 Mars/Olympus",
    "NaN",
    "-inf",
    "1e309",
    "(((1)))",
    "$-",
    "USD",
    "١٢٣",
    "𝟙𝟚𝟛",
    "Ελληνικά Łódź Москва",
    "\u202e\u0000\ufeff",
    "x" * 1025,
    "y" * 5000,
)
HOSTILE_NUMBERS = (10**309, -(10**309), 10**18, -1, 0, 1e308, -1e-320, 2**63, 1.5)
HOSTILE_OTHERS: tuple[Any, ...] = (None, True, False, [], {}, [1, 2], {"a": 1})


@dataclass
class Case:
    """One generated invocation: the event, and the pairs its answer must hold."""

    number: int
    kind: str
    event: Any
    expected: Counter[tuple[str | None, str, str]] | None  # None: not checked (no oracle)
    users: list[str | None]  # user ids whose pairs may be refused as a whole


def hostile_value(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(HOSTILE_STRINGS)
    if roll < 0.65:
        return rng.choice(HOSTILE_NUMBERS)
    if roll < 0.8:
        return rng.choice(HOSTILE_OTHERS)
    return "".join(chr(rng.randrange(0, 0x110000)) for _ in range(rng.randrange(1, 12)))


def random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.4:
        return hostile_value(rng)
    if roll < 0.7:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    keys = [*c.BUDGET_FIELDS, *c.ITEM_FIELDS, c.BUDGETS_KEY, c.LINE_ITEMS_KEY, c.USERS_KEY, "k"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(0, 4))}


def _record(rng: random.Random, template: dict[str, Any], id_field: str, n: int) -> Any:
    if rng.random() < 0.03:
        return hostile_value(rng)  # not a record at all
    record = dict(template)
    record[id_field] = rng.choice([f"r{n}", f"r{n}", f"r{n}", n, "r0", " ", "\ud800", "z" * 1100])
    for _ in range(rng.randrange(0, 3)):
        record[rng.choice(list(template))] = hostile_value(rng)
    return record


def random_user(rng: random.Random, position: int) -> dict[str, Any]:
    user: dict[str, Any] = {
        c.USER_ID_KEY: rng.choice([f"u{position}", f"u{position}", "\udc80", 7, None]),
        c.BUDGETS_KEY: [
            _record(rng, SEED[c.BUDGETS_KEY][0], c.BUDGET_ID, k) for k in range(rng.randrange(0, 5))
        ],
        c.LINE_ITEMS_KEY: [
            _record(rng, SEED[c.LINE_ITEMS_KEY][0], c.ITEM_ID, k)
            for k in range(rng.randrange(0, 6))
        ],
    }
    if rng.random() < 0.03:
        user[c.USER_ID_KEY] = rng.choice(HOSTILE_OTHERS[3:])
    return user


def _usable_id(value: Any) -> str | None:
    """The id the answer echoes for a record, or None when the record has no usable id."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    if isinstance(value, str) and (not value.strip() or len(value) > MAX_ID_CHARS):
        return None
    return utf8_safe(str(value).strip())


def expected_pairs(users: list[Any]) -> tuple[Counter[tuple[str | None, str, str]], list]:
    """Every (user, budget id, item id) the answer must hold once: the pairs of each id's
    first record."""
    expected: Counter[tuple[str | None, str, str]] = Counter()
    names: list[str | None] = []
    for user in users:
        if not isinstance(user, dict):
            continue
        raw = user.get(c.USER_ID_KEY)
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, (str, int, float))):
            continue  # refused as a whole (invalid user_id)
        uid = None if raw is None or not str(raw).strip() else utf8_safe(str(raw))
        names.append(uid)
        budgets = user.get(c.BUDGETS_KEY)
        items = user.get(c.LINE_ITEMS_KEY)
        budget_ids = [
            _usable_id(b.get(c.BUDGET_ID))
            for b in (budgets if isinstance(budgets, list) else [])
            if isinstance(b, dict)
        ]
        item_ids = [
            _usable_id(i.get(c.ITEM_ID))
            for i in (items if isinstance(items, list) else [])
            if isinstance(i, dict)
        ]
        # the first record of an id forms its pairs; a duplicate is one item keyed by record
        for b in dict.fromkeys(budget_ids):
            for i in dict.fromkeys(item_ids):
                if b is not None and i is not None:
                    expected[(uid, b, i)] += 1
    return expected, names


def _http_event(rng: random.Random, body: str | None, method: str = "POST") -> dict[str, Any]:
    shape = rng.choice(["rest", "http", "url"])
    encoded = rng.random() < 0.3 and body is not None
    text = body
    if encoded and body is not None:
        text = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode()
    flag: Any = encoded if rng.random() < 0.8 else ("true" if encoded else "false")
    event: dict[str, Any] = {"body": text, "isBase64Encoded": flag}
    if shape == "rest":
        event.update(httpMethod=method, requestContext={"stage": "test"})
    else:
        domain = "abc.lambda-url.us-west-2.on.aws" if shape == "url" else "api.example"
        event["requestContext"] = {"http": {"method": method}, "domainName": domain}
    if rng.random() < 0.1:
        event["headers"] = rng.choice([["x"], "Content-Type: x", 5, {"X-A": None}])
    if rng.random() < 0.1:
        event["queryStringParameters"] = rng.choice([["format"], 7, {"format": "envelope"}])
    return event


def case(number: int) -> Case:
    """The generated case `number` (deterministic)."""
    rng = random.Random(number)
    roll = rng.random()
    expected: Counter[tuple[str | None, str, str]] | None = None
    names: list[str | None] = []
    if roll < 0.2:
        payload: Any = random_json(rng)
        kind = "json"
    elif roll < 0.45:
        payload = json.loads(json.dumps(SEED))
        record = payload[rng.choice([c.BUDGETS_KEY, c.LINE_ITEMS_KEY])][0]
        record[rng.choice(list(record))] = hostile_value(rng)
        expected, names = expected_pairs([payload])
        kind = "seed"
    else:
        users = [random_user(rng, k) for k in range(rng.randrange(1, 6))]
        payload = {c.USERS_KEY: users}
        if rng.random() < 0.1:
            payload[c.OPTIONS_KEY] = {"response_format": "envelope"}
        expected, names = expected_pairs(users)
        kind = "batch"
    wrap = rng.random()
    if wrap < 0.5:
        return Case(number, f"{kind}/direct", payload, expected, names)
    if wrap < 0.55:
        body = json.dumps(payload, ensure_ascii=rng.random() < 0.5)
        return Case(number, f"{kind}/string", body, expected, names)
    if wrap < 0.95:
        body = json.dumps(payload)
        return Case(number, f"{kind}/http", _http_event(rng, body), expected, names)
    method = rng.choice(["GET", "DELETE", "PUT", "OPTIONS", ""])
    return Case(number, f"{kind}/method", _http_event(rng, None, method), None, [])
