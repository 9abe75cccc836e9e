"""Numpy-only evaluator of the exported scikit-learn Pipeline (model/model_lean.npz).

The model of record is the pickled Pipeline (model/model.joblib): an optional SimpleImputer,
then a HistGradientBoostingClassifier, optionally wrapped in a CalibratedClassifierCV (sigmoid
or isotonic). `bem.model.lean_export` writes its fitted state into one .npz file; this module
evaluates it with numpy alone, in the same order of floating-point operations as
scikit-learn, so `predict_proba_positive(X)` equals `pipeline.predict_proba(X)[:, 1]` (the
build proves it on held-out pairs before it ships a zip). No scikit-learn or scipy import.

File layout (all plain arrays, loadable with allow_pickle=False):
  meta             JSON text: format, format_version, n_features, feature_names, classes,
                   members [{calibration, n_trees, max_depth}], source sha256, versions
  impute_fill      float64 (n_features,): value replacing NaN per input column (NaN = none)
  node_feature     int32   input column tested at each node (leaves: 0)
  node_threshold   float64 go left when x <= threshold
  node_missing_left bool   where NaN goes
  node_left/right  int32   global child indices (leaves point to themselves); the exporter
                           numbers nodes breadth-first with right = left + 1
  node_value       float64 leaf values
  tree_root        int64   global index of each tree's root, members' trees consecutively
  member_baseline  float64 per member
  sigmoid_a/b      float64 per member (NaN unless sigmoid)
  iso_x_<m>/iso_y_<m>/iso_bounds_<m>  isotonic thresholds and clip bounds of member m
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

FORMAT_NAME = "bem-lean-hgb"
FORMAT_VERSION = 1
CALIBRATIONS = ("none", "sigmoid", "isotonic")
# Rows per traversal chunk: bounds memory at rows x trees x 8 bytes per temporary.
DEFAULT_CHUNK_ROWS = 2048


class LeanModelError(ValueError):
    """The lean model file is missing, malformed or of an unknown format."""


@dataclass(frozen=True)
class _Member:
    """One boosted-tree ensemble and its calibration (one per calibrated classifier)."""

    roots: np.ndarray
    max_depth: int
    baseline: float
    calibration: str
    sigmoid_a: float
    sigmoid_b: float
    iso_x: np.ndarray | None
    iso_y: np.ndarray | None
    iso_bounds: tuple[float, float]


Expit = Callable[[np.ndarray], np.ndarray]


def _exp_or_inf(value: float) -> float:
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


def exact_expit(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) with the C library's exp, as scipy.special.expit computes it.

    numpy's own vectorised exp differs from the C library's in the last bit on ~10 % of
    values, so it would not reproduce predict_proba exactly; this runs per element in Python.
    """
    exp = math.exp
    values = [
        1.0 / (1.0 + (exp(-v) if v > -700.0 else _exp_or_inf(-v)))
        for v in np.asarray(x, dtype=np.float64).ravel().tolist()
    ]
    return np.asarray(values, dtype=np.float64).reshape(np.shape(x))


