"""The model of record on a written history: `bem evaluate --data` for the headline, then every
pair scored through the Lambda's own path (`lambda_handler.answer`, one user per call, the
history read by `bem data`'s reader) and joined with the generator's truth, for intervals by
user and the breakdown by behaviour the evaluator cannot give."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bem.model.metrics import pr_auc, precision_at_recall


@dataclass
class Truth:
    """What the generator knows about one user's lines and budgets."""

    owner: dict[str, str | None] = field(default_factory=dict)
    behaviour: dict[str, str] = field(default_factory=dict)
    modifiers: dict[str, list[str]] = field(default_factory=dict)
    relates_to: dict[str, str | None] = field(default_factory=dict)
    item_row: dict[str, dict[str, str]] = field(default_factory=dict)
    budget_row: dict[str, dict[str, str]] = field(default_factory=dict)


def read_truth(path: Path) -> dict[str, Truth]:
    truths: dict[str, Truth] = defaultdict(Truth)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            truth = truths[row["user_id"]]
            if row["budget_id"]:
                truth.budget_row[row["budget_id"]] = row
            item = row["itemization_id"]
            if item:
                truth.owner[item] = row["budget_id"] or None
                truth.behaviour[item] = row["item_behaviour"]
                truth.modifiers[item] = [m for m in row["item_modifiers"].split(";") if m]
                truth.relates_to[item] = row["item_relates_to"] or None
                truth.item_row[item] = row
    return dict(truths)


