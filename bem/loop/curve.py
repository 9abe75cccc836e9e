"""The learning curve: PR-AUC on a test window against the number of labelled own users, for the
model of record, own data only, own data plus a prior of synthetic users, and the model of
record grown further on own data (warm start), each with a 95 % interval by user.

At each size n the first n users of a seeded shuffle of the own users are taken (nested
subsets: a bigger set holds the smaller). Each recipe fits one uncalibrated booster with the
model of record's parameters (PR-AUC ranks scores: calibration, a monotone map, leaves it
unchanged), seeded, on the same users. The interval is the users-drawn bootstrap of
`bem.loop.compare`, on the same draws for every recipe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bem.loop.compare import paired_bootstrap
from bem.loop.prior import warm_start, with_prior
from bem.model.dataset import Dataset
from bem.model.evaluate import served_scores
from bem.model.metrics import pr_auc
from bem.model.train import booster

RECIPES = ("record", "own", "own+prior", "warm start")
DEFAULT_SIZES = (25, 50, 100, 200, 400)
WARM_TREES = 60  # trees the warm start grows on own data


@dataclass(frozen=True)
class CurveSettings:
    """Sizes, the prior's weight, the booster's parameters and the seeds."""

    sizes: tuple[int, ...] = DEFAULT_SIZES
    prior_weight: float = 0.3
    params: dict[str, Any] | None = None  # None: the model of record's
    rounds: int = 200
    seed: int = 0


def first_users(dataset: Dataset, count: int, seed: int) -> np.ndarray:
    """The pairs of the first `count` users of a seeded shuffle of `dataset`'s users."""
    distinct = np.asarray(sorted(set(dataset.users.tolist())), dtype=object)
    chosen = set(np.random.default_rng(seed).permutation(distinct)[:count].tolist())
    return np.asarray([u in chosen for u in dataset.users.tolist()], dtype=bool)


def learning_curve(
    own: Dataset,
    test: Dataset,
    record: Any,
    pipeline: Any,
    prior: Dataset | None,
    settings: CurveSettings,
    progress: Callable[[str], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """One row per (size, recipe): users, pairs, PR-AUC on `test` and its interval. `record` is
    the model of record (a LoadedModel), `pipeline` its fitted pipeline (bem.loop.prior)."""
    params = settings.params or record_params(record)
    record_scores = served_scores(record, test.pairs, test.features)
    rows = []
    for size in settings.sizes:
        if size > own.n_users:
            progress(f"{size} users: only {own.n_users} labelled users, skipped")
            continue
        subset = own.subset(first_users(own, size, settings.seed))
        scores = {"record": record_scores}
        scores["own"] = _fit(params, subset, settings.seed).predict_proba(test.features)[:, 1]
        if prior is not None:
            mixed = with_prior(subset, prior, settings.prior_weight)
            scores["own+prior"] = _fit(params, mixed, settings.seed).predict_proba(test.features)[
                :, 1
            ]
        grown = warm_start(pipeline, subset.features, subset.labels, WARM_TREES)
        scores["warm start"] = grown.predict_proba(test.features)[:, 1]
        intervals = paired_bootstrap(
            test.labels, test.users, _measure(test.labels, scores), settings.rounds, settings.seed
        )
        for name, values in scores.items():
            low, high = intervals[name]
            rows.append({"users": size, "pairs": len(subset), "positives": int(subset.labels.sum()),
                         "recipe": name, "pr_auc": round(pr_auc(test.labels, values), 4),
                         "interval": [round(low, 4), round(high, 4)]})  # fmt: skip
        progress(", ".join(f"{r['recipe']} {r['pr_auc']:.4f}" for r in rows[-len(scores) :]))
    return rows


def _measure(
    labels: np.ndarray, scores: dict[str, np.ndarray]
) -> Callable[[np.ndarray], dict[str, float]]:
    return lambda index: {name: pr_auc(labels[index], s[index]) for name, s in scores.items()}


def record_params(record: Any) -> dict[str, Any]:
    """The booster parameters of the model of record's card."""
    return dict((record.card.get("estimator") or {}).get("params") or {})


def _fit(params: dict[str, Any], dataset: Dataset, seed: int) -> Any:
    return booster(params, seed).fit(
        dataset.features, dataset.labels, sample_weight=dataset.weights
    )


def markdown_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The curve as a Markdown table: one line per size, one column per recipe."""
    recipes = [name for name in RECIPES if any(r["recipe"] == name for r in rows)]
    lines = ["| labelled users | pairs | " + " | ".join(recipes) + " |",
             "|---:|---:|" + "---:|" * len(recipes)]  # fmt: skip
    for size in sorted({r["users"] for r in rows}):
        at = {r["recipe"]: r for r in rows if r["users"] == size}
        cells = [f"{at[n]['pr_auc']:.3f} [{at[n]['interval'][0]:.3f}, {at[n]['interval'][1]:.3f}]"
                 for n in recipes]  # fmt: skip
        lines.append(f"| {size} | {next(iter(at.values()))['pairs']} | " + " | ".join(cells) + " |")
    return lines
