"""Measure: what each feature adds, by cross-validated PR-AUC grouped by user.

Generates users with `bem synth` (the knobs at their defaults, or scaled by --noise), computes
every feature of budget_matcher.features once, and cross-validates one booster configuration
on column subsets: the features without the measured ones, then with each measured feature
alone added, then all of them, then all but each one. A feature is worth keeping when it gains
beyond the folds' spread.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_feature_gain.py --users 1200 \
        --measure item_same_vendor_twins vendor_window_late_sum_log_ratio
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bem.model.evaluate import synthetic_dataset
from bem.model.metrics import pr_auc
from bem.model.train import CANDIDATES, grouped_splits, out_of_fold
from budget_matcher.features import FEATURE_NAMES
from budget_matcher.feed_features import FEED_FEATURE_NAMES


def cross_validated(
    features: np.ndarray, labels: np.ndarray, users: np.ndarray, folds: int, config: str
) -> tuple[float, float]:
    """Mean and spread of the folds' PR-AUC of the first `config` candidate."""
    splits = grouped_splits(users, folds)
    decision = out_of_fold(CANDIDATES[config][0], features, labels, splits, seed=0)
    scores = [pr_auc(labels[test], decision[test]) for _, test in splits]
    return float(np.mean(scores)), float(np.std(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--noise", type=float, default=1.0)
    parser.add_argument("--knob", action="append", default=[], help="NAME=VALUE")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--config", default="single", choices=sorted(CANDIDATES))
    parser.add_argument("--measure", nargs="+", default=list(FEED_FEATURE_NAMES))
    args = parser.parse_args()

    started = time.perf_counter()
    data, _ = synthetic_dataset(args.users, args.seed, args.noise, tuple(args.knob))
    print(
        f"{args.users} users (seed {args.seed}, noise {args.noise}): {len(data)} pairs, "
        f"{int(data.labels.sum())} matches, features in {time.perf_counter() - started:.0f} s"
    )
    unknown = sorted(set(args.measure) - set(FEATURE_NAMES))
    if unknown:
        raise SystemExit(f"not features of this code: {unknown}")
    base = [name for name in FEATURE_NAMES if name not in args.measure]
    subsets = [("without the measured", base)]
    subsets += [(f"+ {name}", [*base, name]) for name in args.measure]
    if len(args.measure) > 1:
        subsets.append(("all", list(FEATURE_NAMES)))
        subsets += [
            (f"all − {name}", [n for n in FEATURE_NAMES if n != name]) for name in args.measure
        ]
    print(f"| features | CV PR-AUC ({args.folds} folds, by user) | spread | time |")
    print("|---|---|---|---|")
    with threadpool_limits(limits=1, user_api="openmp"):
        for label, names in subsets:
            columns = [FEATURE_NAMES.index(name) for name in names]
            t = time.perf_counter()
            mean, spread = cross_validated(
                data.features[:, columns], data.labels, data.users, args.folds, args.config
            )
            print(f"| {label} | {mean:.4f} | {spread:.4f} | {time.perf_counter() - t:.0f} s |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
