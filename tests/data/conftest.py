"""Fixtures of the history tests: a history as generated, and the same history their way."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from bem.synth.knobs import NoiseKnobs, SynthConfig
from bem.synth.users import generate_users, user_rows
from tests.data.their_history import write_their_history

Rows = list[dict[str, str | None]]


@pytest.fixture(scope="session")
def history_rows() -> Rows:
    """40 generated users' rows (seed field names, ISO dates, comma CSV layout)."""
    iso = replace(NoiseKnobs(), formats=0.0)  # the seed's date and amount forms only
    users = generate_users(SynthConfig(users=40, seed=11, knobs=iso))
    return [row for user in users for row in user_rows(user)]


def write_csv(rows: Rows, path: Path, delimiter: str = ",") -> Path:
    """`rows` as a CSV with their own keys as the header."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def history_csv(tmp_path: Path, history_rows: Rows) -> Path:
    """The generated history as a plain CSV."""
    return write_csv(history_rows, tmp_path / "history.csv")


@pytest.fixture
def their_csv(tmp_path: Path, history_rows: Rows) -> tuple[Path, list[int]]:
    """The history their way (mapped names, day-first dates, semicolons, 2 % unreadable)."""
    path = tmp_path / "their.csv"
    return path, write_their_history(history_rows, path)


MAPPING = (
    "[columns]\n"
    'employee = "user_id"\n'
    'trip_id = "budget_id"\n'
    'line_id = "itemization_id"\n'
    'matched = "is_match"\n'
    'amount = "expensed_amount_itemization"\n'
)
