"""Training: model choice by user-grouped cross-validation, calibration, threshold, model card.

1. Users are split into training and held-out users (`holdout` share, by seed).
2. Each candidate HistGradientBoosting configuration is cross-validated on the training users
   with folds grouped by user (a user's pairs never straddle folds); the cheapest to serve
   (trees × leaves) within SELECTION_TOLERANCE of the best mean PR-AUC wins.
3. The winner is wrapped in CalibratedClassifierCV (ensemble=False, the same grouped folds;
   isotonic when the training data hold ≥ 1000 positives, else sigmoid) inside a Pipeline and
   fitted on all training users.
4. The threshold is the lowest calibrated score whose out-of-fold precision reaches the target
   precision (the most recall the target allows) when its recall is at least `min_recall`;
   otherwise the highest-precision one among those with that recall
   (bem.model.metrics.choose_threshold; the card's `threshold_rule` says which and why).
5. model.joblib and model.json (the card) are written; held-out users are scored by the model
   and by the rule baseline (fitted on the training users) — see bem.evaluate.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from bem.model.baseline import fit_baseline
from bem.model.dataset import Dataset
from bem.model.identity import write_card
from bem.model.metrics import choose_threshold, pr_auc, summary
from bem.synth.policy import LABELLING_POLICY
from budget_matcher.features import FEATURE_NAMES

MODEL_NAME = "budget-expense-matcher"
ISOTONIC_MIN_POSITIVES = 1000
# Model choice: the cheapest candidate to serve (trees × leaves) whose mean cross-validated
# PR-AUC is within this much of the best. Serving time grows with the trees evaluated per pair.
SELECTION_TOLERANCE = 0.002
DEFAULT_TARGET_PRECISION = 0.95
# The recall floor of the threshold: below it a model matches so few lines that reviewers do
# nearly all the work, and the precision it buys rests on a few dozen out-of-fold pairs. It
# acts only when the target precision is not reached at this recall (docs/model.md).
DEFAULT_MIN_RECALL = 0.1

# Candidate configurations (all small enough to load fast at cold start: ≤ 300 trees, ≤ 63
# leaves: the compiled scorer serves at most 64 leaves per tree). The 63-leaf candidate is
# chosen only when it beats the others by more than SELECTION_TOLERANCE (it doubles the
# leaves per tree; "capacity" weighs it against 1.4.0's winner). "quick" is for smoke tests and
# tiny data.
CANDIDATES: dict[str, list[dict[str, Any]]] = {
    "quick": [
        {
            "max_iter": 60,
            "max_leaf_nodes": 15,
            "learning_rate": 0.15,
            "min_samples_leaf": 20,
            "l2_regularization": 1.0,
        },
    ],
    # The configuration chosen for 1.3.0 alone: one cross-validation, no model choice.
    "single": [
        {
            "max_iter": 120,
            "max_leaf_nodes": 31,
            "learning_rate": 0.1,
            "min_samples_leaf": 100,
            "l2_regularization": 3.0,
        },
    ],
    "standard": [
        {
            "max_iter": 120,
            "max_leaf_nodes": 31,
            "learning_rate": 0.1,
            "min_samples_leaf": 100,
            "l2_regularization": 3.0,
        },
        {
            "max_iter": 200,
            "max_leaf_nodes": 31,
            "learning_rate": 0.08,
            "min_samples_leaf": 40,
            "l2_regularization": 1.0,
        },
        {
            "max_iter": 300,
            "max_leaf_nodes": 31,
            "learning_rate": 0.05,
            "min_samples_leaf": 100,
            "l2_regularization": 3.0,
        },
    ],
    # 1.4.0's winner alone: 1.5.0's configuration. Its 63-leaf rival in "capacity" scored
    # higher but broke the scorer bound (docs/model.md, 1.5.0).
    "served": [
        {
            "max_iter": 300,
            "max_leaf_nodes": 31,
            "learning_rate": 0.05,
            "min_samples_leaf": 100,
            "l2_regularization": 3.0,
        },
    ],
    # 1.4.0's winner against the same with twice the leaves per tree.
    "capacity": [
        {
            "max_iter": 300,
            "max_leaf_nodes": 31,
            "learning_rate": 0.05,
            "min_samples_leaf": 100,
            "l2_regularization": 3.0,
        },
        {
            "max_iter": 300,
            "max_leaf_nodes": 63,
            "learning_rate": 0.05,
            "min_samples_leaf": 100,
            "l2_regularization": 3.0,
        },
    ],
}


@dataclass(frozen=True)
class TrainSettings:
    """How to train; every random choice derives from `seed`."""

    target_precision: float = DEFAULT_TARGET_PRECISION
    folds: int = 5
    holdout: float = 0.2
    seed: int = 0
    candidates: str = "standard"
    calibration: str = "auto"  # "auto", "sigmoid" or "isotonic"
    progress: bool = True
    threads: int | None = None  # OpenMP threads for the booster (None: library default)
    min_recall: float = DEFAULT_MIN_RECALL


@dataclass
class TrainResult:
    """The fitted pipeline, its threshold and everything the model card reports."""

    pipeline: Pipeline
    threshold: float
    params: dict[str, Any]
    method: str
    metrics: dict[str, Any]
    train_users: list[str]
    holdout_users: list[str]
    baseline: dict[str, float] = field(default_factory=dict)
    threshold_rule: dict[str, Any] = field(default_factory=dict)
    # The threshold's input: own pairs' labels and calibrated out-of-fold scores.
    out_of_fold: tuple[np.ndarray, np.ndarray] | None = None


def split_users(users: np.ndarray, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, held-out) over pairs, splitting by user."""
    distinct = np.asarray(sorted(set(users.tolist())), dtype=object)
    rng = np.random.default_rng(seed)
    n_holdout = round(holdout * distinct.size) if distinct.size > 1 else 0
    held = set(rng.permutation(distinct)[:n_holdout].tolist())
    held_mask = np.asarray([u in held for u in users.tolist()], dtype=bool)
    return ~held_mask, held_mask


