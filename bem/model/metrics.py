"""Evaluation metrics for match scores: pure functions over labels and scores."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold, the rule that chose it and why (the card's `threshold_rule`)."""

    threshold: float
    rule: str  # target_precision, recall_floor or highest_precision (choose_threshold)
    reason: str
    target_precision: float
    min_recall: float

    def card(self) -> dict[str, Any]:
        return {"rule": self.rule, "reason": self.reason, "target_precision": self.target_precision,
                "min_recall": self.min_recall, "threshold": round(self.threshold, 6)}  # fmt: skip


def choose_threshold(
    labels: np.ndarray, scores: np.ndarray, target: float, min_recall: float = 0.0
) -> ThresholdChoice:
    """The threshold for `scores` (a pair matches when its score ≥ the threshold):

    1. `target_precision`: the lowest threshold whose precision reaches `target` (the most
       recall the target allows), when its recall is at least `min_recall`;
    2. `recall_floor` (when 1 fails and `min_recall` > 0): among the thresholds whose recall is
       at least `min_recall`, the one of the highest precision (on a tie, the lowest);
    3. `highest_precision` (when 1 fails and `min_recall` is 0): the threshold of the highest
       precision, whatever its recall.

    The lowest threshold reaching the target has the most recall of all that reach it, so rule
    1 gives the same threshold for any `min_recall` up to its recall.
    """
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point (recall 0) has no threshold
    reaching = np.flatnonzero(precision >= target)
    if reaching.size and recall[reaching[0]] >= min_recall:
        at = int(reaching[0])
        return ThresholdChoice(float(thresholds[at]), "target_precision",
                               f"precision {precision[at]:.4f} ≥ target {target} at "
                               f"recall {recall[at]:.4f} ≥ min recall {min_recall}",
                               target, min_recall)  # fmt: skip
    missed = (
        f"precision reaches target {target} only at recall {recall[reaching[0]]:.4f} < {min_recall}"
        if reaching.size
        else f"precision never reaches target {target} "
        f"(at most {precision.max():.4f}, at recall {recall[int(np.argmax(precision))]:.4f})"
    )
    if min_recall > 0:
        allowed = np.flatnonzero(recall >= min_recall)  # never empty: recall[0] is 1
        at = int(allowed[np.argmax(precision[allowed])])
        return ThresholdChoice(float(thresholds[at]), "recall_floor",
                               f"{missed}; the highest precision with recall ≥ {min_recall}: "
                               f"{precision[at]:.4f} at recall {recall[at]:.4f}",
                               target, min_recall)  # fmt: skip
    at = int(np.argmax(precision))
    return ThresholdChoice(float(thresholds[at]), "highest_precision",
                           f"{missed}; the highest precision: {precision[at]:.4f} at recall "
                           f"{recall[at]:.4f}", target, min_recall)  # fmt: skip


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