def run_evaluate(history: Path, model_dir: Path, report_dir: Path, name: str) -> dict[str, Any]:
    """`bem evaluate --data` on the history; its JSON report."""
    command = [
        sys.executable,
        "-m",
        "bem",
        "evaluate",
        "--data",
        str(history),
        "--model-dir",
        str(model_dir),
        "--report-dir",
        str(report_dir),
        "--name",
        name,
    ]
    with (report_dir / f"{name}_evaluate.log").open("w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
    return dict(json.loads((report_dir / f"{name}.json").read_text()))


@dataclass
class Scored:
    """Every pair of every user: its user, ids, score, the served `matched` and the label."""

    user: np.ndarray
    budget_ids: list[str]
    item_ids: list[str]
    scores: np.ndarray
    matched: np.ndarray
    labels: np.ndarray
    threshold: float


def score_history(history: Path, truths: dict[str, Truth], model_dir: Path) -> Scored:
    """Each user of the history (read by `bem data`) scored by the Lambda handler's path."""
    import os

    from bench_support import quiet_stdout

    os.environ["BEM_MODEL_DIR"] = str(model_dir)
    users, budget_ids, item_ids, scores, matched, labels = [], [], [], [], [], []
    names = sorted(truths)
    index = {name: k for k, name in enumerate(names)}
    with quiet_stdout():
        import lambda_handler
        import predict
        from bem.data.check import load_history
        from bem.data.convert import history_users

        predict.reset_model_cache()
        for records in history_users(load_history(history)):
            answer = lambda_handler.answer(records.payload(), None)
            truth = truths[records.user_id]
            for item in answer:
                if item.get("score") is None:
                    raise RuntimeError(f"unscored pair of {records.user_id}: {item}")
                users.append(index[records.user_id])
                budget_ids.append(item["budget_id"])
                item_ids.append(item["itemization_id"])
                scores.append(item["score"])
                matched.append(bool(item["matched"]))
                labels.append(truth.owner.get(item["itemization_id"]) == item["budget_id"])
    threshold = float(predict.get_model().threshold)
    return Scored(
        np.array(users),
        budget_ids,
        item_ids,
        np.array(scores),
        np.array(matched),
        np.array(labels, dtype=int),
        threshold,
    )


def headline(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    flagged = scores >= threshold
    tp = int(np.sum(flagged & (labels == 1)))
    return {
        "pr_auc": pr_auc(labels, scores),
        "precision_at_recall_0.90": precision_at_recall(labels, scores, 0.90),
        "precision": tp / max(int(flagged.sum()), 1),
        "recall": tp / max(int(labels.sum()), 1),
    }


def bootstrap(scored: Scored, rounds: int, seed: int = 0) -> dict[str, tuple[float, float]]:
    """95 % intervals of the headline figures, resampling users with replacement."""
    rng = np.random.default_rng(seed)
    n_users = int(scored.user.max()) + 1
    by_user = [np.flatnonzero(scored.user == u) for u in range(n_users)]
    draws: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        chosen = np.concatenate([by_user[u] for u in rng.integers(0, n_users, n_users)])
        for key, value in headline(
            scored.labels[chosen], scored.scores[chosen], scored.threshold
        ).items():
            draws[key].append(value)
    return {
        key: (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
        for key, values in draws.items()
    }


def decided(scored: Scored) -> dict[str, float]:
    """Precision and recall of the served `matched` (each line to at most one budget)."""
    tp = int(np.sum(scored.matched & (scored.labels == 1)))
    return {
        "precision": tp / max(int(scored.matched.sum()), 1),
        "recall": tp / max(int(scored.labels.sum()), 1),
    }


@dataclass
class Outcome:
    """One line's fate: the budget `matched` gave it (or None), its own budget, its score
    with its own budget and its best score with any other."""

    user: str
    item: str
    owner: str | None
    given: str | None
    own_score: float | None
    best_other: tuple[float, str | None]


def outcomes(scored: Scored, truths: dict[str, Truth]) -> list[Outcome]:
    names = sorted(truths)
    per_item: dict[tuple[int, str], dict[str, Any]] = {}
    for k, item in enumerate(scored.item_ids):
        key = (int(scored.user[k]), item)
        state = per_item.setdefault(key, {"given": None, "own": None, "other": (0.0, None)})
        owner = truths[names[key[0]]].owner.get(item)
        budget = scored.budget_ids[k]
        if scored.matched[k]:
            state["given"] = budget
        if budget == owner:
            state["own"] = float(scored.scores[k])
        elif scored.scores[k] > state["other"][0]:
            state["other"] = (float(scored.scores[k]), budget)
    return [
        Outcome(names[u], item, truths[names[u]].owner.get(item), s["given"], s["own"], s["other"])
        for (u, item), s in per_item.items()
    ]


@dataclass
class Group:
    lines: int = 0
    belonging: int = 0
    found: int = 0  # matched to its own budget
    misplaced: int = 0  # a belonging line given to another budget
    falsely: int = 0  # a line of no budget given to one


def breakdown(
    found: list[Outcome], truths: dict[str, Truth], key: Callable[[Truth, str], list[str]]
) -> dict[str, Group]:
    groups: dict[str, Group] = defaultdict(Group)
    for outcome in found:
        for name in key(truths[outcome.user], outcome.item):
            group = groups[name]
            group.lines += 1
            if outcome.owner is not None:
                group.belonging += 1
                group.found += outcome.given == outcome.owner
                group.misplaced += outcome.given not in (None, outcome.owner)
            else:
                group.falsely += outcome.given is not None
    return dict(groups)


def by_behaviour(truth: Truth, item: str) -> list[str]:
    return [truth.behaviour[item]]


def by_modifier(truth: Truth, item: str) -> list[str]:
    return truth.modifiers[item] or ["(none)"]


def describe(outcome: Outcome, truths: dict[str, Truth]) -> str:
    """One missed or false pair in words: the line, the budget it went to or belongs to."""
    truth = truths[outcome.user]
    row = truth.item_row[outcome.item]
    line = (
        f"{row['transaction_date_itemization'][:10]} {row['expensed_amount_itemization']} "
        f"'{row['vendor_name_expense']}' {row['expense_type_name_expense']}/"
        f"{row['expense_type_name_itemization']} [{truth.behaviour[outcome.item]}]"
    )
    budget_id = outcome.owner if outcome.given is None else outcome.given
    budget = truth.budget_row.get(budget_id or "")
    if budget is None:
        return f"{outcome.user} line {line}: no budget"
    what = (
        f"{budget['budget_type_budget']} '{budget['travel_vendor_receipts']}' "
        f"{budget['start_datetime_trips'][:10]}..{budget['end_datetime_trips'][:10]} "
        f"created {budget['generated_at_budget'][:10]} cost "
        f"{budget['actual_cost_budget'] or '-'} (budgeted {budget['budget_price_budget']})"
    )
    if outcome.given is None:
        return (
            f"missed: {line} → its {what}: score {outcome.own_score}; best other "
            f"{outcome.best_other[0]}"
        )
    own = f"its own budget scored {outcome.own_score}" if outcome.owner else "belongs to none"
    return f"false: {line} → given to {what}; {own}"
