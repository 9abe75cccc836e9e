"""`bem synth`: write labeled synthetic users as CSV or JSON."""

from __future__ import annotations

from pathlib import Path

import click

from bem.synth.knobs import NoiseKnobs, SynthConfig, knobs_from_options
from bem.synth.users import generate_users, write_rows


def knob_option_values(noise: float, overrides: tuple[str, ...]) -> NoiseKnobs:
    """`--noise` and `--knob NAME=VALUE` as knobs; a bad override is a usage error."""
    try:
        return knobs_from_options(noise, overrides)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--knob") from error


@click.command("synth")
@click.option("--users", default=200, show_default=True, help="How many users.")
@click.option("--seed", default=0, show_default=True, help="Random seed (same seed, same data).")
@click.option(
    "--noise", default=1.0, show_default=True, help="Scale every noise knob (2.0 = harsher)."
)
@click.option(
    "--knob",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set one noise knob, e.g. --knob missing=0.2 (see bem.synth.NoiseKnobs).",
)
@click.option(
    "--spread", default=0.5, show_default=True, help="Per-user noise multiplier range 1 +/- spread."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default=None,
    help="Output format (default: from the file suffix, else csv).",
)
@click.option(
    "--layout",
    type=click.Choice(["compact", "full"]),
    default="compact",
    show_default=True,
    help="compact: each record once + every match; full: all pairs.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Output file (default: stdout).",
)
def synth_command(
    users: int,
    seed: int,
    noise: float,
    overrides: tuple[str, ...],
    spread: float,
    fmt: str | None,
    layout: str,
    out: Path | None,
) -> None:
    """Generate labeled synthetic users (seed field names + user_id + is_match).

    Example: bem synth --users 500 --seed 7 --noise 2.0 --out harsh.csv
    """
    config = SynthConfig(
        users=users, seed=seed, knobs=knob_option_values(noise, overrides), noise_spread=spread
    )
    chosen = fmt or ("json" if out is not None and out.suffix == ".json" else "csv")
    count = write_rows(generate_users(config), out, chosen, layout)
    click.echo(f"wrote {count} rows for {users} users", err=True)
