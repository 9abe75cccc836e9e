"""The `scored_results` table and its idempotent insert (SQLAlchemy Core).

Imported only when a results database is configured: SQLAlchemy ships in the zip only with
`./build --with-results-db`. The monitoring tools (`bem.monitor.store`) add the labels table
and migrations on the same metadata.

The key of a stored result is (request_id, user_key, budget_id, itemization_id), user_key being
the user id or "" when the request named none: two users of one batch may use the same budget
and line-item ids. Text is stored as sent, except NUL characters (which PostgreSQL refuses in
text) and lone surrogates, both replaced by U+FFFD.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from budget_matcher.result_rows import RESULT_COLUMNS, RESULT_KEY, parse_iso, whole
from budget_matcher.values import utf8_safe

RESULTS_TABLE = "scored_results"

_TYPES: dict[str, Any] = {
    "str": sa.String,
    "float": sa.Float,
    "bool": sa.Boolean,
    "datetime": sa.DateTime,
    "int": sa.Integer,
}

metadata = sa.MetaData()

USER_KEY = "user_key"
DB_KEY = ("request_id", USER_KEY, "budget_id", "itemization_id")

results = sa.Table(
    RESULTS_TABLE,
    metadata,
    *(
        sa.Column(
            name, _TYPES[kind](), primary_key=name in RESULT_KEY, nullable=name not in RESULT_KEY
        )
        for name, kind in RESULT_COLUMNS
    ),
    sa.Column(USER_KEY, sa.String(), primary_key=True, nullable=False, server_default=""),
    sa.Index("ix_scored_results_scored_at", "scored_at"),
    sa.Index("ix_scored_results_pair", "budget_id", "itemization_id"),
)


def create_engine(url: str, connect_timeout_s: int = 3) -> Engine:
    """An engine that gives up quickly when the database is unreachable."""
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql+pg8000"):  # the pure-Python driver of the Lambda zip
        connect_args["timeout"] = max(2, connect_timeout_s)
    elif url.startswith("postgresql"):
        connect_args["connect_timeout"] = max(2, connect_timeout_s)
    elif url.startswith("sqlite"):
        connect_args["timeout"] = connect_timeout_s
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)


INT_RANGE = (-(2**31), 2**31 - 1)  # sa.Integer is 32 bits on PostgreSQL


def to_db_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON rows (ISO timestamps) as DB-API parameters (datetime objects). ValueError for a
    value no column of its kind holds (a dict as an id, a bad date, an out-of-range integer),
    so a database refusal is never mistaken for a database fault."""
    converted = []
    for row in rows:
        params = {name: _column_value(name, kind, row.get(name)) for name, kind in RESULT_COLUMNS}
        params[USER_KEY] = params["user_id"] or ""
        converted.append(params)
    return converted


def _column_value(name: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if type(value).__module__ == "numpy":  # numpy scalars as their Python values
        value = value.item()
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "str" and (isinstance(value, str) or number):
        return storable_text(value if isinstance(value, str) else str(value))
    if kind == "datetime" and isinstance(value, str):
        return parse_iso(value)
    if kind == "datetime" and isinstance(value, datetime):
        return value
    if kind == "float" and number:
        try:
            return float(value)
        except OverflowError:
            raise ValueError(f"{name}: number out of range") from None
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and (number or isinstance(value, str)):
        whole_value = whole(value)
        if whole_value is not None and not INT_RANGE[0] <= whole_value <= INT_RANGE[1]:
            raise ValueError(f"{name}: integer out of range")
        return whole_value
    raise ValueError(f"{name}: a {type(value).__name__} is not a {kind}")


def storable_text(text: str) -> str:
    """`text` as every supported database stores it: no NUL, no lone surrogate."""
    return utf8_safe(text).replace("\x00", "\ufffd")


OLD_KEY = ("request_id", "budget_id", "itemization_id")  # stores created before user_key


def table_layout(connection: Connection) -> tuple[tuple[str, ...], frozenset[str]]:
    """The key the existing `scored_results` table enforces and the columns it has.

    A store created before `user_key` keeps the older three-column key until it is rebuilt:
    rows are then written against that key (two users' identical ids merge, as they did),
    rather than every write failing and spooling. A store created before a later column
    (`pair_index`) is written without it until `bem monitor init-db` adds it.
    """
    inspector = sa.inspect(connection)
    columns = frozenset(column["name"] for column in inspector.get_columns(RESULTS_TABLE))
    key = tuple(inspector.get_pk_constraint(RESULTS_TABLE).get("constrained_columns") or ())
    return (DB_KEY if set(key) == set(DB_KEY) else OLD_KEY), columns


def insert_results(
    connection: Connection,
    rows: Sequence[dict[str, Any]],
    key: Sequence[str] = DB_KEY,
    columns: frozenset[str] | None = None,
) -> int:
    """Insert rows, skipping any whose (request_id, user_key, budget_id, itemization_id) is stored.

    Returns the number of rows offered. Uses INSERT .. ON CONFLICT DO NOTHING on SQLite and
    PostgreSQL; on other databases it skips keys it finds already present. `key` and `columns`
    come from `table_layout` for a store of an older layout: only the columns it has are
    written.
    """
    if not rows:
        return 0
    params = _dedupe(to_db_rows(rows), key)
    missing = [] if columns is None else [name for name in params[0] if name not in columns]
    for row in params:
        for name in missing:
            del row[name]
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        statement = dialect_insert(dialect, results).on_conflict_do_nothing(
            index_elements=list(key)
        )
        connection.execute(statement, params)
        return len(rows)
    for row in params:
        exists = connection.execute(
            sa.select(sa.literal(1)).where(*(results.c[k] == row[k] for k in key))
        ).first()
        if exists is None:
            connection.execute(results.insert(), [row])
    return len(rows)


def dialect_insert(dialect: str, table: sa.Table) -> Any:
    """The INSERT construct of SQLite or PostgreSQL, which knows ON CONFLICT."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert

    return postgresql_insert(table)


def _dedupe(params: list[dict[str, Any]], key: Sequence[str]) -> list[dict[str, Any]]:
    """Keep the first row per key: one statement must not carry the same key twice."""
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for row in params:
        value = tuple(row[k] for k in key)
        if value not in seen:
            seen.add(value)
            unique.append(row)
    return unique
