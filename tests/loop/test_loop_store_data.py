"""The store as training data, on SQLite and PostgreSQL: requests served by the handler, stored,
rebuilt from their rows give the served features bit for bit; labels by (user, budget, item);
`bem train --from-store` records its source in the card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bem.cli import main
from bem.loop.store_data import StoreWindow, store_dataset
from bem.monitor.store import open_store
from bem.synth.users import SynthUser
from tests.loop.conftest import Key


def test_store_dataset_features_equal_served_features_bit_for_bit(
    served_store: tuple[str, list[SynthUser], dict[Key, np.ndarray]],
) -> None:
    db_url, users, served = served_store
    engine = open_store(db_url)
    dataset, source = store_dataset(engine, StoreWindow())
    engine.dispose()
    keys = list(zip(dataset.users, dataset.budget_ids, dataset.itemization_ids, strict=True))
    labelled = {u.user_id for u in users[:4]}
    assert set(keys) == {key for key in served if key[0] in labelled}
    assert len(keys) == len(set(keys))  # a pair served twice is one row, its latest scoring
    expected = np.stack([served[key] for key in keys])
    assert expected.tobytes() == dataset.features.tobytes()
    truth = {(u.user_id, b, i) for u in users for b, i in u.matches}
    assert dataset.labels.tolist() == [int(key in truth) for key in keys]
    assert source["store"]["requests"] == 3
    sizes = [len(u.budgets) * len(u.items) for u in users]
    assert source["store"]["rows"] == sum(sizes) + sum(sizes[1:4])  # every user of the requests


def test_store_dataset_follows_unlisted_and_the_window(
    served_store: tuple[str, list[SynthUser], dict[Key, np.ndarray]],
) -> None:
    db_url, users, _ = served_store
    engine = open_store(db_url)
    kept, _ = store_dataset(engine, StoreWindow(), unlisted="drop")
    with pytest.raises(ValueError, match="no labelled user's request"):
        store_dataset(engine, StoreWindow(versions=("9.9.9",)))
    engine.dispose()
    # the history lists matches only: with `drop`, the negatives written for its users
    # (--unlisted negative of `bem monitor label`) are labels too, so nothing is dropped
    assert int(kept.labels.sum()) == sum(len(u.matches) for u in users[:4])


@pytest.mark.slow
def test_train_from_store_records_its_source_in_the_card(
    served_store: tuple[str, list[SynthUser], dict[Key, np.ndarray]], tmp_path: Path
) -> None:
    db_url, _, _ = served_store
    out = tmp_path / "trained"
    result = CliRunner().invoke(
        main,
        ["train", "--from-store", db_url, "--since", "2020-01-01", "--versions", "0.0.0-test",
         "--model-dir", str(out), "--candidates", "quick", "--folds", "2", "--holdout", "0",
         "--report-dir", str(tmp_path / "reports"), "--quiet", "--threads", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    card = json.loads((out / "model.json").read_text())
    data = card["training_data"]
    assert data["source"] == "store" and data["users"] == 4
    store = data["store"]
    assert store["since"] == "2020-01-01T00:00:00.000000" and store["versions"] == ["0.0.0-test"]
    assert store["requests"] == 3 and store["digest"] == data["digest"]
    assert "postgres@" in store["url"] or store["url"].startswith("sqlite:///")
