"""bem batch features → bem train --data; bem batch score → bem monitor ingest-scores → report."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bem.batch import jobs, worker
from bem.batch.testing import user_tables, write_tables
from bem.model.cli import train_command
from bem.model.dataset import load_dataset
from bem.monitor.cli import monitor_group
from bem.synth.knobs import SynthConfig, knobs_from_options
from bem.synth.users import SynthUser, generate_users, user_rows
from budget_matcher.features import FEATURE_NAMES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def year_users() -> list[SynthUser]:
    """80 users whose trips fall in 2025 (a dense year of history), without the card-feed cases:
    this test is about the round trip; a quick model of 80 users trained on the full card-feed
    mix chooses a threshold that matches almost nothing (the model tests cover that mix)."""
    knobs = knobs_from_options(1.0, ("card_feed=0",))
    config = SynthConfig(users=80, seed=9, first_year=2025, last_year=2025, knobs=knobs)
    return generate_users(config)


def _train(features: Path, model_dir: Path, tmp_path: Path) -> dict[str, Any]:
    arguments = ["--data", str(features), "--model-dir", str(model_dir)]
    arguments += ["--report-dir", str(tmp_path / "reports"), "--candidates", "quick"]
    arguments += ["--folds", "2", "--harsh-noise", "0", "--quiet", "--seed", "1"]
    result = CliRunner().invoke(train_command, arguments)
    assert result.exit_code == 0, result.output
    return dict(json.loads((model_dir / "model.json").read_text()))


def test_batch_features_train_score_monitor_round_trip(
    spark: Any, year_users: list[SynthUser], tmp_path: Path
) -> None:
    rows_path = tmp_path / "history.csv"
    rows = [row for user in year_users for row in user_rows(user)]
    with rows_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    features = tmp_path / "features"
    report = jobs.run_features(spark, jobs.JobInputs(rows=str(rows_path)), str(features), 4)

    single = load_dataset(rows_path)
    table = load_dataset(features)
    assert report.rows == len(single) == len(table)
    assert int(table.labels.sum()) == int(single.labels.sum())
    keys = (single.itemization_ids, single.budget_ids, single.users.astype(str))
    order = np.lexsort(tuple(np.asarray(key, dtype=str) for key in keys))
    # 1e-9: window sums are cumulative sums over the batch, so their rounding follows its makeup
    np.testing.assert_allclose(table.features, single.features[order], rtol=0, atol=1e-9)
    assert list(pd.read_parquet(features).columns[4:]) == list(FEATURE_NAMES)

    model_dir = tmp_path / "model"
    card = _train(features, model_dir, tmp_path)
    assert card["training_data"]["source"] == "features"
    assert card["training_data"]["format"] == "feature table (bem batch features)"
    assert card["training_data"]["pairs"] == len(single)
    assert card["training_data"]["digest"] == table.digest

    budgets, items = user_tables(year_users)
    budgets_path, items_path = write_tables(budgets, items, tmp_path / "tables", files=2)
    scores = tmp_path / "scores"
    run = worker.ScoreRun("batch-history", str(model_dir), scored_at_item_date=True)
    inputs = jobs.JobInputs(budgets=str(budgets_path), items=str(items_path))
    scored = jobs.run_score(spark, inputs, str(model_dir), str(scores), run, buckets=4)
    assert scored.model_version == card["version"] and scored.errors == 0

    db = f"sqlite:///{tmp_path / 'results.db'}"
    runner = CliRunner()
    for _ in range(2):  # loading the same run twice stores it once
        loaded = runner.invoke(monitor_group, ["ingest-scores", str(scores), "--db", db])
        assert loaded.exit_code == 0, loaded.output
    with sa.create_engine(db).connect() as connection:
        stored = connection.execute(sa.text("select count(*) from scored_results")).scalar()
        days = connection.execute(
            sa.text("select count(distinct date(scored_at)) from scored_results")
        ).scalar()
    assert stored == scored.rows and days is not None and days > 100

    labels = tmp_path / "labels.csv"
    matches = {pair for user in year_users for pair in user.matches}
    pairs = pd.read_parquet(scores, columns=["budget_id", "itemization_id"])
    with labels.open("w", newline="") as handle:
        label_writer = csv.writer(handle)
        label_writer.writerow(["budget_id", "itemization_id", "is_match", "labeled_at"])
        for budget, item in zip(pairs["budget_id"], pairs["itemization_id"], strict=True):
            match = int((budget, item) in matches)
            label_writer.writerow([budget, item, match, "2026-02-01T00:00:00"])
    labelled = runner.invoke(monitor_group, ["label", str(labels), "--db", db])
    assert labelled.exit_code == 0, labelled.output

    out = tmp_path / "report.html"
    # Rows dated by their line item's date, or by now when the item has none: two years back.
    arguments = ["report", "--db", db, "--days", "800"]
    arguments += ["--out", str(out), "--min-labels", "1"]
    reported = runner.invoke(monitor_group, arguments)
    assert reported.exit_code in (0, 3), reported.output
    summary = json.loads(out.with_suffix(".json").read_text())
    assert out.read_text().lstrip().lower().startswith("<!doctype html")
    totals = summary["by_model_version"][card["version"]]
    assert totals["volume"] == scored.rows and totals["matched"] == scored.matched
    # the report's figures are those of the batch's own `matched` against the labels
    frame = pd.read_parquet(scores, columns=["budget_id", "itemization_id", "matched"])
    ids = zip(frame.budget_id, frame.itemization_id, strict=True)
    truth = np.array([(budget, item) in matches for budget, item in ids])
    decided = frame["matched"].fillna(False).to_numpy(dtype=bool)
    true_positives = int((decided & truth).sum())
    assert totals["precision"] == pytest.approx(true_positives / decided.sum(), abs=1e-9)
    assert totals["recall"] == pytest.approx(true_positives / truth.sum(), abs=1e-9)
    assert totals["precision"] > 0.5 and totals["recall"] > 0.1
