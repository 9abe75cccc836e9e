"""Fit scoring's second stage (`budget_matcher.rescoring`) for a trained model.

The trees of `model_dir` score fresh synthetic users of the card's training mix (seeds the
trees never saw); a logistic regression learns, from each pair's competitors' scores, whether
the pair belongs. A second fresh set, of other seeds, sets the served threshold at the card's
target precision (the mix's clean-feed users excluded, as in `bem train`), and reports the
trees' and the rescored figures side by side. The card then lists `model_rescorer.json` with
its sha256, its new threshold and a `rescorer` entry saying how both were chosen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bem.model.dataset import Dataset
from bem.model.evaluate import synthetic_dataset
from bem.model.identity import write_card
from bem.model.metrics import choose_threshold, pr_auc, precision_at_recall
from budget_matcher.rescoring import COMPETITOR_FEATURES, RESCORER_FILE, Rescorer
from budget_matcher.rescoring import competitor_features as competitors


@dataclass(frozen=True)
class RescorerSettings:
    """Who the second stage is fitted and thresholded on."""

    users: int = 1200
    harsh_users: int = 300
    harsh_noise: float = 1.5
    threshold_users: int = 1200
    seed: int = 7000
    knobs: tuple[str, ...] = ()  # `--knob` overrides of the fit and threshold users' mix
    version: str | None = None  # the card's new version (the served answer changes)


def fit(scored: list[tuple[Dataset, np.ndarray]], first_threshold: float) -> Rescorer:
    """The logistic regression over `COMPETITOR_FEATURES` of every (dataset, trees' scores)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rows = np.vstack([competitors(d.pairs, s, first_threshold) for d, s in scored])
    labels = np.concatenate([d.labels for d, _ in scored])
    scaler = StandardScaler().fit(rows)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    regression = LogisticRegression(max_iter=2000).fit((rows - scaler.mean_) / scale, labels)
    return Rescorer(
        COMPETITOR_FEATURES,
        tuple(float(v) for v in scaler.mean_),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in regression.coef_[0]),
        float(regression.intercept_[0]),
        first_threshold,
    )


def fit_model_dir(
    model_dir: Path, settings: RescorerSettings, progress: Any = print
) -> dict[str, Any]:
    """Fit, threshold and write the rescorer of `model_dir`; returns the card's new entry."""
    import predict

    model = predict.load_model(model_dir, rescored=False)
    card = model.card
    first = model.threshold
    knobs = settings.knobs or _card_knobs(card)
    scored = []
    for users, seed, noise in (
        (settings.users, settings.seed, 1.0),
        (settings.harsh_users, settings.seed + 1, settings.harsh_noise),
    ):
        if users > 0:
            dataset, _ = synthetic_dataset(users, seed, noise, knobs)
            scored.append((dataset, model.score(dataset.features)))
            progress(f"fit: {users} users, seed {seed}, noise {noise:g}: {len(dataset)} pairs")
    rescorer = fit(scored, first)
    held, _ = synthetic_dataset(settings.threshold_users, settings.seed + 2, 1.0, knobs)
    own = np.ones(len(held), dtype=bool) if held.prior is None else ~held.prior
    labels = held.labels[own]
    trees = model.score(held.features)
    rescored = rescorer.rescore(held.pairs, trees)[own]
    rule = card.get("threshold_rule") or {}
    target = float(card.get("target_precision") or rule.get("target_precision") or 0.93)
    choice = choose_threshold(labels, rescored, target, float(rule.get("min_recall", 0.0)))
    figures = {
        name: {
            "pr_auc": round(pr_auc(labels, values), 4),
            "precision_at_recall_0.90": round(precision_at_recall(labels, values, 0.90), 4),
        }
        for name, values in (("trees", trees[own]), ("rescored", rescored))
    }
    entry = {
        "file": RESCORER_FILE,
        "first_threshold": first,
        "features": list(COMPETITOR_FEATURES),
        "fitted_on": {
            "generator": "bem.synth",
            "users": settings.users,
            "seed": settings.seed,
            "harsh_users": settings.harsh_users,
            "harsh_noise": settings.harsh_noise,
            "knobs": list(knobs),
        },
        "threshold_from": {
            "users": settings.threshold_users,
            "seed": settings.seed + 2,
            "pairs": int(own.sum()),
            "clean_feed_excluded": int((~own).sum()),
        },
        "figures": figures,
    }
    _write(model_dir, card, rescorer, entry, choice, settings)
    progress(f"threshold {choice.threshold:.6f} ({choice.reason}); figures {figures}")
    return entry


