"""--from-store and its window, the learning loop's data option (for `bem train`,
`bem evaluate`, `bem model compare` and `bem model promote --require-win`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

import click

from bem.loop.compare import user_digests
from bem.loop.prior import DEFAULT_PRIOR_WEIGHT
from bem.loop.store_data import StoreWindow

F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True)
class StoreSource:
    """--from-store with its window: the labelled pairs of a monitoring store."""

    url: str
    window: StoreWindow

    def load(self, unlisted: str) -> tuple[Any, dict[str, Any]]:
        """The dataset of the window and the card's `source` entry (with the store's URL
        without its password)."""
        import sqlalchemy as sa

        from bem.loop.store_data import store_dataset
        from bem.monitor.store import open_store

        engine = open_store(self.url)
        try:
            dataset, card = store_dataset(engine, self.window, unlisted)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        finally:
            engine.dispose()
        card["store"]["url"] = sa.engine.make_url(self.url).render_as_string(hide_password=True)
        card["user_digests"] = user_digests(dataset.users.tolist())
        return dataset, card

    def describe(self) -> str:
        """One line for a report's header."""
        window = self.window.card()
        return f"store {window['since']} – {window['until']}, versions {window['versions']}"


def store_options(command: F) -> F:
    """--from-store DB, --since, --until, --versions → `store` (a StoreSource or None)."""

    @functools.wraps(command)
    def collapse(
        *args: Any,
        from_store: str | None,
        since: datetime | None,
        until: datetime | None,
        versions: tuple[str, ...],
        **kwargs: Any,
    ) -> Any:
        names = tuple(v.strip() for text in versions for v in text.split(",") if v.strip())
        store = None
        if from_store is not None:
            store = StoreSource(from_store, StoreWindow(since, until, names))
        elif since or until or names:
            raise click.UsageError("--since, --until and --versions go with --from-store")
        return command(*args, store=store, **kwargs)

    options = [
        click.option(
            "--from-store",
            metavar="DB",
            default=None,
            help="Labelled pairs of the monitoring store at this SQLAlchemy URL: the stored "
            "requests rebuilt, labels from `bem monitor label` (instead of --data).",
        ),
        click.option(
            "--since",
            type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
            default=None,
            help="With --from-store: results scored from this day (UTC).",
        ),
        click.option(
            "--until",
            type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
            default=None,
            help="With --from-store: results scored before this day (UTC).",
        ),
        click.option(
            "--versions",
            multiple=True,
            metavar="V[,V…]",
            help="With --from-store: only results scored by these model versions.",
        ),
    ]
    wrapped: Any = collapse
    for option in reversed(options):
        wrapped = option(wrapped)
    return cast(F, wrapped)


def prior_options(command: F) -> F:
    """--prior-users N and --prior-weight W: synthetic users of the model of record's training
    mix added to own data, each pair weighing W."""
    command = click.option(
        "--prior-weight",
        default=DEFAULT_PRIOR_WEIGHT,
        show_default=True,
        help="Weight of a prior pair against an own pair's 1.",
    )(command)
    return cast(
        F,
        click.option(
            "--prior-users",
            default=0,
            show_default=True,
            help="Add this many synthetic users (the model of record's training mix) to own data.",
        )(command),
    )


def curve_options(command: F) -> F:
    """--learning-curve N,N,… (→ `curve_sizes`), the store options and the prior options of
    `bem evaluate`."""
    command = prior_options(store_options(command))
    return cast(
        F,
        click.option(
            "--learning-curve",
            "curve_sizes",
            default=None,
            metavar="N,N,…",
            help="PR-AUC on these users against the number of own labelled users "
            "(--from-store): the model of record, own data only, own data plus a prior, warm "
            "start; e.g. 25,50,100.",
        )(command),
    )
