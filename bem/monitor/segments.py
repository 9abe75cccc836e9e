"""Segments of the scored pairs: budget type, vendor group and label-age cohort.

- `budget_type=<type>`: one segment per budget type seen in the period ("" → "unknown").
- `vendor=<name>`: the `top_vendors` travel vendors with the most pairs in the period (names
  normalised: case and spaces folded), and `vendor=other` for all the rest together.
- `label_age=<range>`: labelled pairs by how long their label took (labeled_at − scored_at):
  0–2 days, 2–5 days, over 5 days. A cohort that labels quickly can differ from the rest (e.g.
  false positives corrected at once): early realised figures rest on the quick cohort only.

Budget-type and vendor segments hold every pair (labelled or not), so they have an estimate
from scores as well as realised figures; label-age cohorts hold labelled pairs only.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from bem.monitor.pairs import Pairs

LABEL_AGE_COHORTS: tuple[tuple[str, float, float], ...] = (
    ("label_age=0-2d", 0.0, 2.0),
    ("label_age=2-5d", 2.0, 5.0),
    ("label_age=5d+", 5.0, float("inf")),
)
DEFAULT_TOP_VENDORS = 5


def top_vendors(pairs: Pairs, count: int = DEFAULT_TOP_VENDORS) -> list[str]:
    """The `count` vendors with the most pairs (ties: alphabetical), empty names left out."""
    counts = Counter(v for v in pairs.vendor.tolist() if v)
    return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:count]]


def segment_masks(
    pairs: Pairs, vendors: int = DEFAULT_TOP_VENDORS
) -> dict[str, tuple[str, np.ndarray]]:
    """segment name → (dimension, which pairs); dimension is budget_type, vendor or label_age."""
    masks: dict[str, tuple[str, np.ndarray]] = {}
    for kind in sorted(set(pairs.budget_type.tolist())):
        masks[f"budget_type={kind or 'unknown'}"] = ("budget_type", pairs.budget_type == kind)
    top = top_vendors(pairs, vendors)
    for name in top:
        masks[f"vendor={name}"] = ("vendor", pairs.vendor == name)
    rest = ~np.isin(pairs.vendor, np.array(top, dtype=object))
    if rest.any():
        masks["vendor=other"] = ("vendor", rest)
    age = pairs.label_age_days
    with np.errstate(invalid="ignore"):
        for name, low, high in LABEL_AGE_COHORTS:
            masks[name] = ("label_age", (age >= low) & (age < high))
    return masks
