"""Benchmark: path-wise contributions (`bem explain`, the mistakes CSV, `bem monitor errors
--explain`) vectorised over rows against the naive way, one row and one tree at a time.

Both walk the same lean arrays of the model of record and credit each split's value change to
its feature; the run checks they agree and that baseline + contributions equals the raw score,
then prints rows per second of each and the speed-up.

Run: PYTHONPATH=$PWD .venv/bin/python bench/bench_explain.py [--users 200] [--naive-rows 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bem.explain.contributions import explain, load_arrays  # noqa: E402
from bem.model.dataset import build_dataset, group_rows  # noqa: E402
from bem.synth.knobs import SynthConfig  # noqa: E402
from bem.synth.users import generate_users, user_rows  # noqa: E402


def naive(meta: dict, arrays: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Contributions row by row, tree by tree, node by node (plain Python)."""
    rate = float(meta["learning_rate"])
    left, right = arrays["node_left"], arrays["node_right"]
    feature, threshold = arrays["node_feature"], arrays["node_threshold"]
    missing_left, value = arrays["node_missing_left"], arrays["node_value"]
    fill = arrays["impute_fill"]
    out = np.zeros_like(X)
    for r, row in enumerate(X):
        row = np.where(np.isnan(row) & ~np.isnan(fill), fill, row)
        for root in arrays["tree_root"]:
            node = int(root)
            while left[node] != node:
                x = row[feature[node]]
                go_left = missing_left[node] if np.isnan(x) else x <= threshold[node]
                child = int(left[node] if go_left else right[node])
                child_value = value[child] if left[child] == child else value[child] * rate
                out[r, feature[node]] += child_value - value[node] * rate
                node = child
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--naive-rows", type=int, default=300)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "model")
    args = parser.parse_args()
    rows = [r for u in generate_users(SynthConfig(users=args.users, seed=4)) for r in user_rows(u)]
    X = build_dataset(group_rows(rows)).features
    meta, arrays = load_arrays(args.model_dir)
    started = time.perf_counter()
    fast = explain(meta, arrays, X)
    fast_s = time.perf_counter() - started
    subset = X[: args.naive_rows]
    started = time.perf_counter()
    slow = naive(meta, arrays, subset)
    slow_s = time.perf_counter() - started
    assert np.allclose(slow, fast.contributions[: args.naive_rows], atol=1e-9)
    assert np.allclose(fast.baseline + fast.contributions.sum(axis=1), fast.raw, atol=1e-9)
    trees = len(arrays["tree_root"])
    print(f"model {args.model_dir}: {trees} trees; {X.shape[0]} pairs of {args.users} users")
    print(f"vectorised: {X.shape[0] / fast_s:,.0f} pairs/s ({fast_s:.2f} s for {X.shape[0]})")
    n_naive = subset.shape[0]
    print(f"naive:      {n_naive / slow_s:,.0f} pairs/s ({slow_s:.2f} s for {n_naive})")
    print(
        f"speed-up:   {(X.shape[0] / fast_s) / (subset.shape[0] / slow_s):.0f}x; the two agree "
        "to 1e-9 and baseline + contributions = raw score"
    )


if __name__ == "__main__":
    main()
