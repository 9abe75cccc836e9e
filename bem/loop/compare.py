"""Champion and challenger on the same labelled window: PR-AUC, precision and recall at each
model's own threshold, differences with a paired bootstrap interval by user.

The window must be data neither model trained on. A model card records what it trained on:
`training_data.digest` (the whole set), `training_data.user_digests` (a short sha256 of each
user id, for data from a store or a history) or the generator's users and seed (synthetic
data, whose user ids `u<seed>-<index>` are known). The comparison refuses a window whose digest
is a model's training digest or that shares a user with its training data.

The interval: users are drawn with replacement (`rounds` times, seeded); each draw scores both
models on the same pairs, and the 2.5 % and 97.5 % quantiles of (challenger − champion) bound
the difference. A challenger wins when the PR-AUC interval lies above 0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bem.model.dataset import Dataset
from bem.model.metrics import confusion, pr_auc, precision_recall_f1

DIGEST_CHARS = 16


class OverlapError(ValueError):
    """The window holds data a compared model trained on."""


def user_digest(user: object) -> str:
    """The short sha256 of a user id a model card records."""
    return hashlib.sha256(str(user).encode()).hexdigest()[:DIGEST_CHARS]


def user_digests(users: Iterable[object]) -> list[str]:
    """The sorted digests of distinct users."""
    return sorted({user_digest(user) for user in users})


def training_user_digests(card: dict[str, Any]) -> set[str]:
    """The digests of the users a model trained on, as far as its card tells."""
    data = card.get("training_data") or {}
    recorded = data.get("user_digests")
    if isinstance(recorded, list):
        return {str(d) for d in recorded}
    generator = data.get("generator") or {}
    if data.get("source") == "synthetic" and "seed" in generator and "users" in generator:
        seed, count = generator["seed"], int(generator["users"])
        return {user_digest(f"u{seed}-{index:05d}") for index in range(count)}
    return set()


def check_unseen(card: dict[str, Any], name: str, dataset: Dataset) -> None:
    """Raise OverlapError when `dataset` is, or shares users with, the data `card` trained on."""
    data = card.get("training_data") or {}
    if data.get("digest") and data.get("digest") == dataset.digest:
        raise OverlapError(f"{name} trained on this very data (digest {dataset.digest[:12]}…)")
    shared = training_user_digests(card) & set(user_digests(dataset.users.tolist()))
    if shared:
        raise OverlapError(
            f"{name} trained on {len(shared)} of the window's {dataset.n_users} users; "
            "compare on users neither model saw (another window or other users)"
        )


@dataclass(frozen=True)
class Scored:
    """One model's scores on the window and its own threshold."""

    name: str
    version: str
    scores: np.ndarray
    threshold: float


def figures(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """PR-AUC, and precision and recall at `threshold`."""
    precision, recall, _ = precision_recall_f1(confusion(labels, scores >= threshold))
    return {"pr_auc": pr_auc(labels, scores), "precision": precision, "recall": recall}


def paired_bootstrap(
    labels: np.ndarray,
    users: np.ndarray,
    measure: Callable[[np.ndarray], dict[str, float]],
    rounds: int = 500,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """The 95 % interval of each figure `measure(index)` returns, users drawn with replacement."""
    _, group = np.unique(users.astype(str), return_inverse=True)
    members = np.split(np.argsort(group, kind="stable"), np.cumsum(np.bincount(group))[:-1])
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(rounds):
        chosen = rng.integers(0, len(members), len(members))
        index = np.concatenate([members[k] for k in chosen])
        if not labels[index].any():
            continue
        for key, value in measure(index).items():
            draws.setdefault(key, []).append(value)
    return {
        key: (float(np.nanquantile(values, 0.025)), float(np.nanquantile(values, 0.975)))
        for key, values in draws.items()
    }


def compare_scores(
    dataset: Dataset, champion: Scored, challenger: Scored, rounds: int = 500, seed: int = 0
) -> dict[str, Any]:
    """The comparison report: each model's figures, the differences and their intervals."""
    labels = dataset.labels

    def differences(index: np.ndarray) -> dict[str, float]:
        a = figures(labels[index], champion.scores[index], champion.threshold)
        b = figures(labels[index], challenger.scores[index], challenger.threshold)
        return {key: b[key] - a[key] for key in a}

    point = differences(np.arange(len(labels)))
    interval = paired_bootstrap(labels, dataset.users, differences, rounds, seed)
    report: dict[str, Any] = {
        "window": {"pairs": len(labels), "positives": int(labels.sum()), "users": dataset.n_users,
                   "digest": dataset.digest},
        "bootstrap": {"rounds": rounds, "seed": seed, "by": "user"},
    }  # fmt: skip
    for role, scored in (("champion", champion), ("challenger", challenger)):
        values = figures(labels, scored.scores, scored.threshold)
        report[role] = {"model": scored.name, "version": scored.version,
                        "threshold": scored.threshold,
                        **{k: round(v, 4) for k, v in values.items()}}  # fmt: skip
    report["difference"] = {
        key: {"value": round(point[key], 4), "interval": [round(v, 4) for v in interval[key]]}
        for key in point
    }
    report["checks"] = win_checks(interval)
    report["challenger_wins"] = all(report["checks"].values())
    return report


def win_checks(interval: dict[str, tuple[float, float]]) -> dict[str, bool]:
    """What a win takes: a better ranking (the PR-AUC interval above 0), and a threshold that
    keeps the promise (the precision interval at each model's own threshold reaching 0 or
    above: not surely worse, as a challenger with a careless threshold would be)."""
    return {
        "pr_auc_better": bool(interval["pr_auc"][0] > 0),
        "precision_not_worse": bool(interval["precision"][1] >= 0),
    }


def text_lines(report: dict[str, Any]) -> list[str]:
    """The report as a few lines of text."""
    window = report["window"]
    lines = [
        f"window: {window['pairs']} pairs, {window['positives']} matches, {window['users']} users",
        f"{'':12}{'PR-AUC':>8}{'precision':>11}{'recall':>8}{'threshold':>11}",
    ]
    for role in ("champion", "challenger"):
        r = report[role]
        lines.append(
            f"{r['version']:<12}{r['pr_auc']:>8.4f}{r['precision']:>11.4f}{r['recall']:>8.4f}"
            f"{r['threshold']:>11.4f}"
        )
    for key, entry in report["difference"].items():
        low, high = entry["interval"]
        lines.append(f"Δ {key}: {entry['value']:+.4f}  (95 % by user: {low:+.4f} … {high:+.4f})")
    checks = report["checks"]
    if report["challenger_wins"]:
        lines.append("challenger wins")
    elif not checks["pr_auc_better"]:
        lines.append("no win (the PR-AUC interval holds 0)")
    else:
        lines.append("no win (precision at its threshold is worse: the interval lies below 0)")
    return lines
