"""`bem train`: data (synthetic or an adopter's labeled history) → model/ + evaluation reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np
from sklearn.pipeline import Pipeline

from bem.data_options import data_source_options
from bem.train import (
    CANDIDATES,
    DEFAULT_TARGET_PRECISION,
    TrainSettings,
    split_users,
    train,
    write_model,
)


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
@click.option(
    "--model-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where model.joblib/model.json go (default: model/).",
)
@click.option("--target-precision", default=DEFAULT_TARGET_PRECISION, show_default=True)
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
    default=2.0,
    show_default=True,
    help="Also evaluate on synthetic users with this noise scale (0 = skip).",
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
    data: Path | None,
    unlisted: str,
    synth_users: int,
    seed: int,
    noise: float,
    overrides: tuple[str, ...],
    model_dir: Path | None,
    target_precision: float,
    folds: int,
    holdout: float,
    candidates: str,
    calibration: str,
    version: str | None,
    harsh_noise: float,
    harsh_users: int,
    report_dir: Path,
    threads: int | None,
    quiet: bool,
) -> None:
    """Train the matcher and write model/model.joblib + model/model.json.

    Example: bem train --synth-users 2000 --seed 0   (or: bem train --data history.csv)
    """
    from bem import evaluate
    from bem.baseline import RuleBaseline
    from bem.dataset import load_dataset
    from budget_matcher import config

    directory = model_dir or config.env_path(config.ENV_MODEL_DIR, config.DEFAULT_MODEL_DIR)
    settings = TrainSettings(
        target_precision,
        folds,
        holdout,
        seed,
        candidates,
        calibration,
        progress=not quiet,
        threads=threads,
    )
    if data is not None:
        dataset = load_dataset(data, unlisted)
        source: dict[str, Any] = {"source": data.name, "unlisted": unlisted}
    else:
        dataset, synth = evaluate.synthetic_dataset(synth_users, seed, noise, overrides)
        source = {"source": "synthetic", "generator": synth.card()}
    click.echo(
        f"{len(dataset)} pairs, {int(dataset.labels.sum())} matches, {dataset.n_users} users",
        err=True,
    )
    result = train(dataset, settings)
    scorer = _FittedScorer(result.pipeline, result.threshold)
    baseline = RuleBaseline(**result.baseline)
    reports = []
    holdout_mask = split_users(dataset.users, holdout, seed)[1]
    if holdout_mask.any():
        held = dataset.subset(holdout_mask)
        report, curves = evaluate.evaluate_model(
            scorer, held, baseline, "held-out users", "held-out share of the training data"
        )
        reports.append(("held_out", report, curves, held))
    if harsh_noise > 0:
        harsh, harsh_config = evaluate.synthetic_dataset(harsh_users, seed + 1000, harsh_noise)
        report, curves = evaluate.evaluate_model(
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
    card = write_model(result, dataset, settings, directory, source, version)
    for name, report, curves, scored in reports:
        evaluate.write_report(report, scored.labels, curves, report_dir, name)
    click.echo(
        json.dumps(
            {
                "version": card["version"],
                "threshold": card["threshold"],
                **{
                    k: card["metrics"][k]
                    for k in ("cross_validated", "held_out")
                    if k in card["metrics"]
                },
            },
            indent=2,
        )
    )
