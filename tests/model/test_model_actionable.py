"""Evaluation a user can act on: operating points, figures by budget type, the mistakes CSV."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import numpy as np

import predict
from bem.model.actionable import (
    actionable_report,
    budget_types,
    by_budget_type,
    operating_point,
    write_mistakes,
)
from bem.model.dataset import Dataset, group_rows
from bem.model.metrics import summary
from bem.synth.users import SynthUser, user_rows


def _scores(dataset: Dataset) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.clip(0.4 * dataset.labels + rng.uniform(0, 0.7, len(dataset)), 0, 1)


def test_operating_point_served_point_and_precision_targets(small_dataset: Dataset) -> None:
    scores = _scores(small_dataset)
    points = operating_point(small_dataset.labels, scores, 0.5)
    served = summary(small_dataset.labels, scores, 0.5)
    assert points[0]["point"] == "served"
    assert (points[0]["precision"], points[0]["recall"]) == (served["precision"], served["recall"])
    for point in points[1:]:
        target = float(point["point"].split("≥ ")[1])
        assert point["precision"] >= target
    recalls = [p["recall"] for p in points[1:]]
    assert recalls == sorted(recalls, reverse=True)


def test_by_budget_type_partitions_the_pairs(
    small_dataset: Dataset, small_users: list[SynthUser]
) -> None:
    users = group_rows(row for user in small_users for row in user_rows(user))
    types = budget_types(users, small_dataset)
    figures = by_budget_type(small_dataset.labels, _scores(small_dataset), 0.5, types)
    assert sum(f["pairs"] for f in figures.values()) == len(small_dataset)
    assert sum(f["positives"] for f in figures.values()) == int(small_dataset.labels.sum())
    assert "flight" in figures and "hotel" in figures


def test_write_mistakes_lists_every_false_positive_and_negative(
    tmp_path: Path, small_dataset: Dataset, small_users: list[SynthUser]
) -> None:
    users = group_rows(row for user in small_users for row in user_rows(user))
    scores = _scores(small_dataset)
    contributions = np.tile(
        np.arange(small_dataset.features.shape[1], dtype=float), (len(small_dataset), 1)
    )
    names = tuple(f"f{j}" for j in range(small_dataset.features.shape[1]))
    path = tmp_path / "mistakes.csv"
    count = write_mistakes(path, small_dataset, users, scores, 0.5, contributions, names)
    counts = summary(small_dataset.labels, scores, 0.5)["confusion"]
    assert count == counts["fp"] + counts["fn"] > 0
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == count
    assert {r["kind"] for r in rows} <= {"false positive", "false negative"}
    assert sum(r["kind"] == "false positive" for r in rows) == counts["fp"]
    assert rows[0]["contribution_1"].startswith(names[-1] + " +")
    first = rows[0]
    user = next(u for u in users if u.user_id == first["user_id"])
    assert first["budget_type_budget"] == (
        user.budgets[first["budget_id"]]["budget_type_budget"] or ""
    )
    gaps = [abs(float(r["score"]) - 0.5) for r in rows]
    assert all(later <= earlier + 1e-6 for earlier, later in itertools.pairwise(gaps))


def test_actionable_report_writes_the_point_the_plot_and_the_mistakes(
    tmp_path: Path, quick_model_dir: Path, small_dataset: Dataset, small_users: list[SynthUser]
) -> None:
    model = predict.load_model(quick_model_dir, "sklearn")
    users = group_rows(row for user in small_users for row in user_rows(user))
    scores = model.score(small_dataset.features)
    paths, lines = actionable_report(
        model, small_dataset, users, scores, tmp_path / "check", quick_model_dir
    )
    assert [p.name for p in paths] == [
        "check_operating.json", "check_operating.png", "check_mistakes.csv"
    ]  # fmt: skip
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    served = json.loads(paths[0].read_text())["operating_point"][0]
    assert served["threshold"] == round(model.threshold, 6)
    assert "## By budget type" in lines


def test_write_mistakes_neutralises_formula_cells(
    tmp_path: Path, small_dataset: Dataset, small_users: list[SynthUser]
) -> None:
    from budget_matcher import contract

    rows = [
        {**row, contract.ITEM_VENDOR: "=HYPERLINK(\"http://x\")",
         contract.BUDGET_TRAVEL_VENDOR: "@SUM(1)"}
        for user in small_users
        for row in user_rows(user)
    ]  # fmt: skip
    path = tmp_path / "mistakes.csv"
    count = write_mistakes(path, small_dataset, group_rows(rows), _scores(small_dataset), 0.5,
                           None, ())  # fmt: skip
    written = list(csv.DictReader(path.open()))
    assert len(written) == count > 0
    assert {r[contract.ITEM_VENDOR] for r in written} == {'\'=HYPERLINK("http://x")'}
    assert {r[contract.BUDGET_TRAVEL_VENDOR] for r in written} == {"'@SUM(1)"}
    assert any(r["score"] and float(r["score"]) >= 0 for r in written)