def held_out_mask(dataset: Dataset, holdout: float, seed: int) -> np.ndarray:
    """The held-out pairs of `bem train`: a share of the users, never a prior's (or a training
    mix's clean-feed users, `Dataset.prior`), which only train."""
    mask = split_users(dataset.users, holdout, seed)[1]
    if dataset.prior is not None:
        mask &= ~dataset.prior
    return mask


def grouped_splits(users: np.ndarray, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds grouped by user."""
    n_groups = len(set(users.tolist()))
    if n_groups < 2:
        raise ValueError("cross-validation needs at least two users")
    splitter = GroupKFold(n_splits=min(folds, n_groups))
    return list(splitter.split(np.zeros(users.size), groups=users))


def booster(params: dict[str, Any], seed: int) -> HistGradientBoostingClassifier:
    """An uncalibrated HistGradientBoostingClassifier (missing values handled natively)."""
    return HistGradientBoostingClassifier(**params, early_stopping=False, random_state=seed)


def out_of_fold(
    params: dict[str, Any],
    features: np.ndarray,
    labels: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    seed: int,
    bar: tqdm | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold decision values of one configuration (fits weighted by `weights`)."""
    decision = np.zeros(labels.shape[0])
    for train_index, test_index in splits:
        weight = None if weights is None else weights[train_index]
        model = booster(params, seed).fit(
            features[train_index], labels[train_index], sample_weight=weight
        )
        decision[test_index] = model.decision_function(features[test_index])
        if bar is not None:
            bar.update(1)
    return decision


def calibration_method(settings: TrainSettings, labels: np.ndarray) -> str:
    """sigmoid or isotonic (auto: isotonic once there are enough positives)."""
    if settings.calibration != "auto":
        return settings.calibration
    return "isotonic" if labels.sum() >= ISOTONIC_MIN_POSITIVES else "sigmoid"


def train(dataset: Dataset, settings: TrainSettings) -> TrainResult:
    """Select, calibrate and fit the model; score held-out users with it and the baseline."""
    with threadpool_limits(limits=settings.threads, user_api="openmp"):
        return _train(dataset, settings)


def empty_features(features: np.ndarray) -> np.ndarray:
    """Per feature: missing for every pair (an optional column the data lack). The booster
    cannot bin such a column: it is imputed with a constant, so no tree ever splits on it and
    the served model ignores what the function computes there."""
    return np.isnan(features).all(axis=0) if features.size else np.zeros(0, dtype=bool)


def serving_cost(params: dict[str, Any]) -> int:
    """Trees × leaves: what scoring one pair costs, in the pickle and in the lean form."""
    return int(params["max_iter"]) * int(params["max_leaf_nodes"])


def choose_candidate(selection: list[dict[str, Any]]) -> int:
    """Index of the cheapest candidate within SELECTION_TOLERANCE of the best CV PR-AUC."""
    best = max(entry["cv_pr_auc_mean"] for entry in selection)
    good_enough = [
        (entry["serving_cost"], position)
        for position, entry in enumerate(selection)
        if entry["cv_pr_auc_mean"] >= best - SELECTION_TOLERANCE
    ]
    return min(good_enough)[1]


def _train(dataset: Dataset, settings: TrainSettings) -> TrainResult:
    if dataset.labels.sum() == 0:
        raise ValueError("the training data hold no positive pair")
    if dataset.labels.min() == 1:
        raise ValueError("the training data hold no negative pair")
    # A prior's pairs (bem.loop.prior) train, weighted; own pairs alone are held out and set
    # the cross-validated figures and the threshold.
    prior = np.zeros(len(dataset), bool) if dataset.prior is None else dataset.prior
    holdout_mask = held_out_mask(dataset, settings.holdout, settings.seed)
    train_mask = ~holdout_mask
    X, y = dataset.features[train_mask], dataset.labels[train_mask]
    own = ~prior[train_mask]
    weights = None if dataset.weights is None else dataset.weights[train_mask]
    unused = empty_features(X)
    X_fit = np.where(np.isnan(X) & unused, 0.0, X)  # a feature missing everywhere: imputed
    groups = dataset.users[train_mask]
    splits = grouped_splits(groups, settings.folds)
    candidates = CANDIDATES[settings.candidates]
    bar = tqdm(
        total=len(candidates) * len(splits) + 1,
        desc="train",
        unit="fit",
        disable=not settings.progress,
    )
    selection = []
    decisions = []
    for params in candidates:
        decision = out_of_fold(params, X_fit, y, splits, settings.seed, bar, weights)
        fold_scores = [pr_auc(y[test][own[test]], decision[test][own[test]]) for _, test in splits]
        selection.append(
            {
                "params": params,
                "cv_pr_auc_mean": round(float(np.nanmean(fold_scores)), 4),
                "cv_pr_auc_std": round(float(np.nanstd(fold_scores)), 4),
                "serving_cost": serving_cost(params),
            }
        )
        decisions.append(decision)
    chosen = choose_candidate(selection)
    params, best_decision = candidates[chosen], decisions[chosen]
    method = calibration_method(settings, y)
    calibrated = CalibratedClassifierCV(
        booster(params, settings.seed), method=method, cv=splits, ensemble=False
    )
    pipeline = Pipeline([("model", calibrated)]).fit(X_fit, y, model__sample_weight=weights)
    # The fold index arrays are only needed to fit; kept, they would make the pickle ~25 MB.
    calibrated.cv = len(splits)
    bar.update(1)
    bar.close()
    calibrator = calibrated.calibrated_classifiers_[0].calibrators[0]
    oof_probability = np.clip(calibrator.predict(best_decision), 0.0, 1.0)[own]
    choice = choose_threshold(
        y[own], oof_probability, settings.target_precision, settings.min_recall
    )
    threshold = choice.threshold
    baseline = fit_baseline(X[own], y[own])
    metrics: dict[str, Any] = {
        "cross_validated": summary(y[own], oof_probability, threshold),
        "model_selection": selection,
        "unused_features": [n for n, gone in zip(FEATURE_NAMES, unused, strict=True) if gone],
    }
    if holdout_mask.any():
        Xh, yh = dataset.features[holdout_mask], dataset.labels[holdout_mask]
        metrics["held_out"] = summary(yh, pipeline.predict_proba(Xh)[:, 1], threshold)
        metrics["baseline_held_out"] = summary(yh, baseline.score(Xh), 4 / 4.01)
    return TrainResult(
        pipeline,
        threshold,
        params,
        method,
        metrics,
        sorted(set(groups[own].tolist())),
        sorted(set(dataset.users[holdout_mask].tolist())),
        baseline.card(),
        choice.card(),
        (y[own], oof_probability),
    )


def library_versions() -> dict[str, str]:
    """Versions the pickle depends on (predict.py refuses a scikit-learn mismatch)."""
    import joblib
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }


