"""Why a pair scored what it did: path-wise contributions of each feature, from the tree arrays.

For every tree, the path a row takes from the root to its leaf passes split nodes; each step
changes the node value by value(child) − value(parent), and that change is credited to the
feature the parent splits on (Saabas' path attribution). Along a path the steps telescope to
leaf − root, so for every row

    raw score = baseline + Σ_features contribution,   baseline = model baseline + Σ_trees root value

exactly (up to float rounding). The raw score is the boosted trees' log-odds before
calibration; the probability the model serves is the calibration of it. Inputs are the lean
model's arrays (`model_lean.npz`, or exported in memory from `model.joblib`). scikit-learn
stores split nodes' values before the learning rate and leaves' after it, so split values are
scaled by the learning rate (the card's `estimator.params.learning_rate`) to be comparable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bem.model.identity import write_card
from budget_matcher.features import FEATURE_NAMES
from budget_matcher.lean_model import LeanModel


@dataclass
class Explanation:
    """Contributions of each feature to each row's raw score."""

    feature_names: tuple[str, ...]
    values: np.ndarray  # rows × features, as computed (NaN = missing)
    contributions: np.ndarray  # rows × features
    baseline: float
    raw: np.ndarray  # rows: the trees' raw score
    probability: np.ndarray  # rows: the served score

    def row(self, index: int, top: int | None = None) -> dict[str, Any]:
        """One row as JSON-ready data, features by decreasing |contribution|."""
        order = np.argsort(-np.abs(self.contributions[index]), kind="stable")
        features = [
            {
                "feature": self.feature_names[j],
                "value": None if np.isnan(self.values[index, j]) else float(self.values[index, j]),
                "contribution": round(float(self.contributions[index, j]), 6),
            }
            for j in order[:top]
        ]
        return {
            "score": float(self.probability[index]),
            "raw": float(self.raw[index]),
            "baseline": self.baseline,
            "sum_of_contributions": float(self.contributions[index].sum()),
            "features": features,
        }


DEFAULT_LEARNING_RATE = 0.1  # scikit-learn's default, for cards that do not state theirs


