"""The independent generator of bench/feedgen: deterministic, read by `bem data check` as it is
written, and labelled by the policy of docs/contract.md."""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from bem.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from feedgen.history import travellers, write_history

USERS = 40


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("feeds") / "independent.csv"
    write_history(path, travellers(USERS, seed=3, noise=1.0))
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_same_seed_writes_the_same_file_and_a_user_does_not_depend_on_the_count(
    tmp_path: Path, history: Path
) -> None:
    again, fewer, other = tmp_path / "again.csv", tmp_path / "fewer.csv", tmp_path / "other.csv"
    write_history(again, travellers(USERS, seed=3, noise=1.0))
    write_history(fewer, travellers(5, seed=3, noise=1.0))
    write_history(other, travellers(USERS, seed=4, noise=1.0))
    assert again.read_bytes() == history.read_bytes()
    first_five = {f"emp-{k:05d}" for k in range(5)}
    assert _rows(fewer) == [row for row in _rows(history) if row["user_id"] in first_five]
    assert other.read_bytes() != history.read_bytes()


def test_bem_data_check_reads_every_row_and_counts_the_written_matches(
    tmp_path: Path, history: Path
) -> None:
    written = write_history(tmp_path / "h.csv", travellers(USERS, seed=3, noise=1.0))
    result = CliRunner().invoke(main, ["data", "check", str(history), "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["unreadable_rows"] == 0
    assert report["users"] == USERS
    assert report["matches"] == written.matches
    assert report["pairs"] == written.pairs


def test_labels_follow_the_policy_for_fees_colleagues_folios_and_cancellations(
    history: Path,
) -> None:
    rows = _rows(history)
    by_behaviour: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        if row["itemization_id"]:
            by_behaviour[row["item_behaviour"]].append(row)
    never = ("folio_incidental", "colleague_ticket", "bag_fee", "agency_fee", "seat_fee")
    for behaviour in never:
        assert by_behaviour[behaviour], behaviour
        assert all(not row["budget_id"] for row in by_behaviour[behaviour]), behaviour
    outside = [rows for name, rows in by_behaviour.items() if name.startswith("off_tool_")]
    assert outside and all(not row["budget_id"] for group in outside for row in group)
    for behaviour in ("folio_room", "folio_tax"):
        assert by_behaviour[behaviour]
        assert {row["budget_type_budget"] for row in by_behaviour[behaviour]} == {"hotel"}
    credits = by_behaviour["cancel_credit"] + by_behaviour["cancel_credit_less_fee"]
    assert credits
    for row in credits:
        assert float(row["expensed_amount_itemization"]) < 0
        assert row["budget_behaviour"].startswith("cancelled+")
    flights = {
        (row["user_id"], row["budget_id"]) for row in rows if row["budget_type_budget"] == "flight"
    }
    twins = [
        row
        for row in by_behaviour["colleague_ticket"]
        if "twin" in row["item_modifiers"] and row["item_relates_to"]
    ]
    assert twins
    assert all((row["user_id"], row["item_relates_to"]) in flights for row in twins)
