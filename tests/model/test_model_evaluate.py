"""Metrics, the rule baseline and the evaluate command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from bem.model.baseline import RuleBaseline, fit_baseline
from bem.model.cli import evaluate_command
from bem.model.evaluate import seed_example_features
from bem.model.metrics import (
    choose_threshold,
    confusion,
    pr_auc,
    precision_at_recall,
    precision_recall_f1,
)
from budget_matcher.features import FEATURE_NAMES


def test_confusion_and_precision_recall_f1_by_hand() -> None:
    labels = np.array([1, 1, 0, 0, 1])
    predicted = np.array([1, 0, 1, 0, 1])
    counts = confusion(labels, predicted)
    assert counts == {"tp": 2, "fp": 1, "fn": 1, "tn": 1}
    precision, recall, f1 = precision_recall_f1(counts)
    assert (precision, recall) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert f1 == pytest.approx(2 / 3)


def test_pr_auc_perfect_and_reversed() -> None:
    labels = np.array([0, 0, 1, 1])
    assert pr_auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert pr_auc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == pytest.approx(5 / 12)


def test_choose_threshold_for_precision_picks_most_recall() -> None:
    labels = np.array([0, 1, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    assert choose_threshold(labels, scores, 1.0).threshold == 0.6
    assert choose_threshold(labels, scores, 0.75).threshold == 0.2
    assert choose_threshold(labels, scores, 0.85).threshold == 0.6
    assert precision_at_recall(labels, scores, 1.0) == pytest.approx(4 / 5)


# By score, highest first: precision 1, 1/2, 2/3, 3/4, 3/5, 1/2, 4/7, 1/2 and recall 1/4, 1/4,
# 1/2, 3/4, 3/4, 3/4, 1, 1 at the thresholds 0.9 … 0.2.
FLOOR_LABELS = np.array([1, 0, 1, 1, 0, 0, 1, 0])
FLOOR_SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])


@pytest.mark.parametrize(
    ("target", "min_recall", "threshold", "rule"),
    [
        (0.95, 0.0, 0.9, "target_precision"),
        (0.95, 0.25, 0.9, "target_precision"),  # reached at recall 1/4: the floor allows it
        (0.95, 0.5, 0.6, "recall_floor"),  # 3/4 is the best precision at recall ≥ 1/2
        (0.95, 0.8, 0.3, "recall_floor"),  # 4/7 beats 1/2 at recall 1
        (0.7, 0.5, 0.6, "target_precision"),
        (1.01, 0.0, 0.9, "highest_precision"),
        (1.01, 0.3, 0.6, "recall_floor"),
    ],
)
def test_choose_threshold_rules_by_hand(
    target: float, min_recall: float, threshold: float, rule: str
) -> None:
    choice = choose_threshold(FLOOR_LABELS, FLOOR_SCORES, target, min_recall)
    assert (choice.threshold, choice.rule) == (threshold, rule)
    assert choice.card()["rule"] == rule and f"target {target}" in choice.reason


def test_recall_floor_changes_nothing_where_the_target_is_reached_with_enough_recall() -> None:
    rng = np.random.default_rng(7)
    acted = 0
    for _ in range(200):
        labels = (rng.random(300) < 0.1).astype(int)
        scores = np.round(rng.random(300) * 0.6 + labels * rng.random(300) * 0.5, 2)
        plain = choose_threshold(labels, scores, 0.9, 0.0)
        floor = choose_threshold(labels, scores, 0.9, 0.25)
        recall = (scores[labels == 1] >= plain.threshold).mean()
        if plain.rule == "target_precision" and recall >= 0.25:
            assert (floor.threshold, floor.rule) == (plain.threshold, plain.rule)
        else:
            acted += 1
            assert floor.rule == "recall_floor"
            assert (scores[labels == 1] >= floor.threshold).mean() >= 0.25
    assert 0 < acted < 200  # both cases occur


def _features(**values: float) -> np.ndarray:
    row = np.full((1, len(FEATURE_NAMES)), np.nan)
    for name, value in values.items():
        row[0, FEATURE_NAMES.index(name)] = value
    return row


def test_rule_baseline_needs_all_four_rules() -> None:
    rules = RuleBaseline(days=3, amount_tolerance=0.1, vendor_min=0.8)
    good = dict(
        type_match=1.0, days_outside_trip=-2.0, amount_rel_diff_actual=0.05, vendor_monge_elkan=0.9
    )
    assert rules.predict(_features(**good))[0]
    for name, bad in [
        ("type_match", 0.0),
        ("days_outside_trip", -5.0),
        ("amount_rel_diff_actual", 0.2),
        ("vendor_monge_elkan", 0.5),
    ]:
        assert not rules.predict(_features(**{**good, name: bad}))[0]
        assert rules.score(_features(**{**good, name: bad}))[0] < rules.score(_features(**good))[0]


def test_rule_baseline_falls_back_to_budgeted_price_and_fails_missing() -> None:
    rules = RuleBaseline(days=3, amount_tolerance=0.1, vendor_min=0.8)
    row = dict(
        type_match=1.0, days_outside_trip=0.0, amount_rel_diff_budgeted=0.05, vendor_monge_elkan=0.9
    )
    assert rules.predict(_features(**row))[0]
    assert not rules.predict(_features(type_match=1.0, days_outside_trip=0.0))[0]


def test_fit_baseline_improves_on_default_f1(small_dataset) -> None:
    fitted = fit_baseline(small_dataset.features, small_dataset.labels)
    default = RuleBaseline()

    def f1(rules: RuleBaseline) -> float:
        counts = confusion(small_dataset.labels, rules.predict(small_dataset.features))
        return precision_recall_f1(counts)[2]

    assert f1(fitted) >= f1(default)


@pytest.mark.slow
def test_seed_example_scores_below_threshold_with_quick_model(quick_result) -> None:
    score = quick_result.pipeline.predict_proba(seed_example_features())[0, 1]
    assert score < quick_result.threshold


@pytest.mark.slow
def test_evaluate_command_writes_report_for_model_and_baseline(tmp_path, quick_model_dir) -> None:
    args = [
        "--model-dir",
        str(quick_model_dir),
        "--form",
        "sklearn",
        "--synth-users",
        "25",
        "--seed",
        "77",
        "--noise",
        "1.5",
        "--report-dir",
        str(tmp_path),
        "--name",
        "check",
    ]
    result = CliRunner().invoke(evaluate_command, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "check.json").read_text())
    assert report["model"]["pairs"] == report["baseline"]["pairs"] > 0
    assert report["model"]["pr_auc"] > report["baseline"]["pr_auc"]
    assert (tmp_path / "check_pr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| model |" in (tmp_path / "check.md").read_text()
