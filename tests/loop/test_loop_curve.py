"""The learning curve: nested user subsets, four recipes per size on the same test users with
intervals by user; `bem evaluate --learning-curve` from a store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import predict
from bem.cli import main
from bem.local.devzip import write_placeholder_model
from bem.loop.curve import CurveSettings, first_users, learning_curve, markdown_table
from bem.loop.prior import load_pipeline
from bem.model.evaluate import synthetic_dataset
from bem.model.train import CANDIDATES


def test_first_users_are_nested() -> None:
    own, _ = synthetic_dataset(6, 71, 1.0)
    small, big = first_users(own, 2, 0), first_users(own, 4, 0)
    assert len(set(own.users[small].tolist())) == 2 and len(set(own.users[big].tolist())) == 4
    assert not (small & ~big).any()


@pytest.mark.slow
def test_learning_curve_scores_every_recipe_at_every_size(tmp_path: Path) -> None:
    own, _ = synthetic_dataset(8, 72, 1.0)
    test, _ = synthetic_dataset(5, 73, 1.0)
    prior, _ = synthetic_dataset(4, 74, 1.0)
    directory = write_placeholder_model(tmp_path / "record", "0.5.0")
    record = predict.load_model(directory, "sklearn")
    settings = CurveSettings(sizes=(4, 8, 16), params=CANDIDATES["quick"][0], rounds=20)
    rows = learning_curve(own, test, record, load_pipeline(directory), prior, settings)
    assert [(r["users"], r["recipe"]) for r in rows] == [
        (size, recipe) for size in (4, 8) for recipe in ("record", "own", "own+prior", "warm start")
    ]
    assert len({r["pr_auc"] for r in rows if r["recipe"] == "record"}) == 1
    for row in rows:
        low, high = row["interval"]
        assert 0.0 <= low <= high <= 1.0
    table = markdown_table(rows)
    assert table[0] == "| labelled users | pairs | record | own | own+prior | warm start |"
    assert len(table) == 4


@pytest.mark.slow
def test_evaluate_learning_curve_takes_own_users_from_the_store(
    served_store: tuple[str, list, dict], tmp_path: Path
) -> None:
    db_url, _, _ = served_store
    result = CliRunner().invoke(
        main,
        ["evaluate", "--learning-curve", "2,4", "--from-store", db_url, "--synth-users", "4",
         "--seed", "75", "--prior-users", "2", "--report-dir", str(tmp_path), "--name", "curve"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "curve_learning_curve.json").read_text())
    assert document["prior"] == {"users": 2, "weight": 0.3}
    assert {(r["users"], r["recipe"]) for r in document["rows"]} == {
        (n, recipe) for n in (2, 4) for recipe in ("record", "own", "own+prior", "warm start")
    }
    assert "| labelled users |" in result.stdout
