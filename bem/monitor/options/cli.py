"""The options of `bem monitor` shared by its command modules (`bem/monitor/cli.py`, which
fills the store, and `bem/monitor/reporting/cli.py`, which reads it): the store's URL and the
end of a period."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import click

from budget_matcher import config

DB_HELP = (
    f"SQLAlchemy URL of the store (default: ${config.ENV_RESULTS_DB_URL} or sqlite:///results.db)"
)

# --db → `db_url` (None: $BEM_RESULTS_DB_URL or the SQLite default, see bem.monitor.store)
db_option = click.option("--db", "db_url", default=None, help=DB_HELP)


def today() -> date:
    """Today's date in UTC."""
    return datetime.now(UTC).date()


def end_option(default_help: str) -> Any:
    """--end → `end` (a datetime, or None for the command's default, which `default_help`
    names)."""
    return click.option(
        "--end",
        type=click.DateTime(["%Y-%m-%d"]),
        default=None,
        help=f"First day after the period, YYYY-MM-DD (default: {default_help}).",
    )
