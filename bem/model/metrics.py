"""Evaluation metrics for match scores: pure functions over labels and scores."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve


def pr_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision: Σ_n (R_n − R_{n−1}) P_n."""
    if labels.sum() == 0:
        return float("nan")
    return float(average_precision_score(labels, scores))


def confusion(labels: np.ndarray, predicted: np.ndarray) -> dict[str, int]:
    """Counts tp, fp, fn, tn of boolean predictions against 0/1 labels."""
    positive = labels.astype(bool)
    predicted = predicted.astype(bool)
    return {
        "tp": int(np.sum(positive & predicted)),
        "fp": int(np.sum(~positive & predicted)),
        "fn": int(np.sum(positive & ~predicted)),
        "tn": int(np.sum(~positive & ~predicted)),
    }


def precision_recall_f1(counts: dict[str, int]) -> tuple[float, float, float]:
    """precision = tp/(tp+fp), recall = tp/(tp+fn), F1 = 2PR/(P+R) (0 when undefined)."""
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def threshold_for_precision(labels: np.ndarray, scores: np.ndarray, target: float) -> float:
    """The lowest score threshold whose precision (score ≥ threshold) reaches `target`.

    Lowest threshold = highest recall under the precision constraint. When no threshold reaches
    the target, the threshold of the highest precision is returned.
    """
    precision, _, thresholds = precision_recall_curve(labels, scores)
    precision = precision[:-1]  # the last point (recall 0) has no threshold
    reaching = np.flatnonzero(precision >= target)
    if reaching.size:
        return float(thresholds[reaching[0]])
    return float(thresholds[int(np.argmax(precision))])


def precision_at_recall(labels: np.ndarray, scores: np.ndarray, recall_floor: float) -> float:
    """The best precision among thresholds whose recall is at least `recall_floor`."""
    precision, recall, _ = precision_recall_curve(labels, scores)
    allowed = recall >= recall_floor
    return float(precision[allowed].max()) if allowed.any() else 0.0


def summary(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """PR-AUC, precision/recall/F1 and the confusion matrix at `threshold`, and pair counts."""
    counts = confusion(labels, scores >= threshold)
    precision, recall, f1 = precision_recall_f1(counts)
    return {
        "pr_auc": round(pr_auc(labels, scores), 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "precision_at_recall_0.90": round(precision_at_recall(labels, scores, 0.90), 4),
        "threshold": round(float(threshold), 6),
        "confusion": counts,
        "pairs": int(labels.shape[0]),
        "positives": int(labels.sum()),
    }
