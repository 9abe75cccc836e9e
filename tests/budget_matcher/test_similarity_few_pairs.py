"""The loop that lays out a few pairs' token cells gives the vectorised layout's bits."""

from __future__ import annotations

import random

import numpy as np
import pytest

from budget_matcher import similarity

WORDS = ("air", "airlin", "southwest", "taxi", "hotel", "marriott", "inn", "ua", "delta", "expedia")


@pytest.mark.parametrize("seed", range(5))
def test_few_pairs_give_the_vectorised_measures_bit_for_bit(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        texts = (" ".join(rng.sample(WORDS, rng.randint(1, 10))) for _ in range(rng.randint(1, 8)))
        strings = list(dict.fromkeys(texts))
        pairs = sorted(
            {
                (rng.randrange(len(strings)), rng.randrange(len(strings)))
                for _ in range(rng.randint(1, similarity.FEW_PAIRS))
            }
        )
        left = np.asarray([a for a, _ in pairs], dtype=np.int64)
        right = np.asarray([b for _, b in pairs], dtype=np.int64)
        few = similarity._token_measures(left, right, strings)
        monkeypatch.setattr(similarity, "FEW_PAIRS", 0)
        vectorised = similarity._token_measures(left, right, strings)
        monkeypatch.undo()
        for got, expected in zip(few, vectorised, strict=True):
            assert got.dtype == expected.dtype
            assert got.tobytes() == expected.tobytes()
