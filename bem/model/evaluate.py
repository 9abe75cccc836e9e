"""Evaluation of the served model against the rule baseline on the same users.

Figures per scorer: PR-AUC, precision, recall, F1, the confusion matrix at the threshold, the
best precision at recall ≥ 0.90, and a PR-curve plot (PNG) with both curves. Then the per-user
decisions (`matched`, budget_matcher.decisions) against deciding each pair alone, the
breakdown by generator knob (synthetic users), the 20 most confident mistakes with a reason,
and a reliability table and plot (bem.model.breakdown). The model is loaded through
predict.load_model, so what is evaluated is what the Lambda serves; the rule baseline uses the
parameters the training run fitted on its training users (model card).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bem.model import breakdown
from bem.model.baseline import RuleBaseline
from bem.model.cases import case_breakdown, case_lines
from bem.model.dataset import Dataset, build_dataset, group_rows
from bem.model.figures import Frame, png_axes
from bem.model.metrics import confusion, precision_recall_f1, summary
from bem.synth.knobs import SynthConfig, knobs_from_options
from bem.synth.users import generate_users, user_rows
from budget_matcher.contract import SEED_EXAMPLE
from budget_matcher.decisions import decide
from budget_matcher.features import compute_features
from budget_matcher.pairs import CandidatePairs
from flattened_data_points import FlattenedDataPoints

BASELINE_THRESHOLD = 4 / 4.01  # all four rules met (see bem.model.baseline)


def seed_example_features() -> np.ndarray:
    """Features of the seed example's one pair."""
    return compute_features(seed_example_pairs())


def seed_example_pairs() -> CandidatePairs:
    """The seed example's one candidate pair."""
    return FlattenedDataPoints(SEED_EXAMPLE).all().pairs


def served_scores(model: Any, pairs: CandidatePairs | None, features: np.ndarray) -> np.ndarray:
    """What the Lambda answers for these pairs: a LoadedModel's `score_pairs` (the trees,
    rescored when the card lists a rescorer); `score` for a fitted pipeline seen as a model
    (`bem train`'s) or without the pairs."""
    if pairs is None or not hasattr(model, "score_pairs"):
        return np.asarray(model.score(features))
    return np.asarray(model.score_pairs(pairs, features))


def compare(
    labels: np.ndarray,
    model_scores: np.ndarray,
    threshold: float,
    features: np.ndarray,
    baseline: RuleBaseline,
) -> dict[str, Any]:
    """Model and baseline figures on the same pairs."""
    return {
        "model": summary(labels, model_scores, threshold),
        "baseline": summary(labels, baseline.score(features), BASELINE_THRESHOLD),
        "baseline_params": baseline.card(),
    }


