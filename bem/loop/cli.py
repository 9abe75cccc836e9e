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

    scored = []
    for directory in (champion_dir, challenger_dir):
        model = predict.load_model(directory, "sklearn")
        try:
            check_unseen(model.card, f"{directory} ({model.version})", dataset)
        except OverlapError as error:
            raise click.ClickException(str(error)) from error
        scores = model.score(dataset.features)
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


def learning_curve_report(
    source: DataSource,
    store: StoreSource | None,
    sizes: tuple[int, ...],
    prior: tuple[int, float],
    paths: tuple[Path | None, Path],
) -> None:
    """`bem evaluate --learning-curve`: own users from the store, test users from --data or
    synthetic users; the curve as a table on stdout and as JSON at `paths[1]`."""
    import predict
    from bem.loop.curve import CurveSettings, learning_curve, markdown_table
    from bem.loop.prior import PRIOR_SEED, load_pipeline, prior_dataset, record_knobs
    from budget_matcher import config

    if store is None or not sizes:
        raise click.UsageError("--learning-curve N,N,… takes own labelled users from --from-store")
    model_dir = paths[0] or config.env_path(config.ENV_MODEL_DIR, config.DEFAULT_MODEL_DIR)
    record = predict.load_model(model_dir, "sklearn")
    own, _ = store.load(source.unlisted)
    test = source.load(load_labelled, feature_tables=False).dataset
    prior_users, weight = prior
    prior_data = (
        prior_dataset(prior_users, PRIOR_SEED, record_knobs(record.card)) if prior_users else None
    )
    settings = CurveSettings(sizes=sizes, prior_weight=weight, seed=source.seed)
    rows = learning_curve(own, test, record, load_pipeline(model_dir), prior_data, settings,
                          lambda line: click.echo(line, err=True))  # fmt: skip
    click.echo("\n".join(markdown_table(rows)))
    paths[1].parent.mkdir(parents=True, exist_ok=True)
    document = {"model_of_record": record.version, "test": source.describe(),
                "own": store.describe(), "prior": {"users": prior_users, "weight": weight},
                "rows": rows}  # fmt: skip
    paths[1].write_text(json.dumps(document, indent=2) + "\n")
    click.echo(f"wrote {paths[1]}", err=True)
