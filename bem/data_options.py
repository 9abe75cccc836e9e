"""The click options that choose labeled data: a user's file or synthetic users.

`bem train` and `bem evaluate` take the same data; only the defaults differ.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def data_source_options(
    synth_users: int, seed: int, users_help: str, seed_help: str
) -> Callable[[F], F]:
    """--data, --unlisted, --synth-users, --seed, --noise and --knob, in that order."""
    options = [
        click.option(
            "--data",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help="Labeled CSV/JSON (seed fields + user_id + is_match).",
        ),
        click.option(
            "--unlisted",
            type=click.Choice(["negative", "drop"]),
            default="negative",
            show_default=True,
            help="Pairs no row lists: negatives, or left out.",
        ),
        click.option("--synth-users", default=synth_users, show_default=True, help=users_help),
        click.option("--seed", default=seed, show_default=True, help=seed_help),
        click.option(
            "--noise", default=1.0, show_default=True, help="Noise scale of synthetic users."
        ),
        click.option(
            "--knob",
            "overrides",
            multiple=True,
            metavar="NAME=VALUE",
            help="One synthetic noise knob (see bem synth --help).",
        ),
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate
