"""Where the model errs: figures per generator knob, the most confident mistakes with a reason,
and calibration (a reliability table and plot).

The breakdown needs what the generator knows about each pair (`PairTruth`: the knobs that
shaped either side, what the item is, the budget it really belongs to); mistakes and
reliability need only labels and scores, so they work on an adopter's labelled history too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bem.model.figures import Frame, png_axes
from bem.model.metrics import confusion, pr_auc, precision_at_recall, precision_recall_f1
from bem.synth.users import SynthUser
from budget_matcher import contract as c
from budget_matcher.features import FEATURE_NAMES
from budget_matcher.pairs import CandidatePairs

ALL, NO_KNOB = "(all pairs)", "(no knob)"
# What the generator's item tags mean, for a mistake's reason.
TAG_MEANING = {
    "folio_incidental": "a folio incidental (not the stay's by the labelling policy)",
    "companion": "a colleague's ticket or room on this card",
    "fx_fee": "a bank's foreign-transaction-fee line",
    "agency_fee": "an agency's separate service-fee line",
    "trip_airline_fee": "a baggage or seat fee",
    "cancelled_charge": "a cancelled booking's charge",
    "cancel_credit": "a cancelled booking's credit",
    "change_fee": "a fare-change fee",
    "fare_diff": "a fare difference after a change",
    "resort_fee": "a mandatory resort fee",
    "folio_room": "a room night of an itemised folio",
    "folio_tax": "the room tax of an itemised folio",
    "refund": "a partial refund",
}


@dataclass
class PairTruth:
    """Per pair: the knobs that shaped it, what its item is, the budget the item belongs to."""

    knobs: list[frozenset[str]]
    tags: list[str]
    owners: list[str | None]

    def subset(self, index: np.ndarray) -> PairTruth:
        """The pairs at `index`."""
        return PairTruth(
            [self.knobs[i] for i in index],
            [self.tags[i] for i in index],
            [self.owners[i] for i in index],
        )


def synth_truth(
    users: list[SynthUser], user_ids: np.ndarray, budget_ids: list[str], item_ids: list[str]
) -> PairTruth:
    """The generator's truth for each (user, budget, item) pair of a dataset."""
    by_id = {user.user_id: user for user in users}
    owner_of = {(user.user_id, item): budget for user in users for budget, item in user.matches}
    knobs, tags, owners = [], [], []
    for user_id, budget_id, item_id in zip(user_ids.tolist(), budget_ids, item_ids, strict=True):
        user = by_id[user_id]
        knobs.append(user.pair_knobs(budget_id, item_id))
        tags.append(user.tags.get(item_id, ""))
        owners.append(owner_of.get((user_id, item_id)))
    return PairTruth(knobs, tags, owners)


def _figures(labels: np.ndarray, scores: np.ndarray, at: np.ndarray, matched: np.ndarray) -> dict:
    precision, recall, _ = precision_recall_f1(confusion(labels, at))
    decided_p, decided_r, _ = precision_recall_f1(confusion(labels, matched))
    has_positives = bool(labels.sum())
    return {
        "pairs": int(labels.shape[0]),
        "positives": int(labels.sum()),
        "pr_auc": round(pr_auc(labels, scores), 4) if has_positives else None,
        "precision": round(precision, 4),
        "recall": round(recall, 4) if has_positives else None,
        "precision_at_recall_0.90": (
            round(precision_at_recall(labels, scores, 0.90), 4) if has_positives else None
        ),
        "matched_precision": round(decided_p, 4),
        "matched_recall": round(decided_r, 4) if has_positives else None,
        "false_positives": int(np.sum(matched & (labels == 0))),
    }


def knob_breakdown(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    matched: np.ndarray,
    truth: PairTruth,
) -> list[dict[str, Any]]:
    """One row per knob (the pairs it shaped), after the all-pairs and no-knob rows."""
    at = scores >= threshold
    rows = [{"knob": ALL, **_figures(labels, scores, at, matched)}]
    empty = np.asarray([not k for k in truth.knobs], dtype=bool)
    if empty.any():
        rows.append(
            {"knob": NO_KNOB, **_figures(labels[empty], scores[empty], at[empty], matched[empty])}
        )
    for knob in sorted({k for knobs in truth.knobs for k in knobs}):
        mask = np.asarray([knob in knobs for knobs in truth.knobs], dtype=bool)
        rows.append({"knob": knob, **_figures(labels[mask], scores[mask], at[mask], matched[mask])})
    return rows


