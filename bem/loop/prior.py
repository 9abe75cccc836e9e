"""A prior for few labels: a customer's own labelled users mixed with synthetic users at a
weight, or the model of record's trees grown further on the own users (warm start).

`with_prior` appends `prior` (synthetic users of the model of record's training mix) to the own
dataset, each prior pair weighing `weight` against an own pair's 1; `Dataset.prior` marks them,
so training holds out, cross-validates and sets the threshold on own users only. `warm_start`
continues the boosting of the model of record's booster on own data (same bins, more trees).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from bem.model.dataset import Dataset
from bem.model.evaluate import synthetic_dataset

PRIOR_SEED = 7_000  # synthetic prior users are drawn from this seed on (not the test seeds)
DEFAULT_PRIOR_WEIGHT = 0.3


def prior_dataset(
    users: int, seed: int = PRIOR_SEED, knobs: dict[str, Any] | None = None
) -> Dataset:
    """`users` synthetic users, with the knobs the model of record trained on when given (its
    card's generator), else the generator's defaults."""
    overrides = tuple(f"{name}={value}" for name, value in (knobs or {}).items())
    return synthetic_dataset(users, seed, 1.0, overrides)[0]


def record_knobs(card: dict[str, Any]) -> dict[str, Any]:
    """The generator knobs a model card's synthetic training data used ({} otherwise)."""
    data = card.get("training_data") or {}
    return dict((data.get("generator") or {}).get("knobs") or {})


def add_prior(
    own: Dataset, users: int, weight: float, record_card: dict[str, Any]
) -> tuple[Dataset, dict[str, Any]]:
    """Own data with `users` prior users at `weight` (the model of record's knobs), and the
    card's entry for the prior."""
    prior = prior_dataset(users, PRIOR_SEED, record_knobs(record_card))
    entry = {"users": users, "weight": weight, "seed": PRIOR_SEED, "pairs": len(prior),
             "knobs_of": str(record_card.get("version", "defaults"))}  # fmt: skip
    return with_prior(own, prior, weight), entry


def with_prior(own: Dataset, prior: Dataset, weight: float) -> Dataset:
    """Own pairs and prior pairs in one dataset, prior pairs marked and weighted `weight`."""
    if weight <= 0:
        raise ValueError("the prior's weight must be positive")
    users = np.concatenate(
        [own.users, np.asarray([f"prior:{u}" for u in prior.users], dtype=object)]
    )
    mixed = Dataset(
        np.vstack([own.features, prior.features]),
        np.concatenate([own.labels, prior.labels]),
        users,
        own.budget_ids + prior.budget_ids,
        own.itemization_ids + prior.itemization_ids,
        own.digest,
        own.n_rows,
        own.n_users,
    )
    mixed.prior = np.concatenate([np.zeros(len(own), bool), np.ones(len(prior), bool)])
    mixed.weights = np.where(mixed.prior, weight, 1.0)
    return mixed


def load_pipeline(model_dir: Path) -> Any:
    """A model directory's fitted pipeline, from the bytes its card's hash was checked on."""
    import io

    import joblib

    import predict

    card = predict.read_card(model_dir)
    return joblib.load(io.BytesIO(predict.verify_artifact(model_dir, card, predict.PICKLE_FILE)))


def record_booster(pipeline: Any) -> Any:
    """The fitted HistGradientBoostingClassifier inside a model of record's pipeline."""
    final = pipeline[-1]
    calibrated = getattr(final, "calibrated_classifiers_", None)
    return calibrated[0].estimator if calibrated else final


def warm_start(pipeline: Any, features: np.ndarray, labels: np.ndarray, more_trees: int) -> Any:
    """A copy of the model of record's booster with `more_trees` trees grown on own data."""
    booster = copy.deepcopy(record_booster(pipeline))
    booster.set_params(warm_start=True, max_iter=booster.n_iter_ + more_trees,
                       early_stopping=False)  # fmt: skip
    return booster.fit(features, labels)
