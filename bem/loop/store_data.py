"""The monitoring store as labelled training data: the stored requests rebuilt, their labels.

Every stored result keeps the inputs of its pair and `pair_index`, its position among its
answer's items. The pairs of one request and user are the cross product of its budgets and line
items, budget-major, so sorting a request's rows by `pair_index` gives back its budgets and its
line items in the order they were sent; the rank features depend on that order. Each request
is rebuilt as the user's seed payload and its features computed by the service's own code
(`bem.model.dataset.build_dataset`), so they equal the served features bit for bit — except for
free text longer than the store keeps (256 characters).

A request is rebuilt whole, with every user it carried: a few features sum over the request's
sorted pairs, so their last bits depend on its other users. Left out, and counted: rows without
a score (error items), requests stored without `pair_index` (a store from before it) and
requests where a user's rows are not a whole cross product.

Labels come from `bem monitor label`, by the store's key (user, budget, item). The training set
holds the users with at least one label in the window; their pairs without a label follow
`unlisted` as in `bem train --data` (negative, or dropped). A pair scored in several requests
counts once, at its latest scoring.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import ColumnElement

from bem.model.dataset import Dataset, UserRecords, build_dataset
from bem.monitor.store import labels, results
from budget_matcher import contract as c
from budget_matcher.result_rows import BUDGET_INPUTS, ITEM_INPUTS, to_iso

Key = tuple[str, str, str]  # (user_key, budget_id, itemization_id)


@dataclass(frozen=True)
class StoreWindow:
    """Which stored results to read: scored in [since, until), by these model versions."""

    since: datetime | None = None
    until: datetime | None = None
    versions: tuple[str, ...] = ()
    users: tuple[str, ...] | None = None  # only these users (None: every labelled user)

    def card(self) -> dict[str, Any]:
        """The window as the model card records it."""
        return {
            "since": to_iso(self.since) if self.since else None,
            "until": to_iso(self.until) if self.until else None,
            "versions": list(self.versions) or "all",
        }


@dataclass(frozen=True)
class StoredRequest:
    """One request rebuilt: its users' records in the order they were sent, and when."""

    request_id: str
    scored_at: datetime
    users: list[UserRecords]  # user_id = the store's user_key


@dataclass
class StoreCounts:
    """What was read and what was left out."""

    rows: int = 0
    requests: int = 0
    without_order: int = 0
    incomplete: int = 0

    def card(self) -> dict[str, int]:
        """The counts as the model card records them."""
        return {
            "rows": self.rows,
            "requests": self.requests,
            "requests_without_pair_index": self.without_order,
            "requests_not_a_cross_product": self.incomplete,
        }


def stored_labels(connection: Connection, users: Sequence[str] | None = None) -> dict[Key, int]:
    """(user, budget, item) -> 1/0 of the stored labels (of `users` only, when given)."""
    query = sa.select(labels.c.user_key, labels.c.budget_id, labels.c.itemization_id,
                      labels.c.is_match)  # fmt: skip
    if users is not None:
        query = query.where(labels.c.user_key.in_(sorted(users)))
    return {(u, b, i): int(bool(m)) for u, b, i, m in connection.execute(query)}


def read_requests(
    connection: Connection, window: StoreWindow, users: Sequence[str]
) -> tuple[list[StoredRequest], StoreCounts]:
    """The stored requests in the window that hold a pair of one of `users`, whole (every
    user's pairs: features of one user's pair depend, in their last bits, on the request's
    other users), rebuilt in the order they were sent."""
    scored: list[ColumnElement[bool]] = [results.c.score.is_not(None)]
    if window.since is not None:
        scored.append(results.c.scored_at >= window.since)
    if window.until is not None:
        scored.append(results.c.scored_at < window.until)
    if window.versions:
        scored.append(results.c.model_version.in_(window.versions))
    request_ids: set[str] = set()
    ordered_users = sorted(users)
    for start in range(0, len(ordered_users), 500):
        chunk = ordered_users[start : start + 500]
        query = sa.select(results.c.request_id).where(*scored, results.c.user_key.in_(chunk))
        request_ids.update(connection.execute(query.distinct()).scalars())
    grouped: dict[str, list[Any]] = defaultdict(list)
    counts = StoreCounts()
    ordered_requests = sorted(request_ids)
    for start in range(0, len(ordered_requests), 500):
        chunk = ordered_requests[start : start + 500]
        query = sa.select(results).where(*scored, results.c.request_id.in_(chunk))
        for row in connection.execute(query):
            grouped[row.request_id].append(row)
            counts.rows += 1
    requests = []
    for request_id, rows in sorted(grouped.items()):
        if any(row.pair_index is None for row in rows):
            counts.without_order += 1
            continue
        rebuilt = rebuild_request(request_id, rows)
        if rebuilt is None:
            counts.incomplete += 1
            continue
        requests.append(rebuilt)
    counts.requests = len(requests)
    return requests, counts