def served_reports(model_dir: Path, progress: Any = print) -> list[tuple[str, Any, Any, Dataset]]:
    """The card's held-out and harsher-noise figures again, with the scores now served (trees
    and rescorer): the training users are generated again from the card (refused unless their
    digest is the card's), split as `bem train` split them. The trees' figures stay in the card
    as `held_out_trees` and `harsher_noise.trees`. Returns (name, report, curves, dataset) for
    `write_report`."""
    import predict
    from bem.model.baseline import RuleBaseline
    from bem.model.evaluate import evaluate_model
    from bem.model.train import held_out_mask

    model = predict.load_model(model_dir)
    card = model.card
    data = card.get("training_data") or {}
    generator = data.get("generator") or {}
    if data.get("source") != "synthetic" or not generator:
        progress("the training data were not generated: held-out figures left as trained")
        return []
    knobs = tuple(f"{name}={value}" for name, value in generator["knobs"].items())
    dataset, _ = synthetic_dataset(int(generator["users"]), int(generator["seed"]), 1.0, knobs)
    if dataset.digest != data.get("digest"):
        raise ValueError("the training users generated again differ from the card's digest")
    held_mask = held_out_mask(dataset, float(data["holdout_share"]), int(data["split_seed"]))
    baseline = RuleBaseline(**card["baseline"])
    metrics = card["metrics"]
    held = dataset.subset(held_mask)
    report, curves = evaluate_model(model, held, baseline, "held-out users", "held-out share")
    metrics.setdefault("held_out_trees", metrics.get("held_out"))
    metrics["held_out"] = report["model"]
    reports = [("held_out", report, curves, held)]
    harsh_card = metrics.get("harsher_noise")
    if harsh_card:
        harsh, config = synthetic_dataset(
            int(harsh_card["users"]), int(harsh_card["seed"]), float(harsh_card["noise"])
        )
        title = f"harsher noise ×{harsh_card['noise']}, seed {harsh_card['seed']}"
        harsh_report, harsh_curves = evaluate_model(
            model, harsh, baseline, title, json.dumps(config.card()["knobs"])
        )
        harsh_card.setdefault("trees", harsh_card["model"])
        harsh_card["model"] = harsh_report["model"]
        reports.append(("harsher_noise", harsh_report, harsh_curves, harsh))
    write_card(model_dir, card)
    progress(f"held out, served: {metrics['held_out']}")
    return reports


def _card_knobs(card: dict[str, Any]) -> tuple[str, ...]:
    """The training mix's clean-feed share, the one knob `bem train` overrides by default."""
    generator = (card.get("training_data") or {}).get("generator") or {}
    clean = (generator.get("knobs") or {}).get("clean_feed")
    return (f"clean_feed={clean}",) if clean else ()


def _write(
    model_dir: Path,
    card: dict[str, Any],
    rescorer: Rescorer,
    entry: dict[str, Any],
    choice: Any,
    settings: RescorerSettings,
) -> None:
    from predict import sha256_of

    path = model_dir / RESCORER_FILE
    path.write_text(rescorer.to_json())
    card["artifacts"][RESCORER_FILE] = {"sha256": sha256_of(path), "bytes": path.stat().st_size}
    card["threshold"] = round(choice.threshold, 6)
    card["threshold_rule"] = {
        **choice.card(),
        "scores": "rescored (model_rescorer.json); the trees' own threshold is "
        f"rescorer.first_threshold {entry['first_threshold']}",
    }
    card["rescorer"] = entry
    if settings.version:
        card["version"] = settings.version
    write_card(model_dir, card)