def reliability(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Observed match rate per score bin of width 1/bins, and the expected calibration error
    ECE = Σ_b (n_b / n) · |mean score_b − match rate_b|."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        mean_score, rate = float(scores[mask].mean()), float(labels[mask].mean())
        ece += mask.sum() / scores.shape[0] * abs(mean_score - rate)
        table.append(
            {
                "bin": f"[{edges[b]:.1f}, {edges[b + 1]:.1f}{']' if b == bins - 1 else ')'}",
                "pairs": int(mask.sum()),
                "mean_score": round(mean_score, 4),
                "match_rate": round(rate, 4),
            }
        )
    return {"bins": table, "ece": round(ece, 5)}


def plot_reliability(table: dict[str, Any], path: Path, title: str) -> None:
    """A PNG: observed match rate against mean score per bin, and the diagonal."""
    x = [row["mean_score"] for row in table["bins"]]
    y = [row["match_rate"] for row in table["bins"]]
    frame = Frame(title, "mean score in bin", "observed match rate", (0, 1), (0, 1), "upper left")
    with png_axes(path, (5, 5), frame) as axes:
        axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
        axes.plot(x, y, marker="o", label=f"model (ECE {table['ece']:.4f})")


def confident_mistakes(
    pairs: CandidatePairs,
    features: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    matched: np.ndarray,
    threshold: float,
    truth: PairTruth | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The `limit` most confident wrong decisions (false positives by score, false negatives
    by 1 − score), as `bem monitor errors` rows: decision, score, both sides, label, reason."""
    wrong = np.flatnonzero(matched != labels.astype(bool))
    confidence = np.where(matched[wrong], scores[wrong], 1.0 - scores[wrong])
    chosen = wrong[np.argsort(-confidence, kind="stable")[:limit]]
    rows = []
    for k in chosen.tolist():
        b, i = int(pairs.budget_index[k]), int(pairs.item_index[k])
        rows.append(
            {
                "kind": "fp" if matched[k] else "fn",
                "score": round(float(scores[k]), 4),
                "threshold": round(float(threshold), 4),
                "matched": bool(matched[k]),
                "is_match": bool(labels[k]),
                "user_id": pairs.budgets.users[b],
                "budget_id": pairs.budgets.ids[b],
                "itemization_id": pairs.items.ids[i],
                "budget_type": pairs.budgets.text(c.BUDGET_TYPE)[b],
                "budget_vendor": pairs.budgets.text(c.BUDGET_TRAVEL_VENDOR)[b],
                "budget_cost": _cost(pairs, b),
                "trip": f"{_day(pairs.budgets.number(c.BUDGET_TRIP_START)[b])}.."
                f"{_day(pairs.budgets.number(c.BUDGET_TRIP_END)[b])}",
                "item_type": pairs.items.text(c.ITEM_TYPE_NAME)[i],
                "item_vendor": pairs.items.text(c.ITEM_VENDOR)[i],
                "item_amount": _number(pairs.items.number(c.ITEM_AMOUNT)[i]),
                "item_date": _day(pairs.items.number(c.ITEM_DATE)[i]),
                "reason": reason(features[k], bool(labels[k]), truth, k, pairs.budgets.ids[b]),
            }
        )
    return rows


def reason(row: np.ndarray, is_match: bool, truth: PairTruth | None, k: int, budget_id: str) -> str:
    """Why the pair was decided wrongly: what the item is (when known), then what the
    features saw that pointed the wrong way."""
    f = dict(zip(FEATURE_NAMES, row.tolist(), strict=True))
    parts = []
    if truth is not None:
        tag, owner = truth.tags[k], truth.owners[k]
        meaning = TAG_MEANING.get(tag, tag.replace("_", " "))
        if not is_match and owner is not None and owner != budget_id:
            parts.append(f"{meaning}: belongs to budget {owner}, another of this user's")
        else:
            parts.append(meaning)
        knobs = sorted(truth.knobs[k] - {"sparse", "formats"})
        if knobs:
            parts.append("knobs " + ",".join(knobs))
    facts = []
    if f["type_match"] == 0.0:
        facts.append("expense type of another group")
    if not np.isnan(f["days_outside_trip"]) and abs(f["days_outside_trip"]) > 3:
        facts.append(f"dated {f['days_outside_trip']:+.0f} d outside the trip")
    ratio = f["amount_log_ratio_actual"]
    ratio = f["amount_log_ratio_budgeted"] if np.isnan(ratio) else ratio
    if not np.isnan(ratio) and abs(ratio) > 0.2:
        facts.append(f"amount ×{np.exp(ratio):.2f} of the cost")
    if not np.isnan(f["vendor_monge_elkan"]) and f["vendor_monge_elkan"] < 0.7:
        facts.append(f"vendor similarity {f['vendor_monge_elkan']:.2f}")
    if f["timing_gap_to_best_in_item"] > 1:
        facts.append(f"another budget {f['timing_gap_to_best_in_item']:.0f} d closer in time")
    if is_match and not facts:
        facts.append("every feature looks like a non-match's")
    if not is_match and not facts:
        facts.append("same type, dates, amount and vendor as a match")
    return "; ".join(parts + facts)


def _cost(pairs: CandidatePairs, b: int) -> float | None:
    actual = pairs.budgets.number(c.BUDGET_ACTUAL_COST)[b]
    return _number(actual if not np.isnan(actual) else pairs.budgets.number(c.BUDGET_PRICE)[b])


def _number(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 2)


def _day(seconds: float) -> str:
    if np.isnan(seconds):
        return "?"
    return datetime.fromtimestamp(float(seconds), UTC).date().isoformat()
