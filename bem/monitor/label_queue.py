"""The label queue: the stored pairs whose labels would teach most, for reviewers.

Candidates are unlabelled pairs (user, budget, item) scored in the period, at their latest
scoring; each gets the reasons that apply:

- `near_threshold`: |score − threshold| < `near` (the model is unsure; ranked by closeness);
- `versions_disagree`: two model versions decided the pair differently;
- `few_labels`: its segment (budget type × vendor group, the report's segments) holds fewer
  than `few` labelled pairs (ranked by how few);
- `no_budget_same_vendor`: no budget took the item, yet one of the user's budgets names the
  item's vendor (the pair of that budget is the candidate).

The queue takes reasons in turn (round robin, each reason's best first), one pair per item (a
reviewer settles an item at once), up to `limit` pairs. It is written as a training history —
user_id, budget_id, itemization_id, is_match (empty, for the reviewer), the pair's inputs under
the request's field names — plus why, score, threshold and model version, so
`bem monitor label` reads it back once is_match is filled in. Cells are neutralised against
formula injection by the tools' CSV writer; the ids still read back exactly (`write_queue`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bem.data.csv_writer import write_csv
from bem.monitor.metrics_sql import latest_scorings
from bem.monitor.pairs import normalise_vendor
from bem.monitor.segments import DEFAULT_TOP_VENDORS
from bem.monitor.store import label_of, labels
from budget_matcher import contract as c
from budget_matcher.result_rows import BUDGET_INPUTS, ITEM_INPUTS, to_iso

REASONS = ("near_threshold", "versions_disagree", "few_labels", "no_budget_same_vendor")
Key = tuple[str, str, str]


@dataclass(frozen=True)
class QueueSettings:
    """What counts as near the threshold and as few labels, and how many pairs to ask for."""

    limit: int = 200
    near: float = 0.15
    few: int = 30
    vendors: int = DEFAULT_TOP_VENDORS


@dataclass
class Candidate:
    """One unlabelled pair at its latest scoring, with the reasons to ask for its label."""

    row: Any
    reasons: dict[str, float] = field(default_factory=dict)  # reason -> priority (higher first)

    @property
    def key(self) -> Key:
        return (self.row.user_key, self.row.budget_id, self.row.itemization_id)


def segment_of(row: Any, top: set[str]) -> tuple[str, str]:
    """(budget type, vendor group) of a stored row, as the report's segments name them."""
    vendor = normalise_vendor(row.travel_vendor)
    return ((row.budget_type or "").lower() or "unknown", vendor if vendor in top else "other")


def label_queue(
    connection: Connection, start: datetime | None, end: datetime | None, settings: QueueSettings
) -> list[Candidate]:
    """The queue (see the module docstring), best first."""
    scored = latest_scorings(start, end, by_version=True)
    rows = connection.execute(
        sa.select(scored, labels.c.is_match).select_from(scored.outerjoin(labels, label_of(scored)))
    ).all()
    vendors = Counter(normalise_vendor(r.travel_vendor) for r in rows)
    vendors.pop("", None)
    top = {
        name
        for name, _ in sorted(vendors.items(), key=lambda kv: (-kv[1], kv[0]))[: settings.vendors]
    }
    labelled_in = Counter(segment_of(r, top) for r in rows if r.is_match is not None)
    latest: dict[Key, Any] = {}
    decisions: dict[Key, set[bool]] = defaultdict(set)
    labelled: set[Key] = set()
    for row in rows:
        key = (row.user_key, row.budget_id, row.itemization_id)
        if row.is_match is not None:
            labelled.add(key)
        decisions[key].add(bool(row.matched))
        if key not in latest or (row.scored_at, row.request_id) > (
            latest[key].scored_at,
            latest[key].request_id,
        ):
            latest[key] = row
    candidates = {key: Candidate(row) for key, row in latest.items() if key not in labelled}
    for key, candidate in candidates.items():
        row = candidate.row
        gap = abs(row.score - (row.threshold if row.threshold is not None else 0.5))
        if gap < settings.near:
            candidate.reasons["near_threshold"] = 1.0 - gap / settings.near
        if len(decisions[key]) > 1:
            candidate.reasons["versions_disagree"] = 1.0 - gap
        have = labelled_in[segment_of(row, top)]
        if have < settings.few:
            candidate.reasons["few_labels"] = 1.0 - have / settings.few
    _mark_unbudgeted(candidates.values(), latest.values())
    return pick(candidates.values(), settings.limit)


