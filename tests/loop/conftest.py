"""Fixtures of the learning loop: two small trained models, one on synthetic users (its card
names the generator) and one on a history file (its card lists its users' digests)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from bem.cli import main
from bem.synth.knobs import SynthConfig
from bem.synth.users import generate_users, user_rows

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
