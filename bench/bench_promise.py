"""Measure: does the card's precision at the threshold hold on users unlike the training mix?

Scores users of several knob mixes and noise levels (each its own seed) with a model directory
and prints, per mix and pooled, precision and recall at the card's threshold with a 95 %
interval from a bootstrap over users (a user's pairs are resampled together), and the lowest
threshold at which every mix's precision reaches the card's target (the threshold a promise
across these mixes would need). The band the card states is the range of the mixes' intervals.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_promise.py --users 200 [--model-dir model]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import predict  # noqa: E402
from bem.model.evaluate import served_scores, synthetic_dataset  # noqa: E402

# (name, noise, knob overrides): the default mix, calmer and harsher noise, no card-feed
# behaviours, and card-feed behaviours twice as frequent.
MIXES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("default", 1.0, ()),
    ("noise 0.5", 0.5, ()),
    ("noise 1.5", 1.5, ()),
    ("card feed off", 1.0, ("card_feed=0",)),
    ("card feed ×2", 1.0, ("card_feed=2",)),
    ("card feed ×2, noise 1.5", 1.5, ("card_feed=2",)),
)
BOOTSTRAP = 300


def at_threshold(labels: np.ndarray, flagged: np.ndarray) -> tuple[float, float]:
    """Precision and recall of `flagged` pairs (NaN when undefined)."""
    hits = float(np.sum(labels & flagged))
    precision = hits / flagged.sum() if flagged.any() else float("nan")
    recall = hits / labels.sum() if labels.any() else float("nan")
    return precision, recall


def interval(
    labels: np.ndarray, flagged: np.ndarray, users: np.ndarray, rng: np.random.Generator
) -> tuple[float, float, float, float]:
    """Precision and recall with 95 % bootstrap intervals (users resampled): p, p_low, p_high,
    recall."""
    _, user_index = np.unique(users, return_inverse=True)
    n_users = int(user_index.max()) + 1
    tp = np.bincount(user_index, weights=labels & flagged, minlength=n_users)
    fp = np.bincount(user_index, weights=~labels & flagged, minlength=n_users)
    draws = rng.integers(0, n_users, size=(BOOTSTRAP, n_users))
    tp_sum, fp_sum = tp[draws].sum(axis=1), fp[draws].sum(axis=1)
    precisions = tp_sum / np.maximum(tp_sum + fp_sum, 1)
    precision, recall = at_threshold(labels, flagged)
    low, high = np.percentile(precisions, [2.5, 97.5])
    return precision, float(low), float(high), recall


def lowest_threshold(per_mix: list[tuple[np.ndarray, np.ndarray]], target: float) -> float:
    """The lowest score threshold at which every mix's precision reaches `target`."""
    grid = np.unique(np.concatenate([scores for _, scores in per_mix]))
    grid = grid[grid > 0.05]
    for threshold in grid[:: max(1, grid.size // 2000)]:
        if all(
            at_threshold(labels, scores >= threshold)[0] >= target for labels, scores in per_mix
        ):
            return float(threshold)
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seed", type=int, default=3000)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "model")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--card", action="store_true", help="record the band in the model's card (model.json)"
    )
    args = parser.parse_args()
    model = predict.load_model(args.model_dir, "lean")
    card = json.loads((args.model_dir / "model.json").read_text())
    target, threshold = float(card["target_precision"]), model.threshold
    rng = np.random.default_rng(0)
    print(f"model {model.version}: threshold {threshold:.4f}, card target precision {target}")
    print("| mix | users (pairs) | precision at the threshold [95 % interval] | recall |")
    print("|---|---|---|---|")
    rows: list[dict[str, Any]] = []
    per_mix = []
    for offset, (name, noise, overrides) in enumerate(MIXES):
        data, _ = synthetic_dataset(args.users, args.seed + offset, noise, overrides)
        labels = data.labels.astype(bool)
        scores = served_scores(model, data.pairs, data.features)  # what the Lambda answers
        per_mix.append((labels, scores))
        p, low, high, recall = interval(labels, scores >= threshold, data.users, rng)
        rows.append({"mix": name, "noise": noise, "knobs": list(overrides), "precision": p,
                     "low": low, "high": high, "recall": recall, "pairs": len(data)})  # fmt: skip
        print(
            f"| {name} | {args.users} ({len(data)}) | {p:.3f} [{low:.3f}, {high:.3f}] "
            f"| {recall:.3f} |"
        )
        sys.stdout.flush()
    band = (min(r["low"] for r in rows), max(r["high"] for r in rows))
    needed = lowest_threshold(per_mix, target)
    print(f"band of the mixes' intervals: {band[0]:.3f}–{band[1]:.3f}")
    print(f"lowest threshold with precision ≥ {target} on every mix: {needed:.4f}")
    figures = {"threshold": threshold, "target": target, "users_per_mix": args.users,
               "mixes": rows, "band": band, "threshold_for_every_mix": needed}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if args.card:
        card["precision_band"] = {
            "measured_by": f"bench/bench_promise.py --users {args.users} --seed {args.seed}",
            "low": round(band[0], 3),
            "high": round(band[1], 3),
            "mixes": {r["mix"]: [round(r["low"], 3), round(r["high"], 3)] for r in rows},
        }
        (args.model_dir / "model.json").write_text(
            json.dumps(card, indent=2, ensure_ascii=False) + "\n"
        )


if __name__ == "__main__":
    main()