def next_version(model_dir: Path) -> str:
    """The next minor version after the card in `model_dir` (1.0.0 when there is none)."""
    try:
        current = json.loads((model_dir / "model.json").read_text())["version"]
        major, minor, _ = (int(part) for part in str(current).split("."))
    except (OSError, ValueError, KeyError, TypeError):
        return "1.0.0"
    return f"{major}.{minor + 1}.0"


def write_model(
    result: TrainResult,
    dataset: Dataset,
    settings: TrainSettings,
    model_dir: Path,
    training_source: dict[str, Any],
    version: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """Write model.joblib and model.json into `model_dir`; returns the card."""
    import joblib

    from predict import PICKLE_FILE, sha256_of

    model_dir.mkdir(parents=True, exist_ok=True)
    chosen_version = version or next_version(model_dir)
    pickle_path = model_dir / PICKLE_FILE
    joblib.dump(result.pipeline, pickle_path)
    card = {
        "name": MODEL_NAME,
        "version": chosen_version,
        "created_at": clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "artifacts": {
            PICKLE_FILE: {"sha256": sha256_of(pickle_path), "bytes": pickle_path.stat().st_size}
        },
        "library_versions": library_versions(),
        "features": list(FEATURE_NAMES),
        "unused_features": result.metrics.get("unused_features", []),
        "reading": training_source.get("reading", {"dates": None, "decimal": None}),
        "threshold": round(result.threshold, 6),
        "target_precision": settings.target_precision,
        "threshold_rule": result.threshold_rule,
        "estimator": {
            "kind": "HistGradientBoostingClassifier",
            "params": result.params,
            "calibration": result.method,
            "calibration_ensemble": False,
        },
        "training_data": {
            "digest": dataset.digest,
            "rows": dataset.n_rows,
            "users": dataset.n_users,
            "pairs": len(dataset),
            "positives": int(dataset.labels.sum()),
            "train_users": len(result.train_users),
            "holdout_users": len(result.holdout_users),
            "holdout_share": settings.holdout,
            "split_seed": settings.seed,
            **training_source,
        },
        "labelling_policy": LABELLING_POLICY,
        "baseline": result.baseline,
        "metrics": result.metrics,
    }
    write_card(model_dir, card)
    return card
