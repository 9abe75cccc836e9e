"""The lean form: export of every supported Pipeline shape, equivalence, refusals, isolation."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import predict
from bem.model import lean_export
from bem.model.lean_export import (
    LeanMismatch,
    UnsupportedModel,
    check_equivalence,
    export_model_dir,
    export_pipeline,
    probe_rows,
)
from budget_matcher.lean_model import LeanModel, LeanModelError
from tests.packaging.conftest import (
    REPO_ROOT,
    calibrated_pipeline,
    random_features,
    random_labels,
    write_model_dir,
)

pytestmark = pytest.mark.slow


def _hgb(iterations: int = 60) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=iterations, random_state=0)


SHAPES = {
    "hgb": lambda: Pipeline([("classifier", _hgb())]),
    "imputer_hgb": lambda: Pipeline([("imputer", SimpleImputer()), ("classifier", _hgb())]),
    "sigmoid_ensemble": calibrated_pipeline,
    "isotonic_single": lambda: Pipeline(
        [
            ("imputer", SimpleImputer(strategy="most_frequent")),
            (
                "classifier",
                CalibratedClassifierCV(_hgb(30), method="isotonic", cv=3, ensemble=False),
            ),
        ]
    ),
}


def _fit(pipeline: Pipeline, features: np.ndarray) -> Pipeline:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline.fit(features, random_labels(features))


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_lean_export_equals_predict_proba_on_held_out_rows(shape: str, tmp_path: Path) -> None:
    pipeline = _fit(SHAPES[shape](), random_features(2000, seed=1))
    lean = export_pipeline(pipeline, tmp_path / "lean.npz")
    held_out = random_features(12_000, seed=2)
    report = check_equivalence(pipeline, lean, held_out)
    assert report.rows == 12_000
    assert report.max_abs_diff <= 1e-9
    boundary = check_equivalence(pipeline, lean, probe_rows(lean, 10_000))
    assert boundary.max_abs_diff <= 1e-9


def test_lean_export_drops_empty_imputer_columns_like_sklearn(tmp_path: Path) -> None:
    features = random_features(1500, seed=3)
    features[:, 2] = np.nan  # an all-missing column: SimpleImputer drops it
    pipeline = _fit(Pipeline([("imputer", SimpleImputer()), ("classifier", _hgb())]), features)
    lean = export_pipeline(pipeline, tmp_path / "lean.npz")
    assert lean.n_features == features.shape[1]
    report = check_equivalence(pipeline, lean, random_features(10_000, seed=4))
    assert report.max_abs_diff <= 1e-9


def test_lean_export_refuses_unsupported_steps(tmp_path: Path) -> None:
    features = np.nan_to_num(random_features(500))
    pipeline = _fit(
        Pipeline([("scale", StandardScaler()), ("classifier", LogisticRegression())]), features
    )
    with pytest.raises(UnsupportedModel, match="--runtime sklearn"):
        export_pipeline(pipeline, tmp_path / "lean.npz")
    assert not (tmp_path / "lean.npz").exists()


def test_lean_export_refuses_categorical_features(tmp_path: Path) -> None:
    features = np.nan_to_num(random_features(800))
    features[:, 0] = np.abs(np.round(features[:, 0])) % 4
    classifier = HistGradientBoostingClassifier(max_iter=10, categorical_features=[0])
    pipeline = _fit(Pipeline([("classifier", classifier)]), features)
    with pytest.raises(UnsupportedModel, match="categorical"):
        export_pipeline(pipeline, tmp_path / "lean.npz")


def test_check_equivalence_refuses_a_tampered_lean_form(tmp_path: Path) -> None:
    pipeline = _fit(SHAPES["hgb"](), random_features(1500))
    path = tmp_path / "lean.npz"
    export_pipeline(pipeline, path)
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["node_value"] = arrays["node_value"] + 1e-6
    lean_export.write_npz(arrays, path)
    with pytest.raises(LeanMismatch, match="refusing"):
        check_equivalence(pipeline, LeanModel.load(path), random_features(10_000, seed=5))


def test_check_equivalence_needs_ten_thousand_rows(tmp_path: Path) -> None:
    pipeline = _fit(SHAPES["hgb"](), random_features(1500))
    lean = export_pipeline(pipeline, tmp_path / "lean.npz")
    with pytest.raises(LeanMismatch, match="10000"):
        check_equivalence(pipeline, lean, random_features(9_999))


def test_export_model_dir_updates_only_the_lean_artifact_entry(tmp_path: Path) -> None:
    model_dir = write_model_dir(tmp_path / "model")
    before = json.loads((model_dir / "model.json").read_text())
    report = export_model_dir(model_dir)
    after = json.loads((model_dir / "model.json").read_text())
    lean_path = model_dir / "model_lean.npz"
    assert report.rows >= 10_000 and report.max_abs_diff <= 1e-9
    assert after["artifacts"]["model_lean.npz"] == {
        "sha256": predict.sha256_of(lean_path),
        "bytes": lean_path.stat().st_size,
    }
    after["artifacts"].pop("model_lean.npz")
    assert after == before
    loaded = predict.load_model(model_dir, form="lean")
    sklearn_form = predict.load_model(model_dir, form="sklearn")
    rows = random_features(50, seed=9)
    np.testing.assert_allclose(loaded.score(rows), sklearn_form.score(rows), rtol=0, atol=1e-9)


def test_export_is_byte_reproducible(tmp_path: Path) -> None:
    pipeline = _fit(calibrated_pipeline(), random_features(1500))
    export_pipeline(pipeline, tmp_path / "a.npz")
    export_pipeline(pipeline, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_lean_model_rejects_wrong_width_and_unknown_format(tmp_path: Path) -> None:
    pipeline = _fit(SHAPES["hgb"](), random_features(1000))
    lean = export_pipeline(pipeline, tmp_path / "lean.npz")
    with pytest.raises(ValueError, match="expected X of shape"):
        lean.predict_proba_positive(np.zeros((3, lean.n_features + 1)))
    np.savez(tmp_path / "other.npz", meta=np.array(json.dumps({"format": "other"})))
    with pytest.raises(LeanModelError, match="expected 'bem-lean-hgb'"):
        LeanModel.load(tmp_path / "other.npz")


def test_lean_model_chunks_give_the_same_scores(tmp_path: Path) -> None:
    pipeline = _fit(calibrated_pipeline(), random_features(1500))
    lean = export_pipeline(pipeline, tmp_path / "lean.npz")
    rows = random_features(5000, seed=6)
    whole = lean.predict_proba_positive(rows, chunk_rows=10_000)
    chunked = lean.predict_proba_positive(rows, chunk_rows=7)
    assert np.array_equal(whole, chunked)


def test_lean_model_imports_neither_sklearn_nor_scipy(tmp_path: Path) -> None:
    pipeline = _fit(SHAPES["hgb"](), random_features(1000))
    path = tmp_path / "lean.npz"
    export_pipeline(pipeline, path)
    code = (
        "import sys, numpy as np\n"
        "from budget_matcher.lean_model import LeanModel\n"
        f"m = LeanModel.load({str(path)!r})\n"
        "m.predict_proba_positive(np.zeros((2, m.n_features)))\n"
        "heavy = [n for n in sys.modules if n.split('.')[0] in ('sklearn', 'scipy', 'joblib')]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
