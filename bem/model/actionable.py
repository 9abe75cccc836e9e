"""Evaluation a user can act on: where the threshold sits, how each budget type fares, and the
mistakes themselves with their inputs and the features that pushed them.

Kept apart from `evaluate` (the model-vs-baseline figures): these functions take the scores
`evaluate_model` computed and the users the pairs came from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bem.data.csv_writer import write_csv
from bem.model.dataset import Dataset, UserRecords
from bem.model.figures import Frame, png_axes
from bem.model.metrics import choose_threshold, confusion, precision_recall_f1, summary
from budget_matcher import contract

PRECISION_TARGETS = (0.80, 0.90, 0.95, 0.98, 0.99)
TOP_CONTRIBUTIONS = 3


def operating_point(
    labels: np.ndarray, scores: np.ndarray, threshold: float
) -> list[dict[str, Any]]:
    """The served threshold's point on the PR curve, then the thresholds of other precisions.

    Each point: threshold, precision, recall, pairs flagged (score ≥ threshold).
    """
    points = [("served", threshold)]
    if labels.sum():
        points += [
            (f"precision ≥ {t:.2f}", choose_threshold(labels, scores, t).threshold)
            for t in PRECISION_TARGETS
        ]
    out = []
    for name, value in points:
        flagged = scores >= value
        precision, recall, _ = precision_recall_f1(confusion(labels, flagged))
        out.append(
            {
                "point": name,
                "threshold": round(float(value), 6),
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "flagged": int(flagged.sum()),
            }
        )
    return out


def plot_operating_point(
    labels: np.ndarray, scores: np.ndarray, points: list[dict[str, Any]], path: Path
) -> None:
    """The model's precision-recall curve with the served threshold and the other operating
    points marked on it (PNG)."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(labels, scores)
    served, others = points[0], points[1:]
    lowest = max(0.0, min(p["precision"] for p in points) - 0.15)
    frame = Frame("operating point on the precision-recall curve", "recall", "precision",
                  (0, 1.01), (lowest, 1.005), "lower left", legend_fontsize=8)  # fmt: skip
    with png_axes(path, (6, 4.5), frame) as axes:
        axes.step(recall, precision, where="post", color="0.4", label="model")
        axes.plot([p["recall"] for p in others], [p["precision"] for p in others], "o",
                  color="C0", markersize=5, label="thresholds for precision " + ", ".join(
                      p["point"].split("≥ ")[1] for p in others))  # fmt: skip
        axes.plot(served["recall"], served["precision"], "o", color="C3", markersize=9,
                  label=f"served: threshold {served['threshold']:.3g}, precision "
                  f"{served['precision']:.3f}, recall {served['recall']:.3f}")  # fmt: skip


def budget_types(users: list[UserRecords], dataset: Dataset) -> np.ndarray:
    """The budget type of every pair of `dataset` ("missing" when the budget has none)."""
    types = {
        (u.user_id, budget_id): str(budget.get(contract.BUDGET_TYPE) or "missing")
        for u in users
        for budget_id, budget in u.budgets.items()
    }
    return np.asarray(
        [
            types.get((str(u), b), "missing")
            for u, b in zip(dataset.users, dataset.budget_ids, strict=True)
        ],
        dtype=object,
    )


def by_budget_type(
    labels: np.ndarray, scores: np.ndarray, threshold: float, types: np.ndarray
) -> dict[str, dict[str, Any]]:
    """`summary` per budget type, largest type first."""
    names, counts = np.unique(types.astype(str), return_counts=True)
    return {
        str(name): summary(labels[types == name], scores[types == name], threshold)
        for name in names[np.argsort(-counts, kind="stable")]
    }


