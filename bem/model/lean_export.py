"""Export the pickled scikit-learn Pipeline to the numpy-only form (model/model_lean.npz).

Supported Pipelines (anything else is refused with `UnsupportedModel`): an optional
SimpleImputer (missing_values NaN, no indicator), then a binary HistGradientBoostingClassifier
without categorical features, or a CalibratedClassifierCV (method sigmoid or isotonic,
ensemble True or False) wrapping one. `check_equivalence` proves the export on held-out rows:
max |lean - predict_proba| must be <= 1e-9 on >= 10,000 rows.

Command: python -m bem.model.lean_export [MODEL_DIR]  (writes model_lean.npz, updates model.json)
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from budget_matcher.lean_model import FORMAT_NAME, FORMAT_VERSION, LeanModel
from predict import sha256_of

LEAN_FILENAME = "model_lean.npz"
PICKLE_FILENAME = "model.joblib"
CARD_FILENAME = "model.json"
MAX_ABS_DIFF = 1e-9
MIN_CHECK_ROWS = 10_000
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class UnsupportedModel(ValueError):
    """The Pipeline holds a step the lean form cannot evaluate."""


class LeanMismatch(RuntimeError):
    """The lean form does not reproduce predict_proba (or was checked on too few rows)."""


@dataclass(frozen=True)
class EquivalenceReport:
    """Outcome of comparing the lean form with the pickle."""

    rows: int
    max_abs_diff: float


def _unwrap_frozen(estimator: Any) -> Any:
    """A FrozenEstimator's inner estimator (scikit-learn's replacement of cv='prefit')."""
    return estimator.estimator if type(estimator).__name__ == "FrozenEstimator" else estimator


def _split_pipeline(model: Any) -> tuple[Any | None, Any]:
    """(imputer or None, final estimator), refusing any other shape."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    steps = [step for _, step in model.steps] if isinstance(model, Pipeline) else [model]
    steps = [step for step in steps if step not in (None, "passthrough")]
    if len(steps) == 1:
        return None, steps[0]
    if len(steps) == 2 and isinstance(steps[0], SimpleImputer):
        return steps[0], steps[1]
    names = ", ".join(type(step).__name__ for step in steps)
    raise UnsupportedModel(
        f"lean export supports [SimpleImputer] -> HistGradientBoostingClassifier | "
        f"CalibratedClassifierCV(HistGradientBoostingClassifier); got steps: {names}. "
        "Build with --runtime sklearn to serve this model."
    )


