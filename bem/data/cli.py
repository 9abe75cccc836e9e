"""`bem data`: check a history against the contract, write a template, make request payloads.

`history_options` declares the reading options once; `bem train` and `bem evaluate` use them too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bem.data.check import DEFAULT_MAX_INVALID, History, HistoryOptions, load_history
from bem.data.columns import HistoryError, parse_mapping
from bem.data.convert import history_dataset, history_payload, history_users, template_csv
from bem.data.dates import ORDERS
from bem.model.dataset import Dataset, UserRecords

F = TypeVar("F", bound=Callable[..., object])


def column_options(command: F) -> F:
    """--columns and --column: the user's column names mapped to ours (see `mapping_from`)."""
    command = click.option(
        "--column",
        "column_pairs",
        multiple=True,
        metavar="THEIRS=OURS",
        help="Map one column, e.g. --column trip_id=budget_id (repeatable).",
    )(command)
    return click.option(
        "--columns",
        "columns_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help='TOML mapping of your column names to ours ([columns] theirs = "ours").',
    )(command)


def mapping_from(columns_file: Path | None, column_pairs: tuple[str, ...]) -> dict[str, str]:
    """The mapping the column options give, or a one-line error."""
    try:
        return parse_mapping(column_pairs, columns_file)
    except HistoryError as error:
        raise click.ClickException(str(error)) from error


def history_options(command: F) -> F:
    """--columns, --column, --dates and --max-invalid (keyword `history` is not added)."""
    command = click.option(
        "--max-invalid",
        type=click.FloatRange(0.0, 1.0),
        default=DEFAULT_MAX_INVALID,
        show_default=True,
        help="Largest share of unreadable rows tolerated (they are left out and reported).",
    )(command)
    command = click.option(
        "--dates",
        type=click.Choice(ORDERS),
        default=None,
        help="Order of numeric dates like 05/07/2025 (required when they read both ways).",
    )(command)
    return column_options(command)


def read_history(
    path: Path,
    columns_file: Path | None,
    column_pairs: tuple[str, ...],
    dates: str | None,
    max_invalid: float,
    require_label: bool = True,
    quiet: bool = False,
) -> History:
    """Check a history for a command; print its report on stderr; one-line error if unusable."""
    options = HistoryOptions(mapping_from(columns_file, column_pairs), dates, max_invalid,
                             require_label)  # fmt: skip
    try:
        history = load_history(path, options)
    except HistoryError as error:
        raise click.ClickException(str(error)) from error
    if not quiet:
        for line in history.lines():
            click.echo(line, err=True)
    return history


def load_labelled(
    data: Path,
    unlisted: str,
    columns_file: Path | None,
    column_pairs: tuple[str, ...],
    dates: str | None,
    max_invalid: float,
) -> tuple[Dataset, list[UserRecords]]:
    """A labelled history through the contract, for `bem train`/`bem evaluate`: the dataset
    and its users (report on stderr, one-line errors)."""
    history = read_history(data, columns_file, column_pairs, dates, max_invalid)
    try:
        users = history_users(history)
        dataset = history_dataset(history, unlisted)
    except HistoryError as error:
        raise click.ClickException(str(error)) from error
    if dataset.n_error_items:
        click.echo(f"warning: the runtime could not read {dataset.n_error_items} records", err=True)
    return dataset, users


@click.group("data")
def data_group() -> None:
    """Bring your own history: check it, start from a template, turn it into requests.

    Example: bem data check history.csv --dates dmy --column trip_id=budget_id
    """


@data_group.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@history_options
@click.option("--unlabelled", is_flag=True, help="The file has no is_match column.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_command(
    path: Path,
    columns_file: Path | None,
    column_pairs: tuple[str, ...],
    dates: str | None,
    max_invalid: float,
    unlabelled: bool,
    as_json: bool,
) -> None:
    """Check a history file: columns, delimiter, encoding, dates, unreadable values.

    Example: bem data check history.csv --dates dmy
    """
    history = read_history(
        path, columns_file, column_pairs, dates, max_invalid, not unlabelled, quiet=as_json
    )
    try:
        users = history_users(history)
    except HistoryError as error:
        raise click.ClickException(str(error)) from error
    pairs = sum(len(u.budgets) * len(u.items) for u in users)
    if as_json:
        click.echo(json.dumps({**history.summary(), "users": len(users), "pairs": pairs}, indent=2))
    else:
        click.echo(f"ok: {len(users)} users, {pairs} candidate pairs", err=True)


@data_group.command("template")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here (default: stdout).",
)
def template_command(out: Path | None) -> None:
    """Print a history CSV with every column and two example rows.

    Example: bem data template --out history-template.csv
    """
    text = template_csv()
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)


@data_group.command("payloads")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@history_options
@click.option("--user", "user_id", default=None, help="Only this user, as a seed payload.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here (default: stdout).",
)
def payloads_command(
    path: Path,
    columns_file: Path | None,
    column_pairs: tuple[str, ...],
    dates: str | None,
    max_invalid: float,
    user_id: str | None,
    out: Path | None,
) -> None:
    """Turn a history into a request for bem invoke / the API (labels dropped).

    Example: bem data payloads history.csv --user u1 --out request.json
    """
    history = read_history(path, columns_file, column_pairs, dates, max_invalid, False)
    try:
        payload: dict[str, Any] = history_payload(history, user_id)
    except HistoryError as error:
        raise click.ClickException(str(error)) from error
    text = json.dumps(payload, indent=1)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