def write_mistakes(
    path: Path,
    dataset: Dataset,
    users: list[UserRecords],
    scores: np.ndarray,
    threshold: float,
    contributions: np.ndarray | None,
    feature_names: tuple[str, ...],
) -> int:
    """False positives and negatives at `threshold` as CSV: ids, score, the budget's and the
    item's fields, the features and the largest contributions. Returns the number of rows."""
    predicted = scores >= threshold
    wrong = np.flatnonzero(predicted != dataset.labels.astype(bool))
    wrong = wrong[np.argsort(-np.abs(scores[wrong] - threshold), kind="stable")]
    records = {u.user_id: u for u in users}
    header = [
        "kind",
        contract.USER_ID_KEY,
        contract.BUDGET_ID,
        contract.ITEM_ID,
        "score",
        *[f for f in contract.BUDGET_FIELDS if f != contract.BUDGET_ID],
        *[f for f in contract.ITEM_FIELDS if f != contract.ITEM_ID],
        *feature_names,
        *[
            f"contribution_{k + 1}"
            for k in range(TOP_CONTRIBUTIONS if contributions is not None else 0)
        ],
    ]
    path.parent.mkdir(parents=True, exist_ok=True)

    def rows() -> Iterator[list[Any]]:
        for index in wrong:
            user = records.get(str(dataset.users[index]))
            budget = user.budgets.get(dataset.budget_ids[index], {}) if user else {}
            item = user.items.get(dataset.itemization_ids[index], {}) if user else {}
            row: list[Any] = [
                "false positive" if predicted[index] else "false negative",
                dataset.users[index],
                dataset.budget_ids[index],
                dataset.itemization_ids[index],
                round(float(scores[index]), 6),
                *[budget.get(f) for f in contract.BUDGET_FIELDS if f != contract.BUDGET_ID],
                *[item.get(f) for f in contract.ITEM_FIELDS if f != contract.ITEM_ID],
                *["" if np.isnan(v) else round(float(v), 6) for v in dataset.features[index]],
            ]
            if contributions is not None:
                top = np.argsort(-np.abs(contributions[index]), kind="stable")[:TOP_CONTRIBUTIONS]
                row += [f"{feature_names[j]} {contributions[index, j]:+.3f}" for j in top]
            yield row

    with path.open("w", encoding="utf-8", newline="") as handle:
        write_csv(handle, header, rows())
    return int(wrong.size)


def operating_lines(points: list[dict[str, Any]], types: dict[str, dict[str, Any]]) -> list[str]:
    """The operating points and the per-type figures as Markdown."""
    lines = [
        "## Operating point",
        "",
        "| point | threshold | precision | recall | flagged |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {p['point']} | {p['threshold']} | {p['precision']} | {p['recall']} | {p['flagged']} |"
        for p in points
    ]
    lines += [
        "",
        "## By budget type",
        "",
        "| type | pairs | matches | PR-AUC | precision | recall |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {f['pairs']} | {f['positives']} | {f['pr_auc']} | {f['precision']} | "
        f"{f['recall']} |"
        for name, f in types.items()
    ]
    return lines


def actionable_report(
    model: Any,
    dataset: Dataset,
    users: list[UserRecords] | None,
    scores: np.ndarray,
    stem: Path,
    model_dir: Path | None,
) -> tuple[list[Path], list[str]]:
    """Write `stem`_operating.json (and, with the users, `stem`_mistakes.csv with each
    mistake's largest contributions); return the paths and the Markdown lines."""
    from bem.explain.contributions import explain, load_arrays
    from budget_matcher import config

    points = operating_point(dataset.labels, scores, model.threshold)
    types = {}
    if users is not None:
        types = by_budget_type(
            dataset.labels, scores, model.threshold, budget_types(users, dataset)
        )
    path = stem.with_name(stem.name + "_operating.json")
    path.write_text(json.dumps({"operating_point": points, "by_budget_type": types}, indent=2))
    plot = stem.with_name(stem.name + "_operating.png")
    if dataset.labels.sum():
        plot_operating_point(dataset.labels, scores, points, plot)
    written = [path] + ([plot] if plot.exists() else [])
    lines = operating_lines(points, types)
    if users is None:
        return written, lines
    directory = model_dir or config.env_path(config.ENV_MODEL_DIR, config.DEFAULT_MODEL_DIR)
    wrong = (scores >= model.threshold) != dataset.labels.astype(bool)
    explained = explain(*load_arrays(directory), dataset.features[wrong])
    contributions = np.zeros_like(dataset.features)
    contributions[wrong] = explained.contributions
    mistakes = stem.with_name(stem.name + "_mistakes.csv")
    count = write_mistakes(
        mistakes, dataset, users, scores, model.threshold, contributions, explained.feature_names
    )
    lines += ["", f"{count} false positives and negatives: {mistakes}"]
    return [*written, mistakes], lines