def _imputer_fill(imputer: Any | None, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """(fill value per input column or NaN, input column of each imputer output column)."""
    if imputer is None:
        return np.full(n_features, np.nan), np.arange(n_features)
    missing = imputer.missing_values
    if not (isinstance(missing, float) and np.isnan(missing)):
        raise UnsupportedModel(f"SimpleImputer(missing_values={missing!r}) is not supported")
    if imputer.add_indicator:
        raise UnsupportedModel("SimpleImputer(add_indicator=True) is not supported")
    statistics = np.asarray(imputer.statistics_, dtype=np.float64)
    if getattr(imputer, "keep_empty_features", False):
        kept = np.arange(statistics.size)
    else:
        kept = np.flatnonzero(~np.isnan(statistics))
    fill = np.full(statistics.size, np.nan)
    fill[kept] = statistics[kept]
    return fill, kept


def _members(final: Any) -> list[tuple[Any, str, dict[str, np.ndarray]]]:
    """[(HistGradientBoostingClassifier, calibration, calibration arrays)] of the final step."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier

    if isinstance(final, HistGradientBoostingClassifier):
        return [(final, "none", {})]
    if not isinstance(final, CalibratedClassifierCV):
        raise UnsupportedModel(
            f"final step {type(final).__name__} is not supported by the lean form; "
            "build with --runtime sklearn"
        )
    members: list[tuple[Any, str, dict[str, np.ndarray]]] = []
    for calibrated in final.calibrated_classifiers_:
        estimator = _unwrap_frozen(calibrated.estimator)
        if not isinstance(estimator, HistGradientBoostingClassifier):
            raise UnsupportedModel(
                f"CalibratedClassifierCV wraps {type(estimator).__name__}, "
                "only HistGradientBoostingClassifier is supported"
            )
        if calibrated.method not in ("sigmoid", "isotonic") or len(calibrated.calibrators) != 1:
            raise UnsupportedModel(f"calibration method {calibrated.method!r} is not supported")
        calibrator = calibrated.calibrators[0]
        if calibrated.method == "sigmoid":
            params = {
                "a": np.array(calibrator.a_, dtype=np.float64),
                "b": np.array(calibrator.b_, dtype=np.float64),
            }
        else:
            if calibrator.out_of_bounds != "clip":
                raise UnsupportedModel("isotonic calibrator must use out_of_bounds='clip'")
            params = {
                "x": np.asarray(calibrator.X_thresholds_, dtype=np.float64),
                "y": np.asarray(calibrator.y_thresholds_, dtype=np.float64),
                "bounds": np.array([calibrator.X_min_, calibrator.X_max_], dtype=np.float64),
            }
        members.append((estimator, calibrated.method, params))
    return members


def breadth_first(nodes: np.ndarray) -> np.ndarray:
    """The tree's nodes renumbered breadth-first, each right child right after its sibling."""
    order = [0]
    new_id = {0: 0}
    position = 0
    while position < len(order):
        old = order[position]
        position += 1
        if not nodes["is_leaf"][old]:
            for child in (int(nodes["left"][old]), int(nodes["right"][old])):
                new_id[child] = len(order)
                order.append(child)
    renumbered = nodes[np.asarray(order)].copy()
    internal = ~renumbered["is_leaf"].astype(bool)
    renumbered["left"][internal] = [new_id[int(i)] for i in renumbered["left"][internal]]
    renumbered["right"][internal] = [new_id[int(i)] for i in renumbered["right"][internal]]
    return renumbered


def _trees(hgb: Any) -> tuple[list[np.ndarray], float, int]:
    """(node arrays of each tree, baseline, max depth) of a binary HGB classifier."""
    if len(hgb.classes_) != 2 or hgb.n_trees_per_iteration_ != 1:
        raise UnsupportedModel("only binary HistGradientBoostingClassifier is supported")
    categorical = getattr(hgb, "is_categorical_", None)
    if getattr(hgb, "_preprocessor", None) is not None or categorical is not None:
        raise UnsupportedModel("categorical features are not supported by the lean form")
    trees: list[np.ndarray] = []
    max_depth = 0
    for iteration in hgb._predictors:
        nodes = iteration[0].nodes
        if nodes["is_categorical"].any():
            raise UnsupportedModel("categorical splits are not supported by the lean form")
        trees.append(breadth_first(nodes))
        max_depth = max(max_depth, int(nodes["depth"].max()))
    baseline = float(np.asarray(hgb._baseline_prediction).reshape(-1)[0])
    return trees, baseline, max_depth


def build_arrays(model: Any, source_sha256: str | None = None) -> dict[str, np.ndarray]:
    """The arrays (with `meta`) of the lean form of a fitted Pipeline."""
    import sklearn

    imputer, final = _split_pipeline(model)
    n_features = int(getattr(model, "n_features_in_", 0) or final.n_features_in_)
    fill, column_of = _imputer_fill(imputer, n_features)
    members = _members(final)
    classes = [c.item() if hasattr(c, "item") else c for c in members[0][0].classes_]
    feature, threshold, missing_left, left, right, value, roots = ([] for _ in range(7))
    baselines, sig_a, sig_b, member_meta = [], [], [], []
    arrays: dict[str, np.ndarray] = {}
    offset = 0
    for index, (hgb, calibration, params) in enumerate(members):
        trees, baseline, max_depth = _trees(hgb)
        for nodes in trees:
            size = len(nodes)
            own = np.arange(offset, offset + size)
            leaf = nodes["is_leaf"].astype(bool)
            feature.append(np.where(leaf, 0, column_of[nodes["feature_idx"]]))
            threshold.append(np.where(leaf, 0.0, nodes["num_threshold"]))
            missing_left.append(nodes["missing_go_to_left"].astype(bool))
            left.append(np.where(leaf, own, nodes["left"].astype(np.int64) + offset))
            right.append(np.where(leaf, own, nodes["right"].astype(np.int64) + offset))
            value.append(np.asarray(nodes["value"], dtype=np.float64))
            roots.append(offset)
            offset += size
        baselines.append(baseline)
        sig_a.append(float(params["a"]) if calibration == "sigmoid" else np.nan)
        sig_b.append(float(params["b"]) if calibration == "sigmoid" else np.nan)
        if calibration == "isotonic":
            arrays[f"iso_x_{index}"] = params["x"]
            arrays[f"iso_y_{index}"] = params["y"]
            arrays[f"iso_bounds_{index}"] = params["bounds"]
        member_meta.append(
            {"calibration": calibration, "n_trees": len(trees), "max_depth": max_depth}
        )
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "n_features": n_features,
        "feature_names": [str(n) for n in getattr(model, "feature_names_in_", [])],
        "classes": classes,
        "members": member_meta,
        "source_sha256": source_sha256,
        "scikit_learn_version": sklearn.__version__,
    }
    arrays.update(
        meta=np.array(json.dumps(meta, sort_keys=True)),
        impute_fill=fill,
        node_feature=np.concatenate(feature).astype(np.int32),
        node_threshold=np.concatenate(threshold).astype(np.float64),
        node_missing_left=np.concatenate(missing_left).astype(bool),
        node_left=np.concatenate(left).astype(np.int32),
        node_right=np.concatenate(right).astype(np.int32),
        node_value=np.concatenate(value),
        tree_root=np.asarray(roots, dtype=np.int64),
        member_baseline=np.asarray(baselines, dtype=np.float64),
        sigmoid_a=np.asarray(sig_a, dtype=np.float64),
        sigmoid_b=np.asarray(sig_b, dtype=np.float64),
    )
    return arrays


