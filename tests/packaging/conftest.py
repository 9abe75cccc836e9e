"""Fixtures for the build: a small model of record and one real default build per module."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

import predict
from bem.packaging import targets
from bem.packaging.build import BuildOptions, BuildResult, run_build
from budget_matcher.features import FEATURE_NAMES

REPO_ROOT = Path(__file__).resolve().parents[2]
N_FEATURES = len(FEATURE_NAMES)


def random_features(rows: int, seed: int = 0) -> np.ndarray:
    """Feature rows of the real width with missing values and ties, like real features."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, N_FEATURES))
    features[:, ::3] = np.round(features[:, ::3], 1)
    features[rng.random(features.shape) < 0.1] = np.nan
    return features


def random_labels(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """Labels that depend on a few features, so the trees have real splits."""
    rng = np.random.default_rng(seed)
    signal = np.nan_to_num(features[:, 0]) - np.nan_to_num(features[:, 1]) * 0.5
    return (signal + rng.normal(scale=0.5, size=len(features)) > 0).astype(int)


def calibrated_pipeline(max_iter: int = 40) -> Pipeline:
    """The richest shape the model of record may take: imputer + calibrated HGB."""
    return Pipeline(
        [
            ("imputer", SimpleImputer(strategy="median")),
            (
                "classifier",
                CalibratedClassifierCV(
                    HistGradientBoostingClassifier(max_iter=max_iter, random_state=0),
                    method="sigmoid",
                    cv=3,
                    ensemble=True,
                ),
            ),
        ]
    )


def write_model_dir(directory: Path, pipeline: Pipeline | None = None) -> Path:
    """model.joblib + model.json (card with sha256, versions, features) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    features = random_features(1500)
    pipeline = pipeline or calibrated_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.fit(features, random_labels(features))
    pickle_path = directory / predict.PICKLE_FILE
    joblib.dump(pipeline, pickle_path)
    card = {
        "name": "build-test-model",
        "version": "0.0.0-build-test",
        "created_at": "2026-11-24T00:00:00Z",
        "artifacts": {
            predict.PICKLE_FILE: {
                "sha256": predict.sha256_of(pickle_path),
                "bytes": pickle_path.stat().st_size,
            }
        },
        "library_versions": {"scikit-learn": sklearn.__version__},
        "features": list(FEATURE_NAMES),
        "threshold": 0.5,
    }
    (directory / predict.CARD_FILE).write_text(json.dumps(card, indent=2))
    return directory


def require_interpreter(python: str = "3.12") -> Path:
    """The target interpreter the build verifies with; the test is skipped without it."""
    try:
        return targets.find_interpreter(python)
    except targets.UnsupportedTarget as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session", autouse=True)
def _one_openmp_thread() -> Iterator[None]:
    """Fit and predict on one thread: OpenMP spinning on a busy 2-core runner costs 10-100x."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def build_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model of record shared by the build tests."""
    return write_model_dir(tmp_path_factory.mktemp("model"))


def build_once(
    workdir: Path, model_dir: Path, target: targets.BuildTarget | None = None, **options: object
) -> BuildResult:
    """One real build of the repository into `workdir`."""
    require_interpreter(target.python if target else "3.12")
    return run_build(
        BuildOptions(
            root=REPO_ROOT,
            target=target or targets.BuildTarget(),
            model_dir=model_dir,
            output=workdir / "deploy.zip",
            layer_output=workdir / "layer.zip",
            staging=workdir / "staging",
            **options,  # type: ignore[arg-type]
        )
    )


@pytest.fixture(scope="session")
def default_build(tmp_path_factory: pytest.TempPathFactory, build_model_dir: Path) -> BuildResult:
    """The default build (python3.12 x86_64, lean), once per test session."""
    return build_once(tmp_path_factory.mktemp("default-build"), build_model_dir)
