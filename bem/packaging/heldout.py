"""Held-out feature rows for the lean-form proof, made the way the service makes them.

Users come from the synthetic generator (`bem.synth.users`) with a seed the model was not trained
on, go through FlattenedDataPoints and the one feature function, exactly as in the Lambda.
When the generator is not available the proof falls back to threshold-probing rows alone.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

# Added to the training seed: users drawn from here were never part of training.
HELDOUT_SEED_OFFSET = 1_000_003
USERS_PER_ROUND = 40


def training_seed(card: dict[str, Any]) -> int:
    """The generator seed recorded in the model card (0 when absent)."""
    data = card.get("training_data") or {}
    generator = data.get("generator") or {}
    seed = generator.get("seed", data.get("seed", 0))
    return int(seed) if isinstance(seed, int | float | str) and str(seed).isdigit() else 0


def heldout_features(card: dict[str, Any], rows: int) -> np.ndarray | None:
    """At least `rows` feature rows of fresh synthetic users, or None without a generator."""
    try:
        synth = importlib.import_module("bem.synth.users")
    except ImportError:
        return None
    from budget_matcher import contract
    from budget_matcher.features import compute_features
    from flattened_data_points import FlattenedDataPoints

    seed = training_seed(card) + HELDOUT_SEED_OFFSET
    blocks: list[np.ndarray] = []
    have = 0
    while have < rows:
        users = synth.generate_users(synth.SynthConfig(users=USERS_PER_ROUND, seed=seed))
        payload = {
            contract.USERS_KEY: [
                {
                    contract.USER_ID_KEY: user.user_id,
                    contract.BUDGETS_KEY: user.budgets,
                    contract.LINE_ITEMS_KEY: user.items,
                }
                for user in users
            ]
        }
        block = compute_features(FlattenedDataPoints(payload).all().pairs)
        if block.shape[0] == 0:
            break
        blocks.append(block)
        have += block.shape[0]
        seed += 1
    return np.vstack(blocks)[:rows] if blocks else None