def write_npz(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Write arrays as an .npz with fixed entry order and timestamps (byte-reproducible)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            payload = io.BytesIO()
            np.lib.format.write_array(payload, np.asanyarray(arrays[name]), allow_pickle=False)
            archive.writestr(info, payload.getvalue())
    path.write_bytes(buffer.getvalue())


def export_pipeline(model: Any, path: Path, source_sha256: str | None = None) -> LeanModel:
    """Write the lean form of `model` to `path` and return it loaded back."""
    write_npz(build_arrays(model, source_sha256), path)
    return LeanModel.load(path)


def check_equivalence(model: Any, lean: LeanModel, X: np.ndarray) -> EquivalenceReport:
    """Compare lean and pickle on X; raise LeanMismatch over 1e-9 or under 10,000 rows."""
    from threadpoolctl import threadpool_limits

    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] < MIN_CHECK_ROWS:
        raise LeanMismatch(f"equivalence needs >= {MIN_CHECK_ROWS} rows, got {X.shape[0]}")
    # One OpenMP thread: on a busy machine, scikit-learn's spinning threads cost 10-100x.
    with threadpool_limits(limits=1):
        expected = model.predict_proba(X)[:, 1]
    actual = lean.predict_proba_positive(X)
    both_nan = np.isnan(expected) & np.isnan(actual)
    diff = np.where(both_nan, 0.0, np.abs(expected - actual))
    max_diff = float(np.nanmax(np.where(np.isnan(diff), np.inf, diff)))
    if not max_diff <= MAX_ABS_DIFF:
        worst = int(np.argmax(np.where(np.isnan(diff), np.inf, diff)))
        raise LeanMismatch(
            f"lean form differs from predict_proba by {max_diff:.3g} (> {MAX_ABS_DIFF:g}) "
            f"at row {worst}: pickle {expected[worst]!r}, lean {actual[worst]!r}; refusing"
        )
    return EquivalenceReport(rows=int(X.shape[0]), max_abs_diff=max_diff)


