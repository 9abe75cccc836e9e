"""Fixtures for the scoring core: a small, fully verified model directory."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

import predict
from budget_matcher.features import FEATURE_NAMES


def write_tiny_model(directory: Path, threshold: float = 0.5) -> Path:
    """A quick model on random features (its scores mean nothing) with a correct card."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    features = rng.random((400, len(FEATURE_NAMES)))
    labels = (features[:, 3] > 0.6).astype(int)
    pipeline = Pipeline([("classifier", HistGradientBoostingClassifier(max_iter=10))])
    pipeline.fit(features, labels)
    joblib.dump(pipeline, directory / predict.PICKLE_FILE)
    card = {
        "name": "tiny-test-model",
        "version": "0.0.0-test",
        "artifacts": {
            predict.PICKLE_FILE: {"sha256": predict.sha256_of(directory / predict.PICKLE_FILE)}
        },
        "library_versions": {"scikit-learn": sklearn.__version__},
        "features": list(FEATURE_NAMES),
        "threshold": threshold,
    }
    (directory / predict.CARD_FILE).write_text(json.dumps(card))
    return directory


@pytest.fixture
def tiny_model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BEM_MODEL_DIR pointing at a fresh tiny model."""
    directory = write_tiny_model(tmp_path / "model")
    monkeypatch.setenv("BEM_MODEL_DIR", str(directory))
    return directory
