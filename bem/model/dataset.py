"""Labeled rows → per-user seed payloads → the feature matrix, through the service's own code.

Input rows carry the seed's field names, `user_id` and the label `is_match` (1/0, true/false,
yes/no). They come from `bem synth` or from an adopter's own labeled history as CSV, JSON (a
list of objects, or {"rows": [...]}) or JSON lines. Budgets and items are deduplicated by id
within a user (first row wins). A candidate pair is positive when any row lists it with a true
label; pairs of a user that no row lists are negatives (`unlisted="negative"`, the default,
for histories that list every match) or left out (`unlisted="drop"`). Rows without `user_id`
belong to one user.

Features come from `FlattenedDataPoints(payload).all().pairs` and
`budget_matcher.features.compute_features` — the same code the Lambda runs.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from budget_matcher import contract
from budget_matcher.features import FEATURE_NAMES, compute_features
from budget_matcher.pairs import CandidatePairs
from flattened_data_points import FlattenedDataPoints

TRUE_LABELS = {"1", "1.0", "true", "t", "yes", "y"}
FALSE_LABELS = {"0", "0.0", "false", "f", "no", "n"}
DEFAULT_USER = "user"
UNLISTED_CHOICES = ("negative", "drop")
UNBOUNDED = 2**62

Row = dict[str, Any]


@dataclass
class UserRecords:
    """One user's budgets and items (seed format) and the labels its rows give."""

    user_id: str
    budgets: dict[str, Row] = field(default_factory=dict)
    items: dict[str, Row] = field(default_factory=dict)
    labels: dict[tuple[str, str], int] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The user's seed payload (plus user_id)."""
        return {
            contract.USER_ID_KEY: self.user_id,
            contract.BUDGETS_KEY: list(self.budgets.values()),
            contract.LINE_ITEMS_KEY: list(self.items.values()),
        }


@dataclass
class Dataset:
    """Feature matrix, labels and the (user, budget, item) key of every pair."""

    features: np.ndarray
    labels: np.ndarray
    users: np.ndarray  # user id per pair (the grouping for cross-validation)
    budget_ids: list[str]
    itemization_ids: list[str]
    digest: str
    n_rows: int
    n_users: int
    n_error_items: int = 0
    pairs: Any = None  # the CandidatePairs (per-user decisions, mistakes)
    truth: Any = None  # bem.model.breakdown.PairTruth of synthetic users (per-knob breakdown)
    # Pairs that train but are never held out and set neither the figures nor the threshold: a
    # prior's (bem.loop.prior), or a synthetic training mix's clean-feed users (not own data).
    prior: np.ndarray | None = None
    weights: np.ndarray | None = None  # per-pair sample weight in training (None: all 1)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, mask: np.ndarray) -> Dataset:
        """The pairs where `mask` is true."""
        index = np.flatnonzero(mask)
        pairs = self.pairs
        if pairs is not None:
            pairs = CandidatePairs(
                pairs.budgets, pairs.items, pairs.budget_index[index], pairs.item_index[index]
            )
        return Dataset(
            self.features[index],
            self.labels[index],
            self.users[index],
            [self.budget_ids[i] for i in index],
            [self.itemization_ids[i] for i in index],
            self.digest,
            self.n_rows,
            len(set(self.users[index].tolist())),
            self.n_error_items,
            pairs,
            None if self.truth is None else self.truth.subset(index),
            None if self.prior is None else self.prior[index],
            None if self.weights is None else self.weights[index],
        )