def probe_rows(lean: LeanModel, n_rows: int, seed: int = 0) -> np.ndarray:
    """Rows that sit on, just below and just above every split threshold, and NaN.

    Each column draws from its own thresholds (exactly, nextafter either side), NaN and the
    imputer's fill value, so every `x <= threshold` and missing-value branch is exercised.
    """
    rng = np.random.default_rng(seed)
    X = np.empty((n_rows, lean.n_features), dtype=np.float64)
    feature = lean._feature
    threshold = lean._threshold
    internal = lean._left != np.arange(lean._left.size)
    for column in range(lean.n_features):
        cuts = np.unique(threshold[internal & (feature == column)])
        pool = np.concatenate(
            [cuts, np.nextafter(cuts, -np.inf), np.nextafter(cuts, np.inf), [np.nan, 0.0]]
        )
        if cuts.size:
            pool = np.concatenate([pool, [cuts.min() - 1.0, cuts.max() + 1.0]])
        X[:, column] = rng.choice(pool, size=n_rows)
    return X


def update_card(card_path: Path, lean_path: Path) -> None:
    """Set model.json's artifacts entry for the lean file; every other key stays as it was."""
    card = json.loads(card_path.read_text())
    artifacts = card.setdefault("artifacts", {})
    artifacts[lean_path.name] = {
        "sha256": sha256_of(lean_path),
        "bytes": lean_path.stat().st_size,
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")


def export_model_dir(
    model_dir: Path, holdout: np.ndarray | None = None, out_dir: Path | None = None
) -> EquivalenceReport:
    """Export model_dir/model.joblib, prove it equals predict_proba, update model.json.

    `holdout`: held-out feature rows; topped up with threshold-probing rows to >= 10,000.
    `out_dir` (default model_dir) receives model_lean.npz and the updated model.json copy.
    """
    import predict

    out_dir = out_dir or model_dir
    pickle_path = model_dir / PICKLE_FILENAME
    model = predict.load_pipeline(model_dir)  # the Lambda's checks before unpickling
    lean_path = out_dir / LEAN_FILENAME
    lean = export_pipeline(model, lean_path, sha256_of(pickle_path))
    rows = [np.asarray(holdout, dtype=np.float64)] if holdout is not None else []
    have = sum(r.shape[0] for r in rows)
    rows.append(probe_rows(lean, max(MIN_CHECK_ROWS - have, MIN_CHECK_ROWS // 2)))
    try:
        report = check_equivalence(model, lean, np.vstack(rows))
    except LeanMismatch:
        lean_path.unlink(missing_ok=True)
        raise
    card_src = model_dir / CARD_FILENAME
    if card_src.exists():
        card_dst = out_dir / CARD_FILENAME
        if card_dst != card_src:
            card_dst.write_bytes(card_src.read_bytes())
        update_card(card_dst, lean_path)
    return report


def main(argv: list[str] | None = None) -> int:
    """Export MODEL_DIR (default model/) in place; print the equivalence figures."""
    args = sys.argv[1:] if argv is None else argv
    model_dir = Path(args[0]) if args else Path("model")
    try:
        report = export_model_dir(model_dir)
    except (UnsupportedModel, LeanMismatch) as exc:
        print(f"lean export refused: {exc}", file=sys.stderr)
        return 2
    print(
        f"{model_dir / LEAN_FILENAME}: max |lean - predict_proba| = {report.max_abs_diff:.3g} "
        f"on {report.rows} rows"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
