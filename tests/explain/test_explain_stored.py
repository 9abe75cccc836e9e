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
from bem.explain.stored import UNORDERED_NOTE
from bem.model.dataset import group_rows
from bem.monitor.store import insert_results, open_store, upsert_labels
from bem.synth.knobs import SynthConfig
from bem.synth.users import generate_users, user_rows
from budget_matcher import responses
from budget_matcher.decisions import decide
from budget_matcher.features import compute_features
from budget_matcher.outcome import ScoringOutcome
from budget_matcher.result_rows import rows_from_outcome
from flattened_data_points import FlattenedBatch, FlattenedDataPoints
from tests.conftest import REPO_ROOT

MODEL = REPO_ROOT / "model"


def _store_and_explain(
    tmp_path: Path, keep_order: bool = True
) -> tuple[list[dict[str, str]], FlattenedBatch, np.ndarray]:
    """Score a synthetic request, store its rows (without `pair_index` unless `keep_order`),
    label three matches as no match, run `bem monitor errors fp --explain`: its CSV rows, the
    request's pairs and the model's raw scores of them."""
    users = group_rows(
        row for user in generate_users(SynthConfig(users=4, seed=31)) for row in user_rows(user)
    )
    payload = {"users": [u.payload() for u in users]}
    batch = FlattenedDataPoints(payload).all()
    features = compute_features(batch.pairs)
    pipeline = joblib.load(MODEL / "model.joblib")
    scores = pipeline.predict_proba(features)[:, 1]
    threshold = 0.5
    items = responses.scored_items(batch.pairs, scores, decide(batch.pairs, scores, threshold))
    outcome = ScoringOutcome(
        request_id="req-explain", received_at=datetime.now(UTC), duration_ms=1.0,
        model_version="1.3.0", threshold=threshold, items=items, pairs=batch.pairs,
        features=None, n_users=batch.n_users, n_errors=0, source="direct",
    )  # fmt: skip
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = open_store(db_url)
    matched = np.flatnonzero(scores >= threshold)[:3]  # labelled no match: false positives
    with engine.begin() as connection:
        stored = rows_from_outcome(outcome)
        if not keep_order:  # as written by a version before pair_index
            stored = [{**row, "pair_index": None} for row in reversed(stored)]
        insert_results(connection, stored)
        label = {"is_match": False, "labeled_at": datetime(2026, 12, 1), "resolved_at": None,
                 "source": "test", "ingested_at": None}  # fmt: skip
        upsert_labels(connection, [
            {"user_key": batch.pairs.user_ids[k], "budget_id": batch.pairs.budget_ids[k],
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
    return rows, batch, hgb.decision_function(features)


def _positions(batch: FlattenedBatch) -> dict[tuple[str, str], int]:
    pairs = batch.pairs
    return {
        (b, i): k
        for k, (b, i) in enumerate(zip(pairs.budget_ids, pairs.itemization_ids, strict=True))
    }


def test_errors_explain_rebuilds_the_request_and_its_raw_scores(tmp_path: Path) -> None:
    rows, batch, raw = _store_and_explain(tmp_path)
    position = _positions(batch)
    for row in rows:
        k = position[(row["budget_id"], row["itemization_id"])]
        assert abs(float(row["raw_score"]) - raw[k]) < 1e-6
        assert len(row["contributions"].split("; ")) == 3
        assert row["pair_index"] == str(k) and row["explain_note"] == ""


def test_errors_explain_of_rows_stored_without_their_order_says_so(tmp_path: Path) -> None:
    """Rows of an older store: rebuilt in the store's order, explained, and flagged."""
    rows, _, _ = _store_and_explain(tmp_path, keep_order=False)
    for row in rows:
        assert row["explain_note"] == UNORDERED_NOTE and row["pair_index"] == ""
        assert np.isfinite(float(row["raw_score"]))
        assert len(row["contributions"].split("; ")) == 3
