"""`bem monitor errors --explain`: a stored request rebuilt from the results store explains its
mistakes with the raw scores the model gave them when it scored the request."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
from click.testing import CliRunner

from bem.cli import main
from bem.model.dataset import group_rows
from bem.monitor.store import insert_results, open_store, upsert_labels
from bem.synth.knobs import SynthConfig
from bem.synth.users import generate_users, user_rows
from budget_matcher import responses
from budget_matcher.features import compute_features
from budget_matcher.outcome import ScoringOutcome
from budget_matcher.result_rows import rows_from_outcome
from flattened_data_points import FlattenedDataPoints
from tests.conftest import REPO_ROOT

MODEL = REPO_ROOT / "model"


def test_errors_explain_rebuilds_the_request_and_its_raw_scores(tmp_path: Path) -> None:
    users = group_rows(
        row for user in generate_users(SynthConfig(users=4, seed=31)) for row in user_rows(user)
    )
    payload = {"users": [u.payload() for u in users]}
    batch = FlattenedDataPoints(payload).all()
    features = compute_features(batch.pairs)
    pipeline = joblib.load(MODEL / "model.joblib")
    scores = pipeline.predict_proba(features)[:, 1]
    threshold = 0.5
    items = responses.scored_items(batch.pairs, scores, threshold)
    outcome = ScoringOutcome(
        request_id="req-explain", received_at=datetime.now(UTC), duration_ms=1.0,
        model_version="1.3.0", threshold=threshold, items=items, pairs=batch.pairs,
        features=None, n_users=batch.n_users, n_errors=0, source="direct",
    )  # fmt: skip
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = open_store(db_url)
    matched = np.flatnonzero(scores >= threshold)[:3]  # labelled no match: false positives
    with engine.begin() as connection:
        insert_results(connection, rows_from_outcome(outcome))
        label = {"is_match": False, "labeled_at": datetime(2026, 12, 1), "resolved_at": None,
                 "source": "test", "ingested_at": None}  # fmt: skip
        upsert_labels(connection, [
            {"budget_id": batch.pairs.budget_ids[k],
             "itemization_id": batch.pairs.itemization_ids[k], **label}
            for k in matched
        ])  # fmt: skip
    engine.dispose()
    result = CliRunner().invoke(
        main, ["monitor", "errors", "fp", "--db", db_url, "--days", "3", "--explain", str(MODEL)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(matched) > 0
    hgb = pipeline[-1].calibrated_classifiers_[0].estimator
    raw = hgb.decision_function(features)
    position = {(b, i): k for k, (b, i) in enumerate(
        zip(batch.pairs.budget_ids, batch.pairs.itemization_ids, strict=True))}  # fmt: skip
    for row in rows:
        k = position[(row["budget_id"], row["itemization_id"])]
        assert abs(float(row["raw_score"]) - raw[k]) < 1e-6
        assert len(row["contributions"].split("; ")) == 3
