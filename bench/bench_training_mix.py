"""Measure: which training mix and which calibration, on users the model was not trained on.

Fits the served booster configuration once per training mix (`bem synth` users with knob
overrides, e.g. a share of clean feeds) and scores fresh users of several mixes: the default
knobs, every card-feed knob off, noise ×1.5, and travellers of the independent generator
(bench/feedgen/, read through the project's history reader). Each fit is calibrated on a
separate calibration set of default users both ways, isotonic (a step function: pairs in one
step tie) and sigmoid (strictly increasing: the booster's ranking kept), and the report gives
PR-AUC, expected calibration error (20 bins) and precision / recall at the threshold
`choose_threshold` picks on the calibration set for the target precision. The naive way is the
first mix: the default knobs alone.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_training_mix.py --users 1200 \\
        --mix "" --mix clean_feed=0.25
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import click
import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from feedgen.history import travellers, write_history  # noqa: E402

from bem.data.cli import load_labelled  # noqa: E402
from bem.data.options import HistoryArgs  # noqa: E402
from bem.model.dataset import Dataset  # noqa: E402
from bem.model.evaluate import synthetic_dataset  # noqa: E402
from bem.model.metrics import choose_threshold, pr_auc, summary  # noqa: E402
from bem.model.train import CANDIDATES, DEFAULT_MIN_RECALL, booster  # noqa: E402


def calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 20) -> float:
    """Expected calibration error: Σ over equal-width bins of share × |rate − mean score|."""
    index = np.clip((scores * bins).astype(int), 0, bins - 1)
    error = 0.0
    for b in np.unique(index):
        inside = index == b
        error += inside.mean() * abs(labels[inside].mean() - scores[inside].mean())
    return float(error)


def independent_users(users: int, seed: int, noise: float) -> Dataset:
    """Travellers of the independent generator, read as a customer's history is."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "independent.csv"
        write_history(path, travellers(users, seed, noise))
        with click.Context(click.Command("evaluate")):
            return load_labelled(path, "negative", HistoryArgs())[0]


def evaluation_sets(users: int) -> dict[str, Dataset]:
    """Fresh users of each mix, none of them a training or calibration seed."""
    return {
        "default": synthetic_dataset(users, 1001, 1.0)[0],
        "card feed off": synthetic_dataset(users, 1001, 1.0, ("card_feed=0",))[0],
        "noise 1.5": synthetic_dataset(users, 2024, 1.5)[0],
        "independent": independent_users(users, 1, 1.0),
        "independent, noise 1.5": independent_users(users, 2, 1.5),
    }


def calibrators(
    raw: np.ndarray, labels: np.ndarray
) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Isotonic and sigmoid maps from raw booster scores to probabilities, fitted on one set."""
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels)
    sigmoid = LogisticRegression(C=1e6).fit(raw[:, None], labels)
    return {
        "isotonic": lambda r: np.asarray(isotonic.predict(r)),
        "sigmoid": lambda r: sigmoid.predict_proba(r[:, None])[:, 1],
    }


def _booster_overrides(config: str) -> dict[str, float]:
    """ "max_features=0.5,l2_regularization=5" → the served configuration's overrides."""
    pairs = (item.split("=", 1) for item in config.split(",") if item)
    return {name: _number(value) for name, value in pairs}


def _number(text: str) -> float:
    """An override's value: an int when it reads as one ("63"), else a float ("0.5", "1e-3")."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1200, help="training users per mix")
    parser.add_argument("--eval-users", type=int, default=300)
    parser.add_argument("--mix", action="append", default=None, help="comma-separated knobs")
    parser.add_argument("--target-precision", type=float, default=0.93)
    parser.add_argument(
        "--booster",
        action="append",
        default=None,
        help="comma-separated overrides of the served booster's settings, e.g. "
        'max_features=0.5 ("" = as served); one fit per mix, seed and setting',
    )
    parser.add_argument(
        "--train-seeds",
        default="0",
        help="comma-separated generator seeds of the training users: one fit per mix and seed "
        "(the spread between seeds is the noise a difference between mixes must beat)",
    )
    args = parser.parse_args()
    mixes = args.mix if args.mix is not None else ["", "clean_feed=0.25"]

    started = time.perf_counter()
    sets = evaluation_sets(args.eval_users)
    calibration = synthetic_dataset(400, 5, 1.0)[0]
    sizes = ", ".join(f"{name} {len(data)}" for name, data in sets.items())
    print(f"evaluation pairs: {sizes}; built in {time.perf_counter() - started:.0f} s")
    columns = ("training mix", "seed", "booster", "calibration", "set", "PR-AUC", "ECE")
    print(f"| {' | '.join(columns)} | precision | recall |")
    print("|---|---|---|---|---|---|---|---|---|")
    seeds = [int(seed) for seed in args.train_seeds.split(",")]
    configs = args.booster if args.booster is not None else [""]
    for mix, seed in ((mix, seed) for mix in mixes for seed in seeds):
        overrides = tuple(knob for knob in mix.split(",") if knob)
        train = synthetic_dataset(args.users, seed, 1.0, overrides)[0]  # once for every setting
        for config in configs:
            params = {**CANDIDATES["served"][0], **_booster_overrides(config)}
            with threadpool_limits(1):
                model = booster(params, 0).fit(train.features, train.labels)
                raw = {name: model.decision_function(data.features) for name, data in sets.items()}
                calibration_raw = model.decision_function(calibration.features)
            for method, calibrate in calibrators(calibration_raw, calibration.labels).items():
                threshold = choose_threshold(
                    calibration.labels,
                    calibrate(calibration_raw),
                    args.target_precision,
                    DEFAULT_MIN_RECALL,
                ).threshold
                for name, data in sets.items():
                    scores = calibrate(raw[name])
                    at = summary(data.labels, scores, threshold)
                    print(
                        f"| {mix or 'default knobs'} | {seed} | {config or 'served'} | {method} | "
                        f"{name} | "
                        f"{pr_auc(data.labels, scores):.4f} | "
                        f"{calibration_error(data.labels, scores):.4f} | "
                        f"{at['precision']:.4f} | {at['recall']:.4f} |",
                        flush=True,
                    )
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
