"""A prior for few labels: prior pairs marked and weighted, training that holds out and sets its
threshold on own users only; `bem train --prior-users` records the prior in the card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bem.cli import main
from bem.loop.prior import with_prior
from bem.model.evaluate import synthetic_dataset
from bem.model.train import TrainSettings, train


def test_with_prior_marks_and_weights_the_prior_pairs() -> None:
    own, _ = synthetic_dataset(3, 61, 1.0)
    prior, _ = synthetic_dataset(2, 62, 1.0)
    mixed = with_prior(own, prior, 0.25)
    assert mixed.prior is not None and mixed.weights is not None
    assert len(mixed) == len(own) + len(prior) and int(mixed.prior.sum()) == len(prior)
    assert set(mixed.weights[mixed.prior].tolist()) == {0.25}
    assert set(mixed.weights[~mixed.prior].tolist()) == {1.0}
    assert all(str(u).startswith("prior:") for u in mixed.users[mixed.prior])
    assert mixed.digest == own.digest and mixed.n_users == own.n_users
    with pytest.raises(ValueError, match="positive"):
        with_prior(own, prior, 0.0)
    kept = mixed.subset(np.arange(len(mixed)) % 2 == 0)
    assert kept.prior is not None and kept.weights is not None and len(kept.weights) == len(kept)


@pytest.mark.slow
def test_train_with_a_prior_holds_out_own_users_only() -> None:
    own, _ = synthetic_dataset(12, 63, 1.0)
    prior, _ = synthetic_dataset(10, 64, 1.0)
    settings = TrainSettings(folds=2, holdout=0.3, seed=1, candidates="quick", progress=False,
                             threads=1)  # fmt: skip
    result = train(with_prior(own, prior, 0.5), settings)
    own_users = set(own.users.tolist())
    assert result.holdout_users and set(result.holdout_users) <= own_users
    assert set(result.train_users) <= own_users
    assert result.metrics["cross_validated"]["pairs"] == sum(
        1 for u in own.users.tolist() if u not in set(result.holdout_users)
    )


@pytest.mark.slow
def test_train_from_store_with_prior_records_it_in_the_card(
    served_store: tuple[str, list, dict], tmp_path: Path
) -> None:
    db_url, _, _ = served_store
    out = tmp_path / "trained"
    result = CliRunner().invoke(
        main,
        ["train", "--from-store", db_url, "--prior-users", "3", "--prior-weight", "0.5",
         "--model-dir", str(out), "--candidates", "quick", "--folds", "2", "--holdout", "0",
         "--report-dir", str(tmp_path / "reports"), "--quiet", "--threads", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((out / "model.json").read_text())["training_data"]
    assert data["prior"]["users"] == 3 and data["prior"]["weight"] == 0.5
    assert data["source"] == "store" and data["users"] == 4
