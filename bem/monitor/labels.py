"""Ground-truth labels that arrive days after scoring: read, validate, store.

Accepted files: CSV with a header (delimiter and encoding sniffed as for training histories),
a JSON list of objects, `{"labels": [...]}`, or JSON lines. A training history is a label file:
fields budget_id, itemization_id, is_match (1/0, true/false, yes/no), optionally labeled_at
(default: the time of ingestion), resolved_at — when the expense line item was reconciled with
the budget, i.e. when the matching operation was completed — and user_id; other columns are
ignored. Timestamps are ISO 8601; a timestamp without an offset is taken as UTC. An id is read
as the tools' CSV writer writes it (the label queue): a `'` before a formula character
(`'=x`, `'@x`) is its neutralisation and is dropped (an id that truly starts with `'=` is
written `''=`); bem.data.csv_writer.restore_cell.

Labels are keyed like results, with the user: a label for alice's (budget, item) never labels
bob's pair with the same ids. A record without user_id is the label of the one user whose
stored results hold its pair; when several users' results hold it, the record is rejected as
ambiguous (give user_id), and when none does yet, it labels the pair scored for no user.

A history lists a user's matches; the pairs it leaves out are no matches. `unlisted_negatives`
turns the scored pairs of the file's users that no record lists into negative labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bem.data.columns import Mapping
from bem.data.csv_writer import restore_cell
from bem.data.labels import LINE
from bem.monitor.store import USER_KEY, results, upsert_labels

_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n"}


@dataclass
class LabelLoad:
    """Valid label rows and one message per rejected record."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    users: set[str] = field(default_factory=set)  # user_id of the valid records that name one
    unlisted: int = 0  # negative labels added for scored pairs the file leaves out


def read_label_records(path: Path, mapping: Mapping | None = None) -> list[dict[str, Any]]:
    """The records of a label file or history, in our names (`mapping`), each with its line
    (bem.data.labels: the reader of training)."""
    from bem.data.labels import label_records

    return list(label_records(path, mapping))


def parse_labels(
    records: Iterable[dict[str, Any]], source: str | None = None, now: datetime | None = None
) -> LabelLoad:
    """Validate records into label rows (naive-UTC timestamps)."""
    ingested_at = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    load = LabelLoad()
    for position, record in enumerate(records, start=1):
        number = record.get(LINE, position)
        try:
            load.rows.append(
                {
                    USER_KEY: _user_key(record.get("user_id")),
                    "budget_id": _identifier(record, "budget_id"),
                    "itemization_id": _identifier(record, "itemization_id"),
                    "is_match": _boolean(record.get("is_match")),
                    "labeled_at": _optional_timestamp(record.get("labeled_at")) or ingested_at,
                    "resolved_at": _optional_timestamp(record.get("resolved_at")),
                    "source": source,
                    "ingested_at": ingested_at,
                }
            )
        except (ValueError, TypeError, AttributeError) as error:
            load.rejected.append(f"line {number}: {error}")
            continue
        if load.rows[-1][USER_KEY] is not None:
            load.users.add(load.rows[-1][USER_KEY])
        load.rows[-1]["record"] = number
    return load


def resolve_users(connection: Connection, load: LabelLoad) -> None:
    """Give each row without a user the one user whose stored results hold its pair ("" when
    none does); a row whose pair several users' results hold is rejected as ambiguous."""
    open_rows = [row for row in load.rows if row[USER_KEY] is None]
    if not open_rows:
        return
    wanted = {(row["budget_id"], row["itemization_id"]) for row in open_rows}
    holders: dict[tuple[str, str], set[str]] = {}
    budget_ids = sorted({budget_id for budget_id, _ in wanted})
    for start in range(0, len(budget_ids), 500):
        query = (
            sa.select(results.c.budget_id, results.c.itemization_id, results.c.user_key)
            .where(results.c.budget_id.in_(budget_ids[start : start + 500]))
            .distinct()
        )
        for budget_id, item_id, user_key in connection.execute(query):
            if (budget_id, item_id) in wanted:
                holders.setdefault((budget_id, item_id), set()).add(user_key or "")
    kept = []
    for row in load.rows:
        if row[USER_KEY] is None:
            users = holders.get((row["budget_id"], row["itemization_id"]), {""})
            if len(users) > 1:
                load.rejected.append(
                    f"line {row['record']}: pair ({row['budget_id']}, {row['itemization_id']}) "
                    f"was scored for {len(users)} users; give its user_id"
                )
                continue
            row[USER_KEY] = users.pop()
        kept.append(row)
    load.rows = kept


def unlisted_negatives(connection: Connection, load: LabelLoad) -> list[dict[str, Any]]:
    """Negative labels for the scored pairs of `load.users` that no record of `load` lists
    for that user."""
    if not load.users:
        return []
    listed = {(row[USER_KEY], row["budget_id"], row["itemization_id"]) for row in load.rows}
    stamp = load.rows[0]["ingested_at"] if load.rows else None
    source = f"unlisted in {load.rows[0]['source']}" if load.rows else "unlisted"
    query = (
        sa.select(results.c.user_key, results.c.budget_id, results.c.itemization_id)
        .where(results.c.user_key.in_(sorted(load.users)), results.c.score.is_not(None))
        .distinct()
    )
    return [
        {
            USER_KEY: user_key,
            "budget_id": budget_id,
            "itemization_id": item_id,
            "is_match": False,
            "labeled_at": stamp,
            "resolved_at": None,
            "source": source,
            "ingested_at": stamp,
        }
        for user_key, budget_id, item_id in connection.execute(query)
        if (user_key, budget_id, item_id) not in listed
    ]


def ingest_labels(
    engine: Engine,
    path: Path,
    now: datetime | None = None,
    unlisted: str = "ignore",
    mapping: Mapping | None = None,
) -> LabelLoad:
    """Read a label file (its columns and label words mapped by `mapping`) and upsert its
    valid rows; with `unlisted="negative"`, also label the scored pairs of its users that it
    leaves out as no match."""
    records = read_label_records(path, mapping)
    load = parse_labels(records, source=path.name, now=now)
    with engine.begin() as connection:
        resolve_users(connection, load)
        negatives = unlisted_negatives(connection, load) if unlisted == "negative" else []
        upsert_labels(connection, negatives + load.rows)
    load.unlisted = len(negatives)
    return load


def _identifier(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None or not str(value).strip():
        raise ValueError(f"{name} is missing")
    text = restore_cell(str(value).strip())  # the label queue's `'=…` ids (bem.data.csv_writer)
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text


def _user_key(value: Any) -> str | None:
    """The store's user key of a record's user_id (None when the record names no user)."""
    if value is None or not str(value).strip():
        return None
    return _identifier({"user_id": value}, "user_id")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"is_match {value!r} is not a boolean")


def _optional_timestamp(value: Any) -> datetime | None:
    if value is None or not str(value).strip():
        return None
    moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