def load_arrays(model_dir: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays) of the model in `model_dir`: model_lean.npz when present, else
    exported from the pickle; both verified as the Lambda verifies them (`predict`: the card's
    sha256 and versions) before they are read. meta["learning_rate"] comes from the card."""
    import io

    import predict

    card = predict.read_card(model_dir)
    if (model_dir / predict.LEAN_FILE).exists():
        data = predict.verify_artifact(model_dir, card, predict.LEAN_FILE)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    else:
        from bem.model.lean_export import build_arrays

        arrays = build_arrays(predict.load_pipeline(model_dir))
    meta = json.loads(str(arrays.pop("meta")))
    params = (card.get("estimator") or {}).get("params") or {}
    meta["learning_rate"] = float(params.get("learning_rate", DEFAULT_LEARNING_RATE))
    return meta, arrays


def _imputed(X: np.ndarray, fill: np.ndarray) -> np.ndarray:
    X = np.array(X, dtype=np.float64)
    columns = np.flatnonzero(~np.isnan(fill))
    block = X[:, columns]
    missing = np.isnan(block)
    block[missing] = np.broadcast_to(fill[columns], block.shape)[missing]
    X[:, columns] = block
    return X


CHUNK_ROWS = 1024  # rows walked together: memory ≈ rows × trees × 40 bytes


@dataclass(frozen=True)
class _Trees:
    """The node arrays, split values scaled by the learning rate (see the module doc)."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    is_leaf: np.ndarray

    @classmethod
    def of(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> _Trees:
        left = np.asarray(arrays["node_left"], dtype=np.intp)
        is_leaf = left == np.arange(left.size)
        value = np.asarray(arrays["node_value"], dtype=np.float64)
        rate = float(meta.get("learning_rate", 1.0))
        return cls(
            np.asarray(arrays["node_feature"], dtype=np.intp),
            np.asarray(arrays["node_threshold"], dtype=np.float64),
            np.asarray(arrays["node_missing_left"], dtype=bool),
            left,
            np.asarray(arrays["node_right"], dtype=np.intp),
            np.where(is_leaf, value, value * rate),
            is_leaf,
        )

    def walk(self, X: np.ndarray, roots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(contributions rows × features, Σ leaf values per row) of the trees at `roots`;
        every (row, tree) path descends together, a path leaves when it reaches its leaf."""
        n_rows, width = X.shape
        node = np.tile(roots, n_rows)
        row = np.repeat(np.arange(n_rows, dtype=np.intp), roots.size)
        flat = np.zeros(n_rows * width)
        active = np.flatnonzero(~self.is_leaf[node])
        while active.size:
            current = node[active]
            split = self.feature[current]
            x = X[row[active], split]
            go_left = np.where(
                np.isnan(x), self.missing_left[current], x <= self.threshold[current]
            )
            child = np.where(go_left, self.left[current], self.right[current])
            flat += np.bincount(
                row[active] * width + split,
                weights=self.value[child] - self.value[current],
                minlength=flat.size,
            )
            node[active] = child
            active = active[~self.is_leaf[child]]
        leaves = np.bincount(row, weights=self.value[node], minlength=n_rows)
        return flat.reshape(n_rows, width), leaves


def explain(meta: dict[str, Any], arrays: dict[str, np.ndarray], X: np.ndarray) -> Explanation:
    """Contributions of every feature of every row of X (averaged over calibration members)."""
    X = np.asarray(X, dtype=np.float64)
    filled = _imputed(X, np.asarray(arrays["impute_fill"], dtype=np.float64))
    trees = _Trees.of(meta, arrays)
    roots = np.asarray(arrays["tree_root"], dtype=np.intp)
    contributions = np.zeros_like(filled)
    raw = np.zeros(X.shape[0])
    baseline, start = 0.0, 0
    members = meta["members"]
    for index, spec in enumerate(members):
        own = roots[start : start + int(spec["n_trees"])]
        start += own.size
        member_baseline = float(arrays["member_baseline"][index])
        baseline += member_baseline + float(trees.value[own].sum())
        for first in range(0, X.shape[0], CHUNK_ROWS):
            rows = slice(first, first + CHUNK_ROWS)
            walked, leaves = trees.walk(filled[rows], own)
            contributions[rows] += walked
            raw[rows] += member_baseline + leaves
    contributions /= len(members)
    baseline /= len(members)
    raw /= len(members)
    probability = LeanModel(meta, arrays).predict_proba_positive(X)
    names = tuple(meta.get("feature_names") or ())
    if len(names) != X.shape[1]:
        names = (
            FEATURE_NAMES
            if len(FEATURE_NAMES) == X.shape[1]
            else tuple(f"x{j}" for j in range(X.shape[1]))
        )
    return Explanation(names, X, contributions, baseline, raw, probability)


def importance(explanation: Explanation) -> dict[str, float]:
    """Global importance: mean |contribution| per feature, largest first."""
    means = np.abs(explanation.contributions).mean(axis=0)
    order = np.argsort(-means, kind="stable")
    return {explanation.feature_names[j]: round(float(means[j]), 6) for j in order}


IMPORTANCE_ROWS = 20_000


def add_importance(model_dir: Path, features: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Write the global importance (mean |contribution| on up to 20,000 of `features`' rows)
    into the card of `model_dir` as `feature_importance`; returns it."""
    rows = np.asarray(features, dtype=np.float64)
    if rows.shape[0] > IMPORTANCE_ROWS:
        pick = np.random.default_rng(seed).choice(rows.shape[0], IMPORTANCE_ROWS, replace=False)
        rows = rows[np.sort(pick)]
    ranking = importance(explain(*load_arrays(model_dir), rows))
    card_path = model_dir / "model.json"
    card = json.loads(card_path.read_text())
    card["feature_importance"] = {
        "method": "mean |path-wise contribution| to the raw score (bem explain)",
        "pairs": int(rows.shape[0]),
        "values": ranking,
    }
    write_card(model_dir, card)
    return ranking
