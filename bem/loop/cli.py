"""`bem model compare` (champion and challenger on the same labelled window) and
`bem model promote --require-win`; the `bem model` group with them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bem.data.cli import load_labelled
from bem.loop.options.cli import StoreSource, store_options
from bem.model.cli import data_source_options, model_group
from bem.model.cli import promote_command as plain_promote
from bem.model.source import DataSource

__all__ = ["model_group"]


def _window(source: DataSource, store: StoreSource | None) -> Any:
    """The labelled window: the store's, or --data / synthetic users."""
    if store is not None:
        if source.data is not None:
            raise click.UsageError("give --data or --from-store, not both")
        return store.load(source.unlisted)[0]
    return source.load(load_labelled, feature_tables=False).dataset


def compare_models(
    champion_dir: Path, challenger_dir: Path, dataset: Any, rounds: int, seed: int
) -> dict[str, Any]:
    """Both models on `dataset` (refused when either trained on it): the comparison report."""
    import predict
    from bem.loop.compare import OverlapError, Scored, check_unseen, compare_scores
    from bem.model.evaluate import served_scores

    scored = []
    for directory in (champion_dir, challenger_dir):
        model = predict.load_model(directory, "sklearn")
        try:
            check_unseen(model.card, f"{directory} ({model.version})", dataset)
        except OverlapError as error:
            raise click.ClickException(str(error)) from error
        scores = served_scores(model, dataset.pairs, dataset.features)
        scored.append(Scored(str(directory), str(model.version), scores, float(model.threshold)))
    return compare_scores(dataset, scored[0], scored[1], rounds, seed)


def _comparison_options(command: Any) -> Any:
    command = click.option(
        "--rounds", default=500, show_default=True, help="Bootstrap rounds (users drawn)."
    )(command)
    command = store_options(command)
    return data_source_options(
        synth_users=300,
        seed=1001,
        users_help="Without --data or --from-store: compare on this many synthetic users.",
        seed_help="Seed of the synthetic users and of the bootstrap.",
    )(command)


@model_group.command("compare")
@click.argument("champion", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("challenger", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_comparison_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def compare_command(
    champion: Path,
    challenger: Path,
    source: DataSource,
    store: StoreSource | None,
    rounds: int,
    as_json: bool,
) -> None:
    """Compare two models on the same labelled window, which neither trained on: ΔPR-AUC,
    precision and recall at each model's own threshold, paired bootstrap intervals by user.

    Example: bem model compare model models/1.5.0 --from-store sqlite:///r.db --since 2026-12-01
    """
    report = compare_models(champion, challenger, _window(source, store), rounds, source.seed)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    from bem.loop.compare import text_lines

    click.echo("\n".join(text_lines(report)))


@click.command("promote")
@click.argument("candidate", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--require-win",
    is_flag=True,
    help="Promote only when the candidate beats the model of record on the given window "
    "(--data or --from-store): PR-AUC interval by user above 0.",
)
@_comparison_options
@click.pass_context
def promote_command(
    context: click.Context,
    candidate: Path,
    require_win: bool,
    source: DataSource,
    store: StoreSource | None,
    rounds: int,
) -> None:
    """Make a trained model directory the model of record (model/), hash checked; with
    --require-win, only when it beats the model of record on a window neither trained on.

    Example: bem model promote models/1.5.0 --require-win --from-store sqlite:///r.db
    """
    if require_win:
        from bem.loop.compare import text_lines
        from budget_matcher import config

        record = config.env_path(config.ENV_MODEL_DIR, config.DEFAULT_MODEL_DIR)
        report = compare_models(record, candidate, _window(source, store), rounds, source.seed)
        click.echo("\n".join(text_lines(report)), err=True)
        if not report["challenger_wins"]:
            raise click.ClickException(
                f"{candidate} does not beat the model of record on this window; not promoted"
            )
    context.invoke(plain_promote, source=candidate)


model_group.add_command(promote_command)
