"""`bem explain`: path-wise contributions that sum, with the baseline, to the raw score."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import joblib
import numpy as np
import pytest
from click.testing import CliRunner

import lambda_handler
from bem.cli import main
from bem.explain.contributions import explain, importance, load_arrays
from bem.model.dataset import build_dataset, group_rows
from bem.model.lean_export import export_model_dir
from bem.synth.knobs import SynthConfig
from bem.synth.users import generate_users, user_rows
from budget_matcher import contract
from budget_matcher.contract import SEED_EXAMPLE
from budget_matcher.features import compute_features
from flattened_data_points import FlattenedDataPoints
from tests.conftest import REPO_ROOT

MODEL = REPO_ROOT / "model"


def _raw_and_proba(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's own raw score (decision_function of the boosted trees) and probability."""
    pipeline = joblib.load(MODEL / "model.joblib")
    calibrated = pipeline[-1]
    members = [c.estimator for c in calibrated.calibrated_classifiers_]
    filled = pipeline[:-1].transform(X) if len(pipeline) > 1 else X
    raw = np.mean([m.decision_function(filled) for m in members], axis=0)
    return raw, pipeline.predict_proba(X)[:, 1]


def test_explain_seed_example_contributions_sum_to_the_raw_score() -> None:
    X = compute_features(FlattenedDataPoints(contract.SEED_EXAMPLE).all().pairs)
    explanation = explain(*load_arrays(MODEL), X)
    raw, proba = _raw_and_proba(X)
    np.testing.assert_allclose(explanation.raw, raw, atol=1e-9)
    np.testing.assert_allclose(
        explanation.baseline + explanation.contributions.sum(axis=1), raw, atol=1e-9
    )
    np.testing.assert_allclose(explanation.probability, proba, atol=1e-12)
    row = explanation.row(0)
    top = {f["feature"]: f["contribution"] for f in row["features"][:3]}
    assert top.get("type_match", 0.0) < 0  # a taxi against a flight budget, among the largest


@pytest.fixture(scope="module")
def matched_pairs() -> tuple[np.ndarray, np.ndarray]:
    users = generate_users(SynthConfig(users=15, seed=21))
    dataset = build_dataset(group_rows(row for user in users for row in user_rows(user)))
    return dataset.features, dataset.labels


def test_explain_matched_pairs_sum_and_push_up(
    matched_pairs: tuple[np.ndarray, np.ndarray],
) -> None:
    features, labels = matched_pairs
    explanation = explain(*load_arrays(MODEL), features)
    raw, _ = _raw_and_proba(features)
    np.testing.assert_allclose(
        explanation.baseline + explanation.contributions.sum(axis=1), raw, atol=1e-9
    )
    best = int(np.argmax(np.where(labels == 1, explanation.probability, -1)))
    assert explanation.probability[best] > 0.5
    assert explanation.contributions[best].sum() > 0
    ranking = importance(explanation)
    assert set(ranking) == set(explanation.feature_names)
    assert list(ranking.values()) == sorted(ranking.values(), reverse=True)


def test_explain_lean_file_and_pickle_agree(
    tmp_path: Path, matched_pairs: tuple[np.ndarray, np.ndarray]
) -> None:
    directory = tmp_path / "model"
    shutil.copytree(MODEL, directory)
    export_model_dir(directory)
    features = matched_pairs[0][:300]
    from_file = explain(*load_arrays(directory), features)
    from_pickle = explain(*load_arrays(MODEL), features)
    np.testing.assert_allclose(from_file.contributions, from_pickle.contributions)


def test_explain_command_on_the_seed_and_on_a_history(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["explain", "--json"])
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["budget_id"] == "309366"
    assert abs(row["baseline"] + row["sum_of_contributions"] - row["raw"]) < 1e-9
    # the served score: the rescorer's logit is its intercept plus the terms shown
    (served,) = lambda_handler.answer(SEED_EXAMPLE, None)
    assert row["served_score"] == pytest.approx(served["score"], abs=1e-6)
    logit = row["rescorer_intercept"] + sum(t["term"] for t in row["rescorer_terms"])
    assert 1 / (1 + np.exp(-logit)) == pytest.approx(row["served_score"], abs=1e-5)
    history = tmp_path / "h.csv"
    assert CliRunner().invoke(main, ["data", "template", "--out", str(history)]).exit_code == 0
    result = CliRunner().invoke(
        main, ["explain", "--history", str(history), "--user", "u1", "--item", "4659497"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("budget 309366 × item 4659497: trees' score ")
    assert "served score" in result.stdout
    bad = CliRunner().invoke(main, ["explain", "{not json"])
    assert bad.exit_code == 1 and "neither JSON nor a JSON file" in bad.stderr


def _tampered_model(tmp_path: Path) -> Path:
    """The model of record with a pickle its card does not vouch for (a different model)."""
    from bem.local.devzip import write_placeholder_model

    directory = tmp_path / "tampered"
    shutil.copytree(MODEL, directory)
    (directory / "model_lean.npz").unlink(missing_ok=True)
    other = write_placeholder_model(tmp_path / "other", version="0.0.0-other")
    shutil.copy(other / "model.joblib", directory / "model.joblib")
    return directory


def test_explain_model_dir_refuses_a_pickle_its_card_does_not_vouch_for(tmp_path: Path) -> None:
    directory = _tampered_model(tmp_path)
    result = CliRunner().invoke(main, ["explain", "--json", "--model-dir", str(directory)])
    assert result.exit_code == 1, result.output
    assert "model_hash_mismatch" in result.stderr
    lean = tmp_path / "lean"
    shutil.copytree(MODEL, lean)
    export_model_dir(lean)
    with np.load(lean / "model_lean.npz") as npz:  # a lean file the card does not list
        np.savez(lean / "model_lean.npz", **{k: npz[k] for k in npz.files}, extra=np.zeros(1))
    refused = CliRunner().invoke(main, ["explain", "--json", "--model-dir", str(lean)])
    assert refused.exit_code == 1 and "model_hash_mismatch" in refused.stderr
