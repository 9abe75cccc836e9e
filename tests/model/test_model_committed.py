"""The committed model of record: loads as served, card consistent, meets the bar it reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import predict
from bem.model.baseline import RuleBaseline
from bem.model.evaluate import (
    evaluate_model,
    seed_example_features,
    seed_example_pairs,
    served_scores,
    synthetic_dataset,
)
from bem.model.train import DEFAULT_MIN_RECALL
from budget_matcher.features import FEATURE_NAMES

MODEL_DIR = Path(__file__).resolve().parents[2] / "model"


@pytest.fixture(scope="module")
def committed():
    return predict.load_model(MODEL_DIR, "sklearn")


def test_committed_model_card_describes_the_artefact(committed) -> None:
    card = committed.card
    assert card["features"] == list(FEATURE_NAMES)
    assert card["artifacts"]["model.joblib"]["sha256"] == predict.sha256_of(
        MODEL_DIR / "model.joblib"
    )
    assert card["target_precision"] == 0.93
    assert card["artifacts"]["model.joblib"]["bytes"] < 3_000_000  # loads at cold start
    data = card["training_data"]
    assert data["source"] == "synthetic" and len(data["digest"]) == 64
    assert data["generator"]["seed"] is not None


def test_committed_threshold_is_what_the_recall_floor_keeps(committed) -> None:
    # The threshold reached the target out of fold at a recall above the default floor, so the
    # floor (bem.model.metrics.choose_threshold's rule 2) leaves it as it was chosen.
    # With a rescorer, that is the trees' threshold; the card's own is the rescored scores',
    # chosen by the same rule on fresh users (bem model rescorer).
    card = committed.card
    cross_validated = card["metrics"]["cross_validated"]
    rescorer = card.get("rescorer")
    trees_threshold = rescorer["first_threshold"] if rescorer else card["threshold"]
    assert cross_validated["threshold"] == trees_threshold
    assert cross_validated["precision"] >= card["target_precision"]
    assert cross_validated["recall"] >= DEFAULT_MIN_RECALL
    assert card["threshold_rule"]["threshold"] == card["threshold"]
    assert card["threshold_rule"]["rule"] == "target_precision"


def test_committed_model_meets_the_bar_it_reports(committed) -> None:
    # Held-out users of the card-feed generator with the labelling policy's decided cases
    # (colleagues' identical twins, nightly folios weeks late, fare changes, commuters' shifted
    # charges): a harder mix than 1.4.0's, which scores PR-AUC 0.79 on it (docs/model.md).
    held = committed.card["metrics"]["held_out"]
    baseline = committed.card["metrics"]["baseline_held_out"]
    assert held["pr_auc"] >= 0.85
    assert held["precision_at_recall_0.90"] >= 0.60
    assert held["pr_auc"] - baseline["pr_auc"] >= 0.10
    # Calibration holds: precision at the threshold within 0.02 of the target, and ≥ 0.90.
    assert abs(held["precision"] - committed.card["target_precision"]) <= 0.02
    assert held["precision"] >= 0.90


def test_committed_model_scores_seed_example_below_threshold(committed) -> None:
    served = served_scores(committed, seed_example_pairs(), seed_example_features())
    assert served[0] < committed.threshold


@pytest.mark.slow
def test_committed_model_on_fresh_users_beats_baseline(committed) -> None:
    dataset, _ = synthetic_dataset(150, seed=4242, noise=1.0)
    baseline = RuleBaseline(**committed.card["baseline"])
    report, _ = evaluate_model(committed, dataset, baseline, "fresh", "seed 4242")
    assert report["model"]["pr_auc"] >= 0.85
    assert report["model"]["pr_auc"] - report["baseline"]["pr_auc"] >= 0.10
    assert report["matched"]["items_given_twice"] == 0
    json.dumps(report)  # the report is plain JSON