def _mark_unbudgeted(candidates: Iterable[Candidate], rows: Iterable[Any]) -> None:
    """`no_budget_same_vendor` on the pair of an item no budget took and a budget that names
    the item's vendor (its travel or purchase vendor within the item's vendor text)."""
    taken = {(r.user_key, r.itemization_id) for r in rows if r.matched}
    for candidate in candidates:
        row = candidate.row
        if (row.user_key, row.itemization_id) in taken:
            continue
        item_vendor = normalise_vendor(row.item_vendor)
        names = {normalise_vendor(row.travel_vendor), normalise_vendor(row.purchase_vendor)} - {""}
        if item_vendor and any(name in item_vendor or item_vendor in name for name in names):
            candidate.reasons["no_budget_same_vendor"] = float(row.score)


def pick(candidates: Iterable[Candidate], limit: int) -> list[Candidate]:
    """Each item's best pair (most reasons, then highest priorities); then reasons in turn,
    each reason's best first, at most `limit` pairs."""
    best: dict[tuple[str, str], Candidate] = {}
    for candidate in sorted(candidates, key=lambda c: c.key):  # ties: the first budget id
        if not candidate.reasons:
            continue
        item = (candidate.key[0], candidate.key[2])
        if item not in best or _merit(candidate) > _merit(best[item]):
            best[item] = candidate
    candidates = list(best.values())
    ranked = {
        reason: sorted((c for c in candidates if reason in c.reasons),
                       key=lambda c: (-c.reasons[reason], c.key))
        for reason in REASONS
    }  # fmt: skip
    cursors = dict.fromkeys(REASONS, 0)
    chosen: list[Candidate] = []
    items: set[tuple[str, str]] = set()
    while len(chosen) < limit and any(cursors[r] < len(ranked[r]) for r in REASONS):
        for reason in REASONS:
            queue = ranked[reason]
            while cursors[reason] < len(queue):
                candidate = queue[cursors[reason]]
                cursors[reason] += 1
                item = (candidate.key[0], candidate.key[2])
                if item not in items:
                    items.add(item)
                    chosen.append(candidate)
                    break
            if len(chosen) >= limit:
                break
    return chosen


def _merit(candidate: Candidate) -> tuple[int, float]:
    return (len(candidate.reasons), sum(candidate.reasons.values()))


QUEUE_COLUMNS = (
    c.USER_ID_KEY, c.BUDGET_ID, c.ITEM_ID, c.LABEL, *BUDGET_INPUTS.values(),
    *ITEM_INPUTS.values(), "why", "score", "threshold", "model_version",
)  # fmt: skip


def write_queue(queue: list[Candidate], out: TextIO) -> int:
    """The queue as a history CSV (is_match empty); returns the number of pairs written. It goes
    through the tools' CSV writer: a text cell a spreadsheet would run as a formula (a vendor
    `=HYPERLINK(…)`, an id `@x`) gets a leading `'`, which `bem monitor label` drops from the
    ids it reads back (bem.data.csv_writer)."""
    return write_csv(out, QUEUE_COLUMNS, (_queue_row(candidate) for candidate in queue))


def _queue_row(candidate: Candidate) -> list[Any]:
    row = candidate.row
    inputs = [_cell(getattr(row, column)) for column in (*BUDGET_INPUTS, *ITEM_INPUTS)]
    why = " ".join(sorted(candidate.reasons, key=REASONS.index))
    return [_cell(row.user_id), row.budget_id, row.itemization_id, "", *inputs, why,
            row.score, row.threshold, row.model_version]  # fmt: skip


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return to_iso(value)
    return value


def write_queue_file(queue: list[Candidate], path: Path) -> int:
    """`write_queue` into a file (UTF-8, newline handling for CSV)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        return write_queue(queue, out)