def parse_label(value: Any) -> int | None:
    """1, 0, or None when the value is no label."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    text = str(value).strip().lower() if value is not None else ""
    if text in TRUE_LABELS:
        return 1
    if text in FALSE_LABELS:
        return 0
    return None


def read_rows(path: Path) -> list[Row]:
    """Rows from a CSV, JSON or JSON-lines file (empty CSV cells become null)."""
    text = path.read_text(encoding="utf-8-sig")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if suffix == ".json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError:  # JSON lines under a .json name
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        rows = loaded.get("rows") if isinstance(loaded, dict) else loaded
        if not isinstance(rows, list):
            raise ValueError(f"{path}: expected a JSON list of rows or {{'rows': [...]}}")
        return rows
    reader = csv.DictReader(text.splitlines())
    return [{k: (v if v != "" else None) for k, v in row.items() if k} for row in reader]


def group_rows(rows: Iterable[Row]) -> list[UserRecords]:
    """Rows → per-user records and labels, users in first-seen order."""
    users: dict[str, UserRecords] = {}
    for row in rows:
        user_id = str(row.get(contract.USER_ID_KEY) or DEFAULT_USER)
        user = users.setdefault(user_id, UserRecords(user_id))
        budget_id = _text_id(row.get(contract.BUDGET_ID))
        item_id = _text_id(row.get(contract.ITEM_ID))
        if budget_id is not None and budget_id not in user.budgets:
            user.budgets[budget_id] = {f: row.get(f) for f in contract.BUDGET_FIELDS}
            user.budgets[budget_id][contract.BUDGET_ID] = budget_id
        if item_id is not None and item_id not in user.items:
            user.items[item_id] = {f: row.get(f) for f in contract.ITEM_FIELDS}
            user.items[item_id][contract.ITEM_ID] = item_id
        label = parse_label(row.get(contract.LABEL))
        if budget_id is not None and item_id is not None and label is not None:
            key = (budget_id, item_id)
            user.labels[key] = max(label, user.labels.get(key, 0))
    return list(users.values())


def _text_id(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # ids read back from spreadsheets
        text = text[:-2]
    return text or None


def canonical_digest(users: list[UserRecords], unlisted: str = "negative") -> str:
    """sha256 of the training data in a canonical order (independent of row order/layout).

    Covers every user's budgets and items sorted by id and the labeled pairs that count: the
    positives, plus the listed negatives when unlisted pairs are dropped.
    """
    digest = hashlib.sha256()
    for user in sorted(users, key=lambda u: u.user_id):
        labels = sorted(
            [*key, value] for key, value in user.labels.items() if value == 1 or unlisted == "drop"
        )
        canonical = {
            "user": user.user_id,
            "budgets": [user.budgets[k] for k in sorted(user.budgets)],
            "items": [user.items[k] for k in sorted(user.items)],
            "labels": labels,
        }
        digest.update(json.dumps(canonical, sort_keys=True, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def build_dataset(
    users: list[UserRecords], unlisted: str = "negative", n_rows: int | None = None
) -> Dataset:
    """The feature matrix of every candidate pair of `users`, with labels."""
    if unlisted not in UNLISTED_CHOICES:
        raise ValueError(f"unlisted must be one of {UNLISTED_CHOICES}")
    # Training data is not an answer: no Lambda response limit, no per-user pair cap.
    payload = {contract.USERS_KEY: [u.payload() for u in users]}
    batch = FlattenedDataPoints(payload, max_pairs_per_user=UNBOUNDED, answer_bytes=UNBOUNDED).all()
    pairs = batch.pairs
    features = compute_features(pairs)
    pair_users = [str(u) for u in pairs.user_ids]
    budget_ids, item_ids = pairs.budget_ids, pairs.itemization_ids
    by_user = {u.user_id: u.labels for u in users}
    labels = np.zeros(len(pairs), dtype=np.int64)
    keep = np.ones(len(pairs), dtype=bool)
    for position, (user_id, budget_id, item_id) in enumerate(
        zip(pair_users, budget_ids, item_ids, strict=True)
    ):
        label = by_user[user_id].get((budget_id, item_id))
        if label is None:
            keep[position] = unlisted == "negative"
        elif label < 0:  # listed by a row that could not be read: neither match nor not
            keep[position] = False
        else:
            labels[position] = label
    dataset = Dataset(
        features,
        labels,
        np.asarray(pair_users, dtype=object),
        budget_ids,
        item_ids,
        canonical_digest(users, unlisted),
        n_rows if n_rows is not None else 0,
        len(users),
        len(batch.error_items),
        pairs,
    )
    return dataset if keep.all() else dataset.subset(keep)


def load_dataset(path: Path, unlisted: str = "negative") -> Dataset:
    """Read a labeled file (or a feature table from `bem batch features`) and build its dataset."""
    if path.is_dir() or path.suffix.lower() == ".parquet":
        return load_feature_table(path)
    rows = read_rows(path)
    return build_dataset(group_rows(rows), unlisted, n_rows=len(rows))


def load_feature_table(path: Path) -> Dataset:
    """A labelled feature table (Parquet file or directory): user_id, budget_id, itemization_id,
    is_match and one column per feature, as `bem batch features` writes it.

    The feature columns must be exactly this code's features; the digest covers the rows in
    (user, budget, item) order, so the same pairs give the same digest however they were split.
    """
    import pandas as pd

    table = pd.read_parquet(path)
    keys = [contract.USER_ID_KEY, contract.BUDGET_ID, contract.ITEM_ID, contract.LABEL]
    missing = [name for name in (*keys, *FEATURE_NAMES) if name not in table.columns]
    if missing:
        raise ValueError(f"{path}: not a feature table of this code; missing columns {missing}")
    table = table.sort_values(keys[:3], kind="stable").reset_index(drop=True)
    features = table[list(FEATURE_NAMES)].to_numpy(dtype=np.float64)
    labels = table[contract.LABEL].to_numpy(dtype=np.int64)
    digest = hashlib.sha256()
    for column in keys[:3]:
        digest.update("\x1f".join(table[column].astype(str)).encode())
    digest.update(labels.tobytes())
    digest.update(np.ascontiguousarray(features).tobytes())
    users = table[contract.USER_ID_KEY].astype(str).to_numpy(dtype=object)
    return Dataset(
        features,
        labels,
        users,
        table[contract.BUDGET_ID].astype(str).tolist(),
        table[contract.ITEM_ID].astype(str).tolist(),
        digest.hexdigest(),
        len(table),
        len(set(users.tolist())),
    )