def plot_pr_curves(
    labels: np.ndarray, curves: dict[str, np.ndarray], path: Path, title: str
) -> None:
    """A PNG with one precision-recall curve per scorer."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    frame = Frame(title, "recall", "precision", (0, 1.01), (0, 1.01), "lower left")
    with png_axes(path, (6, 4.5), frame) as axes:
        for name, scores in curves.items():
            precision, recall, _ = precision_recall_curve(labels, scores)
            ap = average_precision_score(labels, scores)
            axes.step(recall, precision, where="post", label=f"{name} (PR-AUC {ap:.3f})")


def decided(labels: np.ndarray, matched: np.ndarray, item_index: np.ndarray) -> dict[str, Any]:
    """Precision, recall and F1 of `matched`, and how many items went to two budgets or more."""
    counts = confusion(labels, matched)
    precision, recall, f1 = precision_recall_f1(counts)
    given = np.bincount(item_index[matched], minlength=1) if matched.any() else np.zeros(1)
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "confusion": counts,
        "items_given_twice": int(np.sum(given > 1)),
    }


def markdown(report: dict[str, Any]) -> str:
    """The report as a small Markdown table."""
    lines = [
        f"# {report['title']}",
        "",
        f"Data: {report['data']}",
        "",
        "| scorer | PR-AUC | precision | recall | F1 | P@R≥0.90 | tp | fp | fn | tn |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("model", "baseline"):
        figures = report[name]
        c = figures["confusion"]
        lines.append(
            f"| {name} | {figures['pr_auc']} | {figures['precision']} | {figures['recall']} | "
            f"{figures['f1']} | {figures['precision_at_recall_0.90']} | {c['tp']} | {c['fp']} | "
            f"{c['fn']} | {c['tn']} |"
        )
    lines += [
        "",
        f"Model threshold {report['model']['threshold']}; baseline rules "
        f"{report['baseline_params']}.",
        "",
    ]
    if "seed_example_score" in report:
        lines.append(
            f"Seed example (flight budget vs $24 taxi): score {report['seed_example_score']:.4f}."
        )
    return "\n".join(lines + _decision_lines(report)) + "\n"


def _decision_lines(report: dict[str, Any]) -> list[str]:
    """Markdown of the per-user decisions, the knob breakdown, reliability and mistakes."""
    lines: list[str] = []
    if "matched" in report:
        lines += [
            "",
            "| decision | precision | recall | F1 | items given twice |",
            "|---|---|---|---|---|",
        ]
        for name in ("matched", "matched_pairwise"):
            d = report[name]
            label = "per user (served)" if name == "matched" else "each pair alone"
            lines.append(
                f"| {label} | {d['precision']} | {d['recall']} | {d['f1']} | "
                f"{d['items_given_twice']} |"
            )
    if "by_knob" in report:
        lines += [
            "",
            "| knob | pairs | positives | PR-AUC | precision | recall | P@R≥0.90 | "
            "matched precision | matched recall |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in report["by_knob"]:
            lines.append(
                f"| {row['knob']} | {row['pairs']} | {row['positives']} | {row['pr_auc']} | "
                f"{row['precision']} | {row['recall']} | {row['precision_at_recall_0.90']} | "
                f"{row['matched_precision']} | {row['matched_recall']} |"
            )
    if report.get("by_case"):
        lines += case_lines(report["by_case"])
    if "reliability" in report:
        table = report["reliability"]
        lines += [
            "",
            f"Reliability (ECE {table['ece']}):",
            "",
            "| score bin | pairs | mean score | match rate |",
            "|---|---|---|---|",
        ]
        for row in table["bins"]:
            lines.append(
                f"| {row['bin']} | {row['pairs']} | {row['mean_score']} | {row['match_rate']} |"
            )
    if report.get("mistakes"):
        lines += [
            "",
            "| kind | score | budget | item | item vendor | amount | reason |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in report["mistakes"]:
            lines.append(
                f"| {row['kind']} | {row['score']} | {row['budget_id']} {row['budget_type']} "
                f"{row['budget_cost']} {row['trip']} | {row['itemization_id']} {row['item_type']} "
                f"{row['item_date']} | {row['item_vendor']} | {row['item_amount']} | "
                f"{row['reason']} |"
            )
    return lines


def write_report(
    report: dict[str, Any],
    labels: np.ndarray,
    curves: dict[str, np.ndarray],
    directory: Path,
    name: str,
) -> list[Path]:
    """`name`.json, `name`.md, `name`_pr.png and `name`_reliability.png in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{name}.json", directory / f"{name}.md", directory / f"{name}_pr.png"]
    paths[0].write_text(json.dumps(report, indent=2) + "\n")
    paths[1].write_text(markdown(report))
    plot_pr_curves(labels, curves, paths[2], report["title"])
    if "reliability" in report:
        paths.append(directory / f"{name}_reliability.png")
        breakdown.plot_reliability(report["reliability"], paths[3], report["title"])
    return paths


def evaluate_model(
    model: Any, dataset: Dataset, baseline: RuleBaseline, title: str, data: str
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Score `dataset` with a LoadedModel (or anything with .score and .threshold)."""
    scores = served_scores(model, dataset.pairs, dataset.features)
    seed = seed_example_pairs()
    report = {
        "title": title,
        "data": data,
        "users": dataset.n_users,
        **compare(dataset.labels, scores, model.threshold, dataset.features, baseline),
        "seed_example_score": float(served_scores(model, seed, compute_features(seed))[0]),
        "reliability": breakdown.reliability(dataset.labels, scores),
    }
    pairs, labels = dataset.pairs, dataset.labels
    if pairs is not None:
        matched = decide(pairs, scores, model.threshold)
        report["matched"] = decided(labels, matched, pairs.item_index)
        alone = decide(pairs, scores, model.threshold, "pairwise")
        report["matched_pairwise"] = decided(labels, alone, pairs.item_index)
        if dataset.truth is not None:
            report["by_knob"] = breakdown.knob_breakdown(
                labels, scores, model.threshold, matched, dataset.truth
            )
            report["by_case"] = case_breakdown(
                labels, scores, model.threshold, matched, pairs.item_index, dataset.truth
            )
        report["mistakes"] = breakdown.confident_mistakes(
            pairs, dataset.features, labels, scores, matched, model.threshold, dataset.truth
        )
    return report, {"model": scores, "rule baseline": baseline.score(dataset.features)}


def synthetic_dataset(
    users: int, seed: int, noise: float, overrides: tuple[str, ...] = ()
) -> tuple[Dataset, SynthConfig]:
    """A labeled dataset of freshly generated users. A training mix's clean-feed users (the
    `clean_feed` knob) are marked in `Dataset.prior`: in `bem train` they train the model but are
    never held out and set neither the cross-validated figures nor the threshold, so the card's
    promise describes the mix without them."""
    config = SynthConfig(users=users, seed=seed, knobs=knobs_from_options(noise, overrides))
    generated = generate_users(config)
    rows = [row for user in generated for row in user_rows(user)]
    dataset = build_dataset(group_rows(rows), n_rows=len(rows))
    dataset.truth = breakdown.synth_truth(
        generated, dataset.users, dataset.budget_ids, dataset.itemization_ids
    )
    clean = [user.user_id for user in generated if user.clean_feed]
    if clean:
        dataset.prior = np.isin(dataset.users, clean)
    return dataset, config