class LeanModel:
    """Evaluates the exported trees, imputer and calibrators with numpy."""

    def __init__(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray], trees: bool = True
    ) -> None:
        """`trees=False`: the node arrays are neither needed nor read (`load`)."""
        self.meta = meta
        self.n_features = int(meta["n_features"])
        self.feature_names: tuple[str, ...] = tuple(meta.get("feature_names") or ())
        self.classes: list[Any] = list(meta["classes"])
        self.has_trees = trees
        self._fill = np.asarray(arrays["impute_fill"], dtype=np.float64)
        self._impute_columns = np.flatnonzero(~np.isnan(self._fill))
        if trees:
            self._feature = np.asarray(arrays["node_feature"], dtype=np.intp)
            self._threshold = np.asarray(arrays["node_threshold"], dtype=np.float64)
            self._missing_left = np.asarray(arrays["node_missing_left"], dtype=bool)
            self._left = np.asarray(arrays["node_left"], dtype=np.intp)
            self._right = np.asarray(arrays["node_right"], dtype=np.intp)
            self._value = np.asarray(arrays["node_value"], dtype=np.float64)
            self._is_leaf = self._left == np.arange(self._left.size)
            # The exporter numbers each right child right after its sibling: one gather.
            self._adjacent_children = bool(
                np.all(self._right[~self._is_leaf] == self._left[~self._is_leaf] + 1)
            )
        self._members = self._read_members(meta, arrays)
        if self._fill.shape != (self.n_features,):
            raise LeanModelError("impute_fill does not match n_features")

    @staticmethod
    def _read_members(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> list[_Member]:
        roots = np.asarray(arrays["tree_root"], dtype=np.intp)
        members: list[_Member] = []
        start = 0
        for index, spec in enumerate(meta["members"]):
            calibration = spec["calibration"]
            if calibration not in CALIBRATIONS:
                raise LeanModelError(f"unknown calibration {calibration!r}")
            n_trees = int(spec["n_trees"])
            iso_x = arrays.get(f"iso_x_{index}") if calibration == "isotonic" else None
            iso_y = arrays.get(f"iso_y_{index}") if calibration == "isotonic" else None
            bounds = arrays.get(f"iso_bounds_{index}")
            members.append(
                _Member(
                    roots=roots[start : start + n_trees],
                    max_depth=int(spec["max_depth"]),
                    baseline=float(arrays["member_baseline"][index]),
                    calibration=calibration,
                    sigmoid_a=float(arrays["sigmoid_a"][index]),
                    sigmoid_b=float(arrays["sigmoid_b"][index]),
                    iso_x=None if iso_x is None else np.asarray(iso_x, dtype=np.float64),
                    iso_y=None if iso_y is None else np.asarray(iso_y, dtype=np.float64),
                    iso_bounds=(float(bounds[0]), float(bounds[1]))
                    if bounds is not None
                    else (-np.inf, np.inf),
                )
            )
            start += n_trees
        if not members:
            raise LeanModelError("the lean model has no members")
        return members

    @classmethod
    def load(cls, path: str | Path | BinaryIO, trees: bool = True) -> LeanModel:
        """Read a model_lean.npz written by `bem.model.lean_export` (no pickle involved).

        `trees=False` leaves the node arrays (most of the file) unread and undecompressed: the
        model then gives its link and calibration (`proba_from_raw`) to an evaluator that has
        the trees itself (the compiled library), and cannot evaluate them."""
        try:
            source = Path(path) if isinstance(path, (str, Path)) else path
            with np.load(source, allow_pickle=False) as npz:
                wanted = (name for name in npz.files if trees or not name.startswith("node_"))
                arrays = {name: npz[name] for name in wanted}
        except (OSError, ValueError) as exc:
            raise LeanModelError(f"cannot read lean model {path}: {exc}") from exc
        if "meta" not in arrays:
            raise LeanModelError(f"{path} has no meta entry")
        meta = json.loads(str(arrays.pop("meta")))
        if meta.get("format") != FORMAT_NAME or meta.get("format_version") != FORMAT_VERSION:
            raise LeanModelError(
                f"{path} is format {meta.get('format')!r} v{meta.get('format_version')!r}, "
                f"expected {FORMAT_NAME!r} v{FORMAT_VERSION}"
            )
        return cls(meta, arrays, trees)

    def predict_proba_positive(
        self, X: np.ndarray, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> np.ndarray:
        """Probability of the positive class (classes[1]) per row of X (n_rows x n_features)."""
        if not self.has_trees:
            raise LeanModelError("the lean model was loaded without its trees (trees=False)")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected X of shape (n, {self.n_features}), got {X.shape}")
        out = np.empty(X.shape[0], dtype=np.float64)
        for start in range(0, X.shape[0], max(1, chunk_rows)):
            out[start : start + chunk_rows] = self._proba_chunk(X[start : start + chunk_rows])
        return out

    def _proba_chunk(self, X: np.ndarray) -> np.ndarray:
        if self._impute_columns.size:
            X = X.copy()
            block = X[:, self._impute_columns]
            missing = np.isnan(block)
            block[missing] = np.broadcast_to(self._fill[self._impute_columns], block.shape)[missing]
            X[:, self._impute_columns] = block
        raw = np.empty((X.shape[0], len(self._members)), dtype=np.float64)
        for index, member in enumerate(self._members):
            raw[:, index] = self._raw(member, X)
        return self.proba_from_raw(raw)

    @property
    def n_members(self) -> int:
        """Boosted ensembles averaged into one probability (1 unless calibrated with cv)."""
        return len(self._members)

    def proba_from_raw(self, raw: np.ndarray, expit: Expit = exact_expit) -> np.ndarray:
        """Probability from each member's raw score (n_rows x n_members): link, calibration,
        then the members' mean, in scikit-learn's order. Shared by every tree evaluator;
        `expit` must compute exactly what `exact_expit` does (the compiled one does, in C)."""
        total = np.zeros(raw.shape[0], dtype=np.float64)
        for index, member in enumerate(self._members):
            column = np.ascontiguousarray(raw[:, index])
            total += self._member_proba(member, column, expit)
        if len(self._members) > 1:
            total /= len(self._members)
        return total

    def _member_proba(self, member: _Member, raw: np.ndarray, expit: Expit) -> np.ndarray:
        if member.calibration == "none":
            return expit(raw)
        if member.calibration == "sigmoid":
            proba = expit(-(member.sigmoid_a * raw + member.sigmoid_b))
        else:
            assert member.iso_x is not None and member.iso_y is not None
            clipped = np.clip(raw, member.iso_bounds[0], member.iso_bounds[1])
            if member.iso_x.size == 1:
                proba = np.repeat(member.iso_y, clipped.shape[0])
            else:
                proba = np.interp(clipped, member.iso_x, member.iso_y)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

    def _raw(self, member: _Member, X: np.ndarray) -> np.ndarray:
        """Baseline plus every tree's leaf value, summed tree by tree as scikit-learn does.

        All (row, tree) paths descend together; a path that reaches a leaf leaves the active
        set, so the work follows the paths' real lengths rather than the deepest tree's.
        """
        n_rows, n_trees = X.shape[0], member.roots.size
        node = np.tile(member.roots, n_rows)
        row_offset = np.repeat(np.arange(n_rows, dtype=np.intp) * X.shape[1], n_trees)
        flat_x = np.ascontiguousarray(X).ravel()
        active = np.flatnonzero(~self._is_leaf[node])
        for _ in range(member.max_depth):
            if active.size == 0:
                break
            current = node[active]
            x = flat_x[row_offset[active] + self._feature[current]]
            go_left = x <= self._threshold[current]
            missing = np.isnan(x)
            if missing.any():
                go_left[missing] = self._missing_left[current[missing]]
            if self._adjacent_children:
                current = self._left[current] + ~go_left
            else:
                current = np.where(go_left, self._left[current], self._right[current])
            node[active] = current
            active = active[~self._is_leaf[current]]
        leaves = self._value[node].reshape(n_rows, n_trees)
        raw = np.full(n_rows, member.baseline, dtype=np.float64)
        for tree in range(n_trees):
            raw += leaves[:, tree]
        return raw
