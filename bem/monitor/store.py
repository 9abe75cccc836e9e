"""The monitoring store: scored results, delayed labels and the schema version (SQLAlchemy Core).

A SQLite file by default (`sqlite:///results.db`), PostgreSQL or anything SQLAlchemy speaks by
URL (`--db` > `BEM_RESULTS_DB_URL` > default). `ensure_schema` is idempotent: it creates missing
tables and indexes and adds columns that a newer version of the code declares (nullable, so old
rows stay valid). It rewrites one thing, once: labels are keyed like results, with the user
(`user_key`, the user id or "" — schema version 2). A store of version 1 keyed labels by
(budget_id, itemization_id) alone, so a label applied to every user's pair with those ids; the
migration keeps what each label applied to: it becomes one label per user whose results hold the
pair (a label of no scored pair keeps user_key ""). Results stored before `user_key` was
written get theirs (the user id or "").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import ColumnElement

from budget_matcher import config
from budget_matcher.results_db import (
    RESULTS_TABLE,
    USER_KEY,
    create_engine,
    dialect_insert,
    insert_results,
    metadata,
    results,
)

__all__ = [
    "SCHEMA_VERSION",
    "USER_KEY",
    "actions",
    "ensure_schema",
    "ingested_objects",
    "insert_results",
    "label_of",
    "labels",
    "metadata",
    "open_store",
    "rejected_objects",
    "resolve_url",
    "results",
    "upsert_labels",
]

SCHEMA_VERSION = 2
DEFAULT_DB_URL = "sqlite:///results.db"

labels = sa.Table(
    "match_labels",
    metadata,
    sa.Column(USER_KEY, sa.String(), primary_key=True, nullable=False, server_default=""),
    sa.Column("budget_id", sa.String(), primary_key=True),
    sa.Column("itemization_id", sa.String(), primary_key=True),
    sa.Column("is_match", sa.Boolean(), nullable=False),
    sa.Column("labeled_at", sa.DateTime(), nullable=False),
    sa.Column("resolved_at", sa.DateTime(), nullable=True),
    sa.Column("source", sa.String(), nullable=True),
    sa.Column("ingested_at", sa.DateTime(), nullable=True),
)

# What `bem monitor watch` / `report --rollback-on-alert` decided about an alert, and did.
actions = sa.Table(
    "monitor_actions",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("acted_at", sa.DateTime(), nullable=False),
    sa.Column("action", sa.String(), nullable=False),  # "rollback", "would_rollback", "none"
    sa.Column("model_version", sa.String(), nullable=True),
    sa.Column("alert_day", sa.Date(), nullable=True),
    sa.Column("alert_metric", sa.String(), nullable=True),
    sa.Column("alert_segment", sa.String(), nullable=True),
    sa.Column("alert_source", sa.String(), nullable=True),
    sa.Column("region", sa.String(), nullable=True),
    sa.Column("from_version", sa.String(), nullable=True),
    sa.Column("to_version", sa.String(), nullable=True),
    sa.Column("reason", sa.String(), nullable=False),
)


def _s3_object_table(name: str, *columns: sa.Column[Any]) -> sa.Table:
    """A table of S3 objects keyed by bucket and key, with the ETag seen."""
    return sa.Table(
        name,
        metadata,
        sa.Column("bucket", sa.String(), primary_key=True),
        sa.Column("object_key", sa.String(), primary_key=True),
        sa.Column("etag", sa.String(), nullable=True),
        *columns,
    )


# Objects of the S3 results sink already loaded by `bem monitor ingest-s3`.
ingested_objects = _s3_object_table(
    "ingested_objects",
    sa.Column("rows", sa.Integer(), nullable=False),
    sa.Column("ingested_at", sa.DateTime(), nullable=False),
)

# Objects `ingest-s3` set aside: unreadable, refused by the store, or not served (GLACIER).
rejected_objects = _s3_object_table(
    "rejected_objects",
    sa.Column("reason", sa.String(), nullable=False),
    sa.Column("rejected_at", sa.DateTime(), nullable=False),
)

schema_info = sa.Table(
    "bem_schema",
    metadata,
    sa.Column("name", sa.String(), primary_key=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("migrated_at", sa.DateTime(), nullable=False),
)

_LABEL_KEY = (USER_KEY, "budget_id", "itemization_id")
LABELS_TABLE = "match_labels"
_LABEL_COLUMNS = tuple(column.name for column in labels.columns)
_REKEYED = "match_labels_v2"  # the labels table being rebuilt with the user in its key


def label_of(scored: Any) -> ColumnElement[bool]:
    """The join condition of a label and a scored row (`results` or a subquery of it): the
    same user and pair."""
    return sa.and_(
        labels.c.user_key == scored.c.user_key,
        labels.c.budget_id == scored.c.budget_id,
        labels.c.itemization_id == scored.c.itemization_id,
    )


def resolve_url(url: str | None = None) -> str:
    """Explicit URL > `BEM_RESULTS_DB_URL` > `sqlite:///results.db`."""
    return url or os.environ.get(config.ENV_RESULTS_DB_URL) or DEFAULT_DB_URL


def open_store(url: str | None = None) -> Engine:
    """An engine on the store, its schema created or migrated."""
    engine = create_engine(resolve_url(url))
    ensure_schema(engine)
    return engine


def ensure_schema(engine: Engine) -> list[str]:
    """Create missing tables, add missing columns, record the version; returns what it did."""
    actions: list[str] = []
    with engine.begin() as connection:
        actions += _key_labels_by_user(connection)
        inspector = sa.inspect(connection)
        present = set(inspector.get_table_names())
        for table in metadata.sorted_tables:
            if table.name not in present:
                table.create(connection)
                actions.append(f"created table {table.name}")
                continue
            have = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have:
                    _add_column(connection, table.name, column)
                    actions.append(f"added column {table.name}.{column.name}")
        _record_version(connection)
    return actions


def _key_labels_by_user(connection: Connection) -> list[str]:
    """Rebuild a labels table keyed without the user (schema version 1) into the keyed one."""
    present = set(sa.inspect(connection).get_table_names())
    if _REKEYED in present and LABELS_TABLE not in present:  # a rebuild cut short at its end
        connection.execute(sa.text(f"ALTER TABLE {_REKEYED} RENAME TO {LABELS_TABLE}"))
        return [f"renamed {_REKEYED} to {LABELS_TABLE}"]
    if LABELS_TABLE not in present:
        return []
    inspector = sa.inspect(connection)
    key = inspector.get_pk_constraint(LABELS_TABLE).get("constrained_columns") or []
    if USER_KEY in key:
        return []
    actions = []
    if RESULTS_TABLE in present:
        have = {column["name"] for column in inspector.get_columns(RESULTS_TABLE)}
        if USER_KEY in have:
            filled = connection.execute(
                results.update()
                .where(results.c.user_key.is_(None))
                .values(user_key=sa.func.coalesce(results.c.user_id, ""))
            ).rowcount
            if filled:
                actions.append(f"set {RESULTS_TABLE}.{USER_KEY} of {filled} rows")
    old = sa.Table(LABELS_TABLE, sa.MetaData(), autoload_with=connection)
    rows = [dict(row) for row in connection.execute(sa.select(old)).mappings()]
    users = _users_of_pairs(connection, present)
    rekeyed = sa.Table(
        _REKEYED,
        sa.MetaData(),
        *(sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable,
                    server_default=c.server_default) for c in labels.columns),
    )  # fmt: skip
    if _REKEYED in present:
        rekeyed.drop(connection)
    rekeyed.create(connection)
    migrated = [
        {**{name: row.get(name) for name in _LABEL_COLUMNS}, USER_KEY: user}
        for row in rows
        for user in users.get((row["budget_id"], row["itemization_id"]), [""])
    ]
    if migrated:
        connection.execute(rekeyed.insert(), migrated)
    old.drop(connection)
    connection.execute(sa.text(f"ALTER TABLE {_REKEYED} RENAME TO {LABELS_TABLE}"))
    actions.append(f"keyed {len(rows)} labels by user ({len(migrated)} labels)")
    return actions


def _users_of_pairs(connection: Connection, present: set[str]) -> dict[tuple[str, str], list[str]]:
    """(budget_id, itemization_id) -> the user keys whose stored results hold that pair."""
    if RESULTS_TABLE not in present:
        return {}
    have = {column["name"] for column in sa.inspect(connection).get_columns(RESULTS_TABLE)}
    user = results.c.user_key if USER_KEY in have else results.c.user_id
    query = sa.select(results.c.budget_id, results.c.itemization_id, user).distinct()
    users: dict[tuple[str, str], list[str]] = {}
    for budget_id, item_id, key in connection.execute(query):
        users.setdefault((budget_id, item_id), []).append(key or "")
    return users


def _add_column(connection: Connection, table_name: str, column: sa.Column[Any]) -> None:
    preparer = connection.dialect.identifier_preparer
    column_type = column.type.compile(dialect=connection.dialect)
    connection.execute(
        sa.text(
            f"ALTER TABLE {preparer.quote(table_name)} "
            f"ADD COLUMN {preparer.quote(column.name)} {column_type}"
        )
    )


def _record_version(connection: Connection) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    current = connection.execute(
        sa.select(schema_info.c.version).where(schema_info.c.name == "store")
    ).scalar()
    if current is None:
        connection.execute(
            schema_info.insert().values(name="store", version=SCHEMA_VERSION, migrated_at=now)
        )
    elif current < SCHEMA_VERSION:
        connection.execute(
            schema_info.update()
            .where(schema_info.c.name == "store")
            .values(version=SCHEMA_VERSION, migrated_at=now)
        )


def upsert_labels(connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert labels; a label for a pair already labelled replaces it (the newest word wins).

    A label's key is (user_key, budget_id, itemization_id), as a result's: a row without
    `user_key` is a label of the pair scored for no user."""
    if not rows:
        return 0
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        row = {name: row.get(name) for name in _LABEL_COLUMNS}
        row[USER_KEY] = row[USER_KEY] or ""
        latest[tuple(row[k] for k in _LABEL_KEY)] = row
    params = list(latest.values())
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        statement = dialect_insert(dialect, labels)
        updates = {
            name: statement.excluded[name]
            for name in ("is_match", "labeled_at", "resolved_at", "source", "ingested_at")
        }
        connection.execute(
            statement.on_conflict_do_update(index_elements=list(_LABEL_KEY), set_=updates), params
        )
        return len(params)
    for row in params:
        connection.execute(labels.delete().where(*(labels.c[k] == row[k] for k in _LABEL_KEY)))
        connection.execute(labels.insert(), [row])
    return len(params)
