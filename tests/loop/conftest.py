"""Fixtures of the learning loop: two small trained models, one on synthetic users (its card
names the generator) and one on a history file (its card lists its users' digests); a store
the handler filled, with labels."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import lambda_handler
import predict
from bem.cli import main
from bem.synth.knobs import SynthConfig
from bem.synth.users import SynthUser, generate_users, user_rows
from budget_matcher import contract as c
from budget_matcher import side_paths
from budget_matcher.scoring import score_payload

QUICK = ["--candidates", "quick", "--folds", "2", "--holdout", "0", "--quiet", "--threads", "1"]


def write_history(path: Path, users: int, seed: int) -> Path:
    """A labelled history of `users` synthetic users (seed `seed`) as `bem synth` writes it."""
    rows = [row for user in generate_users(SynthConfig(users=users, seed=seed))
            for row in user_rows(user)]  # fmt: skip
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def train_quick(directory: Path, *options: str) -> Path:
    """`bem train` with the quick settings into `directory`."""
    reports = directory.parent / f"{directory.name}-reports"
    arguments = ["train", *options, *QUICK, "--model-dir", str(directory)]
    result = CliRunner().invoke(main, [*arguments, "--report-dir", str(reports)])
    assert result.exit_code == 0, result.output
    return directory


@pytest.fixture(scope="session")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 synthetic users of seed 21 as a history file."""
    return write_history(tmp_path_factory.mktemp("history") / "history.csv", 30, 21)


@pytest.fixture(scope="session")
def synthetic_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quick model trained on 30 synthetic users of seed 5."""
    root = tmp_path_factory.mktemp("synthetic_model")
    return train_quick(root / "model", "--synth-users", "30", "--seed", "5", "--version", "1.0.0",
                       "--harsh-noise", "0")  # fmt: skip


@pytest.fixture(scope="session")
def history_model(tmp_path_factory: pytest.TempPathFactory, history_file: Path) -> Path:
    """A quick model trained on the history file."""
    root = tmp_path_factory.mktemp("history_model")
    return train_quick(root / "model", "--data", str(history_file), "--version", "1.1.0")


Key = tuple[str, str, str]


def request_of(users: list[SynthUser], reverse_items: bool = False) -> dict[str, Any]:
    return {
        c.USERS_KEY: [
            {
                c.USER_ID_KEY: user.user_id,
                c.BUDGETS_KEY: user.budgets,
                c.LINE_ITEMS_KEY: user.items[::-1] if reverse_items else user.items,
            }
            for user in users
        ]
    }


def served(payload: dict[str, Any], request_id: str) -> dict[Key, np.ndarray]:
    """Answer `payload` through the handler (which stores its results) and return the
    features it computed, by (user, budget, item)."""
    context = SimpleNamespace(
        aws_request_id=request_id, function_name="bem", memory_limit_in_mb=512
    )
    lambda_handler.answer(payload, context)
    scored = score_payload(payload, predict.load_model())
    pairs = scored.batch.pairs
    assert scored.features is not None
    keys = zip(pairs.user_ids, pairs.budget_ids, pairs.itemization_ids, strict=True)
    return {(str(u), b, i): scored.features[k] for k, (u, b, i) in enumerate(keys)}


def history(path: Path, users: list[SynthUser]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "budget_id", "itemization_id", "is_match"])
        for user in users:
            for budget_id, item_id in sorted(user.matches):
                writer.writerow([user.user_id, budget_id, item_id, 1])
    return path


@pytest.fixture
def served_store(
    db_url: str, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, list[SynthUser], dict[Key, np.ndarray]]:
    """Five synthetic users served in two requests, then three of them again with their line
    items in reverse order (other rank features), all stored by the handler; the labels of four
    users loaded by `bem monitor label --unlisted negative`."""
    monkeypatch.setenv("BEM_RESULTS_DB_URL", db_url)
    monkeypatch.setenv("BEM_RESULTS_SPOOL_DIR", str(tmp_path / "spool"))
    side_paths.configure(None, None)  # the handler's writers, rebuilt from this environment
    predict.reset_model_cache()
    users = generate_users(SynthConfig(users=5, seed=11))
    features = served(request_of(users[:2]), "req-1")
    features.update(served(request_of(users[2:]), "req-2"))
    features.update(served(request_of(users[1:4], reverse_items=True), "req-3"))
    side_paths.configure(None, None)
    assert not list((tmp_path / "spool").glob("**/*.jsonl"))
    labels = history(tmp_path / "history.csv", users[:4])
    result = CliRunner().invoke(
        main, ["monitor", "label", "--db", db_url, str(labels), "--unlisted", "negative"]
    )
    assert result.exit_code == 0, result.output
    return db_url, users, features
