"""Benchmark: per-user decisions against deciding each pair alone, on held-out synthetic users.

One run scores users of a fresh seed with the model of record's trees, then decides `matched` by:
  pairwise      score ≥ threshold, each pair alone (the naive way, and what 1.3.0 served)
  best          each item to its highest-scoring budget if ≥ threshold (served)
  capacity      best, and a budget stops taking charges past 1.5 × its cost
  assignment    best, and each budget takes at most one ticket-sized charge (an item that
                loses the slot goes to its next budget above the threshold)
  second stage  the rescorer (budget_matcher/rescoring.py: a logistic regression over each
                pair's competitors' scores), fitted as `bem model rescorer` fits it on users
                of another seed, thresholded at the same precision as the trees, then best
and prints precision, recall and F1 of `matched`, the items given to two budgets or more, and
the time each decision takes over all pairs (median of 5), over all pairs and over the pairs of
commuter weeks. A linear_sum_assignment with k
slots per budget decides as `best` whenever no budget has more than k items above threshold
(items never compete for a slot otherwise), so it is not run separately.

Run: PYTHONPATH=$PWD .venv/bin/python bench/bench_decisions.py [--users 300] [--seed 1001]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import predict  # noqa: E402
from bem.model.evaluate import decided, synthetic_dataset  # noqa: E402
from bem.model.metrics import (  # noqa: E402
    choose_threshold,
    pr_auc,
    precision_at_recall,
)
from bem.model.rescorer import fit  # noqa: E402
from budget_matcher.decisions import best_per_item, decide, pair_order  # noqa: E402


def timed(function: Callable[[], np.ndarray], runs: int = 5) -> tuple[np.ndarray, float]:
    """The result and the median wall time in ms."""
    times, result = [], np.zeros(0, dtype=bool)
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
    return result, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1001)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "model")
    args = parser.parse_args()
    model = predict.load_model(args.model_dir, "lean", rescored=False)  # the trees alone
    t = model.threshold
    fit_data, _ = synthetic_dataset(args.users, args.seed + 1, 1.0)
    data, _ = synthetic_dataset(args.users, args.seed, 1.0)
    fit_scores, scores = model.score(fit_data.features), model.score(data.features)
    stage = fit([(fit_data, fit_scores)], t)  # as `bem model rescorer` fits the served one
    target = float(np.mean(fit_data.labels[fit_scores >= t]))  # the model's own precision
    fit_second = stage.rescore(fit_data.pairs, fit_scores)
    t2 = choose_threshold(fit_data.labels, fit_second, target).threshold
    pairs, labels = data.pairs, data.labels

    def second_stage() -> np.ndarray:
        second = stage.rescore(pairs, scores)
        return best_per_item(pairs.item_index, second, pair_order(pairs)) & (second >= t2)

    methods: dict[str, Callable[[], np.ndarray]] = {
        "pairwise": lambda: decide(pairs, scores, t, "pairwise"),
        "best": lambda: decide(pairs, scores, t, "best"),
        "capacity": lambda: decide(pairs, scores, t, "capacity"),
        "assignment": lambda: decide(pairs, scores, t, "assignment"),
        "second stage": second_stage,
    }
    print(
        f"model {model.version} ({model.form}), threshold {t:.4f}; {data.n_users} users seed "
        f"{args.seed}, {len(pairs)} pairs, {int(labels.sum())} matches"
    )
    second = stage.rescore(pairs, scores)
    for name, values in (("model", scores), ("second stage", second)):
        print(
            f"{name} scores: PR-AUC {pr_auc(labels, values):.4f}, "
            f"P@R≥0.90 {precision_at_recall(labels, values, 0.90):.4f}"
        )
    commuter = np.asarray(["commuter" in knobs for knobs in data.truth.knobs], dtype=bool)
    print(
        f"{'decision':>14} {'precision':>10} {'recall':>8} {'F1':>7} {'twice':>6} {'ms':>8}"
        f" {'commuter P':>11} {'R':>6} {'F1':>6}"
    )
    for name, function in methods.items():
        matched, ms = timed(function)
        figures = decided(labels, matched, pairs.item_index)
        weekly = decided(labels[commuter], matched[commuter], pairs.item_index[commuter])
        print(
            f"{name:>14} {figures['precision']:>10.4f} {figures['recall']:>8.4f} "
            f"{figures['f1']:>7.4f} {figures['items_given_twice']:>6d} {ms:>8.2f}"
            f" {weekly['precision']:>11.4f} {weekly['recall']:>6.4f} {weekly['f1']:>6.4f}"
        )


if __name__ == "__main__":
    main()
