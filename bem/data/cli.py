"""`bem data`: check a history against the contract, write a template, make request payloads.

`history_options` declares the reading options once; `bem train`, `bem evaluate` and
`bem explain --history` use them too, `bem monitor label` the column options.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from bem.data.check import DEFAULT_MAX_INVALID, History
from bem.data.columns import HistoryError, Mapping
from bem.data.convert import history_dataset, history_payload, history_users, template_csv
from bem.data.dates import ORDERS
from bem.data.numbers import DECIMALS
from bem.data.options import HistoryArgs
from bem.data.report import report_lines, summary
from bem.model.dataset import Dataset, UserRecords

F = TypeVar("F", bound=Callable[..., object])


def column_options(command: F) -> F:
    """--columns, --column and --labels: the user's names for our columns and labels."""
    command = click.option(
        "--labels",
        default=None,
        metavar="WORD=1,WORD=0",
        help='Your label words, e.g. --labels "Yes (manual)=1,No=0" (or a [labels] table in '
        "the --columns file).",
    )(command)
    command = click.option(
        "--column",
        "column_pairs",
        multiple=True,
        metavar="THEIRS=OURS",
        help="Map one column, e.g. --column trip_id=budget_id (repeatable; merges with --columns).",
    )(command)
    return click.option(
        "--columns",
        "columns_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help='TOML mapping of your column names to ours ([columns] theirs = "ours", or a '
        'list ["ours", "other"] to feed several).',
    )(command)


def mapping_from(
    columns_file: Path | None, column_pairs: tuple[str, ...], labels: str | None = None
) -> Mapping:
    """The mapping the column options give, or a one-line error."""
    try:
        return HistoryArgs(columns_file, column_pairs, labels).mapping()
    except HistoryError as error:
        raise click.ClickException(str(error)) from error


def history_options(command: F) -> F:
    """--columns, --column, --labels, --dates, --decimal and --max-invalid, collapsed into one
    keyword `reading` (a HistoryArgs)."""

    @functools.wraps(command)
    def collapse(
        *args: Any,
        columns_file: Path | None,
        column_pairs: tuple[str, ...],
        labels: str | None,
        dates: str | None,
        decimal: str | None,
        max_invalid: float,
        **kwargs: Any,
    ) -> Any:
        reading = HistoryArgs(columns_file, column_pairs, labels, dates, decimal, max_invalid)
        return command(*args, reading=reading, **kwargs)

    wrapped: Any = click.option(
        "--max-invalid",
        type=click.FloatRange(0.0, 1.0),
        default=DEFAULT_MAX_INVALID,
        show_default=True,
        help="Largest share of unreadable rows tolerated, overall and of matches and of "
        "non-matches (they are left out and reported).",
    )(collapse)
    wrapped = click.option(
        "--decimal",
        type=click.Choice(DECIMALS),
        default=None,
        help="Decimal separator of amounts like 1.234 (required when they read both ways).",
    )(wrapped)
    wrapped = click.option(
        "--dates",
        type=click.Choice(ORDERS),
        default=None,
        help="Order of numeric dates like 05/07/2025 (required when they read both ways).",
    )(wrapped)
    return cast(F, column_options(wrapped))


def read_history(
    path: Path,
    reading: HistoryArgs,
    require_label: bool = True,
    quiet: bool = False,
    keep_fields: bool = True,
) -> History:
    """Check a history for a command; print its report on stderr; one-line error if unusable
    (repeating the user's options in the command it suggests)."""
    from bem.data.check import load_history

    command = _command()
    try:
        history = load_history(path, reading.options(require_label, keep_fields))
    except HistoryError as error:
        raise click.ClickException(reading.explain(error, command, path)) from error
    if not quiet:
        for line in report_lines(history):
            click.echo(line, err=True)
    return history


def _command() -> str:
    """The running command as the user types it (`bem data check`, `bem train`)."""
    context: click.Context | None = click.get_current_context()
    names = []
    while context is not None and context.parent is not None:
        names.append(str(context.info_name))
        context = context.parent
    return " ".join(["bem", *reversed(names)])


def load_labelled(
    data: Path, unlisted: str, reading: HistoryArgs
) -> tuple[Dataset, list[UserRecords], dict[str, Any]]:
    """A labelled history through the contract, for `bem train`/`bem evaluate`: the dataset,
    its users and what the model card records of it (report on stderr, one-line errors)."""
    history = read_history(data, reading)
    try:
        users = history_users(history)
        dataset = history_dataset(history, unlisted)
    except HistoryError as error:
        command = _command()
        raise click.ClickException(reading.explain(error, command, data)) from error
    if dataset.n_error_items:
        click.echo(f"warning: the runtime could not read {dataset.n_error_items} records", err=True)
    card = {"shape": history.shape, "reading": history.reading}
    return dataset, users, card


@click.group("data")
def data_group() -> None:
    """Bring your own history: check it, start from a template, turn it into requests.

    Example: bem data check history.csv --dates dmy --column trip_id=budget_id
    """


@data_group.command("check")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@history_options
@click.option("--unlabelled", is_flag=True, help="The file has no is_match column.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_command(path: Path, reading: HistoryArgs, unlabelled: bool, as_json: bool) -> None:
    """Check a history (a file, or a directory of budgets, items and links tables): shape,
    columns, delimiter, encoding, dates, amounts, labels, unreadable values.

    Example: bem data check history.csv --dates dmy --decimal comma
    """
    history = read_history(path, reading, not unlabelled, quiet=as_json, keep_fields=False)
    try:
        users = history_users(history)
    except HistoryError as error:
        raise click.ClickException(str(error)) from error
    pairs = sum(len(u.budgets) * len(u.items) for u in users)
    matches = sum(1 for u in users for label in u.labels.values() if label == 1)
    if as_json:
        report = {**summary(history), "users": len(users), "pairs": pairs, "matches": matches}
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(f"ok: {len(users)} users, {pairs} candidate pairs, {matches} matches", err=True)


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
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@history_options
@click.option("--user", "user_id", default=None, help="Only this user, as a seed payload.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here (default: stdout).",
)
def payloads_command(
    path: Path, reading: HistoryArgs, user_id: str | None, out: Path | None
) -> None:
    """Turn a history into a request for bem invoke / the API (labels dropped; dates as ISO,
    amounts as numbers).

    Example: bem data payloads history.csv --user u1 --out request.json
    """
    history = read_history(path, reading, False)
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
