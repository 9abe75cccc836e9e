"""`bem train` and `bem evaluate`: labeled data (synthetic or a user's history) → model/, reports.

Both take the same data options (`data_source_options`), collapsed into one `DataSource`;
only the defaults differ.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click
import numpy as np
from sklearn.pipeline import Pipeline

from bem.data.cli import history_options, load_labelled
from bem.data.options import HistoryArgs
from bem.loop.compare import user_digests
from bem.loop.options.cli import StoreSource, curve_options, prior_options, store_options
from bem.model.baseline import RuleBaseline
from bem.model.evaluate import evaluate_model, markdown, synthetic_dataset, write_report
from bem.model.source import DataSource
from bem.model.train import (
    CANDIDATES,
    DEFAULT_MIN_RECALL,
    DEFAULT_TARGET_PRECISION,
    TrainSettings,
    held_out_mask,
    train,
    write_model,
)

F = TypeVar("F", bound=Callable[..., object])


def data_source_options(
    synth_users: int, seed: int, users_help: str, seed_help: str
) -> Callable[[F], F]:
    """--data (with the history options of `bem data`), --unlisted, --synth-users, --seed,
    --noise and --knob, in that order → one `source` (a DataSource)."""
    options = [
        click.option(
            "--data",
            type=click.Path(exists=True, path_type=Path),
            default=None,
            help="A labelled history (pairs or records: CSV/JSON; tables: a directory of "
            "budgets, items, links), or a feature table (Parquet from `bem batch features`).",
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
        @functools.wraps(command)
        def collapse(
            *args: Any,
            data: Path | None,
            reading: HistoryArgs,
            unlisted: str,
            synth_users: int,
            seed: int,
            noise: float,
            overrides: tuple[str, ...],
            **kwargs: Any,
        ) -> Any:
            source = DataSource(data, reading, unlisted, synth_users, seed, noise, overrides)
            return command(*args, source=source, **kwargs)

        wrapped: Any = collapse
        for option in reversed(options[1:]):
            wrapped = option(wrapped)
        return cast(F, options[0](history_options(wrapped)))

    return decorate


class _FittedScorer:
    """A fitted pipeline seen through the LoadedModel interface (score, threshold)."""

    def __init__(self, pipeline: Pipeline, threshold: float) -> None:
        self.pipeline, self.threshold = pipeline, threshold

    def score(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(features)[:, 1])


@click.command("train")
@data_source_options(
    synth_users=2000,
    seed=0,
    users_help="Without --data: train on this many synthetic users.",
    seed_help="Seed of data, split and model.",
)
@store_options
@prior_options
@click.option(
    "--model-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where model.joblib/model.json go (default: a new models/<version>/; "
    "name model/ to replace the model of record).",
)
@click.option("--target-precision", default=DEFAULT_TARGET_PRECISION, show_default=True)
@click.option(
    "--min-recall",
    default=DEFAULT_MIN_RECALL,
    show_default=True,
    help="Recall floor of the threshold: when the target precision is not reached at this "
    "out-of-fold recall, the threshold of the highest precision with it (0: the highest "
    "precision at any recall).",
)
@click.option("--folds", default=4, show_default=True, help="Cross-validation folds (by user).")
@click.option("--holdout", default=0.2, show_default=True, help="Share of users held out.")
@click.option(
    "--candidates",
    type=click.Choice(sorted(CANDIDATES)),
    default="standard",
    show_default=True,
    help="Which candidate configurations to cross-validate.",
)
@click.option(
    "--calibration",
    type=click.Choice(["auto", "sigmoid", "isotonic"]),
    default="auto",
    show_default=True,
)
@click.option("--version", "version", default=None, help="Model version (default: bump minor).")
@click.option(
    "--harsh-noise",
    type=float,
    default=None,
    help="Also evaluate on synthetic users with this noise scale (0 = skip; default 2.0, "
    "or 0 with --data).",
)
@click.option("--harsh-users", default=500, show_default=True)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Evaluation reports go here.",
)
@click.option(
    "--threads",
    type=int,
    default=None,
    help="OpenMP threads for training (1 is fastest on a busy machine).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_command(
    source: DataSource,
    store: StoreSource | None,
    prior_users: int,
    prior_weight: float,
    model_dir: Path | None,
    target_precision: float,
    min_recall: float,
    folds: int,
    holdout: float,
    candidates: str,
    calibration: str,
    version: str | None,
    harsh_noise: float | None,
    harsh_users: int,
    report_dir: Path,
    threads: int | None,
    quiet: bool,
) -> None:
    """Train the matcher; write a new model directory (models/<version>/) and reports.

    Example: bem train --data history.csv --dates dmy --column trip_id=budget_id

    Example: bem train --from-store sqlite:///results.db --since 2026-11-01 --unlisted drop

    Example: bem train --synth-users 2000 --seed 0 --model-dir model
    """
    from bem.model.identity import next_version
    from budget_matcher import config

    record = config.env_path(config.ENV_MODEL_DIR, config.DEFAULT_MODEL_DIR)
    models = config.env_path(config.ENV_MODELS_DIR, config.DEFAULT_MODELS_DIR)
    if version is None:
        version = next_version([record, models] + ([model_dir] if model_dir else []))
    directory = model_dir or models / version
    if harsh_noise is None:
        harsh_noise = 0.0 if source.data is not None or store is not None else 2.0
    seed = source.seed
    settings = TrainSettings(
        target_precision,
        folds,
        holdout,
        seed,
        candidates,
        calibration,
        progress=not quiet,
        threads=threads,
        min_recall=min_recall,
    )
    if store is not None:
        if source.data is not None:
            raise click.UsageError("give --data or --from-store, not both")
        dataset, training_source = store.load(source.unlisted)
    else:
        loaded = source.load(load_labelled)
        dataset, training_source = loaded.dataset, loaded.card
        if source.data is not None:  # what `bem model compare` checks a window against
            training_source["user_digests"] = user_digests(dataset.users.tolist())
    if prior_users:
        from bem.loop.prior import add_prior
        from bem.model.identity import read_card

        dataset, training_source["prior"] = add_prior(
            dataset, prior_users, prior_weight, read_card(record) if record.is_dir() else {}
        )
    click.echo(
        f"{len(dataset)} pairs, {int(dataset.labels.sum())} matches, {dataset.n_users} users",
        err=True,
    )
    try:
        result = train(dataset, settings)
    except ValueError as error:  # one user, one class: nothing to cross-validate
        raise click.ClickException(f"cannot train on this data: {error}") from error
    if result.threshold_rule["rule"] != "target_precision":
        click.echo(f"threshold: {result.threshold_rule['reason']}", err=True)
    scorer = _FittedScorer(result.pipeline, result.threshold)
    baseline = RuleBaseline(**result.baseline)
    reports = []
    holdout_mask = held_out_mask(dataset, holdout, seed)  # as in training
    if holdout_mask.any():
        held = dataset.subset(holdout_mask)
        report, curves = evaluate_model(
            scorer, held, baseline, "held-out users", "held-out share of the training data"
        )
        reports.append(("held_out", report, curves, held))
    if harsh_noise > 0:
        harsh, harsh_config = synthetic_dataset(harsh_users, seed + 1000, harsh_noise)
        report, curves = evaluate_model(
            scorer,
            harsh,
            baseline,
            f"harsher noise ×{harsh_noise}, seed {seed + 1000}",
            json.dumps(harsh_config.card()["knobs"]),
        )
        result.metrics["harsher_noise"] = {
            "noise": harsh_noise,
            "seed": seed + 1000,
            "users": harsh_users,
            "model": report["model"],
            "baseline": report["baseline"],
        }
        reports.append(("harsher_noise", report, curves, harsh))
    card = write_model(result, dataset, settings, directory, training_source, version)
    from bem.explain.contributions import add_importance

    held_out = next((r[3].features for r in reports if r[0] == "held_out"), dataset.features)
    importance = add_importance(directory, held_out)
    click.echo("importance: " + ", ".join(list(importance)[:5]) + ", …", err=True)
    for name, report, curves, scored in reports:
        write_report(report, scored.labels, curves, report_dir, name)
    if directory.resolve() != record.resolve():
        shown = os.path.relpath(directory.resolve())
        click.echo(
            f"wrote {shown}; make it the model of record: bem model promote {shown}", err=True
        )
    click.echo(
        json.dumps(
            {
                "version": card["version"],
                "model_dir": str(directory),
                "threshold": card["threshold"],
                "threshold_rule": card["threshold_rule"]["rule"],
                **{
                    k: card["metrics"][k]
                    for k in ("cross_validated", "held_out")
                    if k in card["metrics"]
                },
            },
            indent=2,
        )
    )


@click.command("evaluate")
@click.option(
    "--model-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Model directory (default: model/ or $BEM_MODEL_DIR).",
)
@click.option(
    "--form",
    type=click.Choice(["sklearn", "lean"]),
    default=None,
    help="Which form of the model to evaluate (default: as served).",
)
@data_source_options(
    synth_users=400,
    seed=1001,
    users_help="Without --data: how many synthetic users to generate.",
    seed_help="Seed of the synthetic users.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Where the report goes.",
)
@click.option("--name", default="evaluation", show_default=True, help="Report file stem.")
@curve_options
def evaluate_command(
    model_dir: Path | None,
    form: str | None,
    source: DataSource,
    report_dir: Path,
    name: str,
    curve_sizes: str | None,
    store: StoreSource | None,
    prior_users: int,
    prior_weight: float,
) -> None:
    """Evaluate the model and the rule baseline on the same labeled users.

    Example: bem evaluate --synth-users 500 --seed 2024 --noise 2.0 --name harsh

    Example: bem evaluate --learning-curve 25,50,100 --from-store sqlite:///r.db --prior-users 400
    """
    import predict

    if curve_sizes is not None or store is not None:
        from bem.loop.reporting.cli import learning_curve_report

        sizes = tuple(int(n) for n in (curve_sizes or "").split(",") if n.strip())
        curve = report_dir / f"{name}_learning_curve.json"
        learning_curve_report(source, store, sizes, (prior_users, prior_weight), (model_dir, curve))
        return

    model = predict.load_model(model_dir, form)
    baseline = RuleBaseline(**(model.card.get("baseline") or {}))
    loaded = source.load(load_labelled, feature_tables=False)
    dataset = loaded.dataset
    title = f"model {model.version} vs rule baseline"
    report, curves = evaluate_model(model, dataset, baseline, title, source.describe())
    paths = write_report(report, dataset.labels, curves, report_dir, name)
    click.echo(markdown(report))
    from bem.model.actionable import actionable_report

    more, lines = actionable_report(
        model, dataset, loaded.users, curves["model"], report_dir / name, model_dir
    )
    click.echo("\n".join(lines))
    paths += more
    click.echo("wrote " + ", ".join(str(p) for p in paths), err=True)


@click.group("model")
def model_group() -> None:
    """Model identity: show a model directory, promote a candidate to the model of record.

    Example: bem model show models/1.4.0
    """


@model_group.command("show")
@click.argument(
    "model_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=False,
)
def show_command(model_dir: Path | None) -> None:
    """Print a model's version, threshold, card hash and training-data digest.

    Example: bem model show model
    """
    from bem.model.identity import ModelIdentityError, identity
    from budget_matcher import config

    directory = model_dir or config.env_path(config.ENV_MODEL_DIR, config.DEFAULT_MODEL_DIR)
    try:
        click.echo(json.dumps({"model_dir": str(directory), **identity(directory)}, indent=2))
    except ModelIdentityError as error:
        raise click.ClickException(str(error)) from error


@model_group.command("promote")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
def promote_command(source: Path) -> None:
    """Make a trained model directory the model of record (model/), hash checked.

    Example: bem model promote models/1.4.0
    """
    from bem.model.identity import ModelIdentityError, describe, promote
    from budget_matcher import config

    record = config.env_path(config.ENV_MODEL_DIR, config.DEFAULT_MODEL_DIR)
    try:
        ident = promote(source, record)
    except ModelIdentityError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{os.path.relpath(record)} is now {describe(ident)}", err=True)
    click.echo(
        f"next: git add {record.name} && git commit -m 'Model {ident['version']}' && ./build",
        err=True,
    )


@model_group.command("rescorer")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--users", default=1200, show_default=True, help="Fresh users it is fitted on.")
@click.option("--harsh-users", default=300, show_default=True, help="And these, noisier.")
@click.option("--harsh-noise", default=1.5, show_default=True, type=float)
@click.option(
    "--threshold-users", default=1200, show_default=True, help="Fresh users setting the threshold."
)
@click.option("--seed", default=7000, show_default=True, help="Seeds seed, seed+1, seed+2.")
@click.option("--knob", "knobs", multiple=True, help="Mix override (default: the card's).")
@click.option("--version", default=None, help="The card's new version (the answer changes).")
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the held-out and harsher-noise reports, served scores, here.",
)
def rescorer_command(
    model_dir: Path,
    users: int,
    harsh_users: int,
    harsh_noise: float,
    threshold_users: int,
    seed: int,
    knobs: tuple[str, ...],
    version: str | None,
    report_dir: Path | None,
) -> None:
    """Fit scoring's second stage (each pair against its competitors) for a trained model and
    set the card's threshold on the rescored scores (budget_matcher/rescoring.py).

    Example: bem model rescorer models/1.9.0 --version 1.9.0
    """
    from bem.model.evaluate import write_report
    from bem.model.rescorer import RescorerSettings, fit_model_dir, served_reports

    settings = RescorerSettings(
        users, harsh_users, harsh_noise, threshold_users, seed, knobs, version
    )
    fit_model_dir(model_dir, settings, lambda line: click.echo(line, err=True))
    try:
        reports = served_reports(model_dir, lambda line: click.echo(line, err=True))
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    if report_dir is not None:
        for name, report, curves, scored in reports:
            write_report(report, scored.labels, curves, report_dir, name)
    click.echo(f"wrote {model_dir / 'model_rescorer.json'}; next: bem model promote {model_dir}")