def rebuild_request(request_id: str, rows: Sequence[Any]) -> StoredRequest | None:
    """A request's users and their records from its stored rows (None unless each user's rows
    are the whole budget × item cross product)."""
    by_user: dict[str, UserRecords] = {}
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in sorted(rows, key=lambda row: row.pair_index):
        user_key = row.user_key or ""
        records = by_user.setdefault(user_key, UserRecords(user_key))
        if row.budget_id not in records.budgets:
            records.budgets[row.budget_id] = _record(row, c.BUDGET_ID, row.budget_id, BUDGET_INPUTS)
        if row.itemization_id not in records.items:
            records.items[row.itemization_id] = _record(
                row, c.ITEM_ID, row.itemization_id, ITEM_INPUTS
            )
        pairs[user_key].append((row.budget_id, row.itemization_id))
    for user_key, records in by_user.items():
        if pairs[user_key] != [(b, i) for b in records.budgets for i in records.items]:
            return None
    scored_at = max(row.scored_at for row in rows)
    return StoredRequest(request_id, scored_at, list(by_user.values()))


def _record(row: Any, id_field: str, record_id: str, inputs: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {id_field: record_id}
    for column, field in inputs.items():
        value = getattr(row, column)
        record[field] = to_iso(value) if isinstance(value, datetime) else value
    return record


def store_dataset(
    engine: Engine, window: StoreWindow, unlisted: str = "negative"
) -> tuple[Dataset, dict[str, Any]]:
    """The labelled pairs of the window (see the module docstring) and the card's `source`."""
    with engine.connect() as connection:
        known = stored_labels(connection, window.users)
        users = sorted({user for user, _, _ in known})
        requests, counts = read_requests(connection, window, users)
    if not requests:
        raise ValueError("the store holds no labelled user's request in this window")
    dataset = requests_dataset(requests, known, unlisted)
    source = {
        "source": "store",
        "unlisted": unlisted,
        "store": {
            **window.card(),
            **counts.card(),
            "labelled_pairs": sum(1 for key in known if key[0] in set(dataset.users.tolist())),
            "digest": dataset.digest,
        },
    }
    return dataset, source


def requests_dataset(
    requests: Sequence[StoredRequest], known: dict[Key, int], unlisted: str = "negative"
) -> Dataset:
    """Features of every request as served, the labels by (user, budget, item): the pairs of
    the users with a label, one row per pair (its latest scoring); unlabelled pairs negative or
    dropped (`unlisted`)."""
    labelled = {user for user, _, _ in known}
    latest: dict[Key, tuple[int, int]] = {}  # key -> (request, row in its features)
    features: list[np.ndarray] = []
    by_time = sorted(
        range(len(requests)), key=lambda k: (requests[k].scored_at, requests[k].request_id)
    )
    for position in by_time:
        request = requests[position]
        if not any(user.user_id in labelled for user in request.users):
            features.append(np.zeros((0, 0)))
            continue
        built = build_dataset(request.users)
        features.append(built.features)
        keys = zip(built.users.tolist(), built.budget_ids, built.itemization_ids, strict=True)
        for row, key in enumerate(keys):
            if key[0] in labelled and (key in known or unlisted == "negative"):
                latest[key] = (position, row)  # later scorings overwrite earlier ones
    ordered = sorted(latest)
    matrix = (
        np.stack([features[latest[key][0]][latest[key][1]] for key in ordered])
        if ordered
        else np.zeros((0, 0))
    )
    users = np.asarray([key[0] for key in ordered], dtype=object)
    dataset = Dataset(
        features=matrix,
        labels=np.asarray([known.get(key, 0) for key in ordered], dtype=np.int64),
        users=users,
        budget_ids=[key[1] for key in ordered],
        itemization_ids=[key[2] for key in ordered],
        digest="",
        n_rows=len(ordered),
        n_users=len(set(users.tolist())),
    )
    dataset.digest = pairs_digest(dataset)
    return dataset


def pairs_digest(dataset: Dataset) -> str:
    """sha256 of the pairs in (user, budget, item) order: keys, labels and features."""
    order = sorted(
        range(len(dataset)),
        key=lambda k: (str(dataset.users[k]), dataset.budget_ids[k], dataset.itemization_ids[k]),
    )
    digest = hashlib.sha256()
    for k in order:
        key = (dataset.users[k], dataset.budget_ids[k], dataset.itemization_ids[k])
        digest.update("\x1f".join(str(part) for part in key).encode() + b"\x1e")
    digest.update(dataset.labels[order].tobytes())
    digest.update(np.ascontiguousarray(dataset.features[order]).tobytes())
    return digest.hexdigest()
