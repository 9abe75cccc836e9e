"""What runs inside a Spark Python worker: records of a bucket of users → scores or features.

Everything here is plain pandas and the runtime's own code (`budget_matcher.scoring`,
`predict.load_model`, `bem.model.dataset`); Spark only groups the records and moves the
frames. The model is loaded once per worker process and kept in this importable module (a
function defined in `__main__` would be pickled by value and lose its cache).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import predict
from bem.model.dataset import Row, build_dataset, group_rows
from budget_matcher import contract as c
from budget_matcher.features import FEATURE_NAMES
from budget_matcher.outcome import ScoringOutcome
from budget_matcher.result_rows import COLUMN_NAMES, RESULT_COLUMNS, rows_from_outcome, to_iso
from budget_matcher.scoring import score_payload

# Record kinds in the records frame: a budget, a line item, or an error item made while reading.
BUDGET, ITEM, READ_ERROR = "budget", "item", "error"
RECORD_COLUMNS = ("user_id", "kind", "seq", "record")

SCORE_EXTRA = ("error_message", "error_field")
SCORE_COLUMNS = (*COLUMN_NAMES, *SCORE_EXTRA)
# Result-row kinds as Spark types; timestamps stay ISO strings (what the results store reads).
_SPARK_TYPES = {"str": "string", "float": "double", "bool": "boolean", "datetime": "string"}
SCORE_SCHEMA = ", ".join(
    [f"{name} {_SPARK_TYPES[kind]}" for name, kind in RESULT_COLUMNS]
    + [f"{name} string" for name in SCORE_EXTRA]
)
FEATURE_KEYS = ("user_id", c.BUDGET_ID, c.ITEM_ID, c.LABEL)
FEATURE_COLUMNS = (*FEATURE_KEYS, *FEATURE_NAMES)
FEATURE_SCHEMA = ", ".join(
    [
        "user_id string",
        f"{c.BUDGET_ID} string",
        f"{c.ITEM_ID} string",
        f"{c.LABEL} long",
        *(f"{name} double" for name in FEATURE_NAMES),
    ]
)

_models: dict[tuple[str, str | None], predict.LoadedModel | predict.ModelUnavailable] = {}


@dataclass(frozen=True)
class ScoreRun:
    """What a scoring run stamps on its rows: run id, model location and the time of scoring."""

    run_id: str
    model_dir: str  # a path, or the name of a directory shipped with SparkContext.addFile
    form: str | None = None
    scored_at: str | None = None  # ISO UTC; None = now
    scored_at_item_date: bool = False  # use the line item's date when it has one
    shipped: bool = False  # model_dir names a directory shipped to the executors

    def model_path(self) -> str:
        """Where this process finds the model."""
        if not self.shipped:
            return self.model_dir
        from pyspark import SparkFiles

        return SparkFiles.get(self.model_dir)


def cached_model(model_dir: str, form: str | None = None) -> predict.LoadedModel:
    """The model of `model_dir`, loaded once per process; a load failure is remembered."""
    key = (model_dir, form)
    if key not in _models:
        try:
            _models[key] = predict.load_model(Path(model_dir), form)
        except predict.ModelUnavailable as error:
            _models[key] = error
    loaded = _models[key]
    if isinstance(loaded, predict.ModelUnavailable):
        raise loaded
    return loaded


def users_payload(records: pd.DataFrame) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Records of some users → a batch payload (users sorted by id) and read-error items."""
    ordered = records.sort_values(["user_id", "seq"], kind="stable")
    users: dict[str, dict[str, Any]] = {}
    read_errors: list[dict[str, Any]] = []
    for user_id, kind, record in zip(
        ordered["user_id"], ordered["kind"], ordered["record"], strict=True
    ):
        if kind == READ_ERROR:
            read_errors.append(json.loads(record))
            continue
        user = users.setdefault(
            user_id, {c.USER_ID_KEY: user_id, c.BUDGETS_KEY: [], c.LINE_ITEMS_KEY: []}
        )
        user[c.BUDGETS_KEY if kind == BUDGET else c.LINE_ITEMS_KEY].append(json.loads(record))
    return {c.USERS_KEY: list(users.values())}, read_errors


def score_records(records: pd.DataFrame, run: ScoreRun) -> pd.DataFrame:
    """Score the users of `records` with the Lambda's scoring path; one row per response item."""
    payload, read_errors = users_payload(records)
    try:
        model: predict.LoadedModel | None = cached_model(run.model_path(), run.form)
        unavailable = None
    except predict.ModelUnavailable as error:
        model, unavailable = None, error
    scored = score_payload(payload, model, unavailable)
    scored_at = run.scored_at or to_iso(datetime.now(UTC))
    outcome = ScoringOutcome(
        run.run_id,
        datetime.fromisoformat(scored_at),
        0.0,
        model.version if model else None,
        model.threshold if model else None,
        scored.items + read_errors,
        scored.batch.pairs,
        scored.features,
        scored.batch.n_users,
        0,
        "batch",
    )
    return pd.DataFrame(result_rows(outcome, run.scored_at_item_date), columns=SCORE_COLUMNS)


def result_rows(outcome: ScoringOutcome, scored_at_item_date: bool) -> list[dict[str, Any]]:
    """The results-store rows of `outcome` (the runtime's own `rows_from_outcome`), plus the
    error message and field, plus rows for error items that name no pair."""
    stored = iter(rows_from_outcome(outcome))
    template: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    template.update(
        request_id=outcome.request_id,
        scored_at=to_iso(outcome.received_at),
        model_version=outcome.model_version,
        threshold=outcome.threshold,
    )
    rows = []
    for item in outcome.items:
        has_pair = item.get(c.BUDGET_ID) is not None and item.get(c.ITEM_ID) is not None
        row = next(stored) if has_pair else {**template, "user_id": item.get(c.USER_ID_KEY)}
        error = item.get("error") or {}
        row.update(
            error_code=error.get("code"),
            error_message=error.get("message"),
            error_field=error.get("field"),
        )
        if scored_at_item_date and row.get("item_date"):
            row["scored_at"] = row["item_date"]
        rows.append(row)
    return rows


def feature_records(records: pd.DataFrame) -> pd.DataFrame:
    """Labelled records of some users → one row per candidate pair: ids, label, features.

    Goes through `bem.model.dataset` (the same path as `bem train --data`); labels come from
    the line-item records' `is_match` and `budget_id` (the training-file layout).
    """
    rows: list[Row] = []
    ordered = records.sort_values(["user_id", "seq"], kind="stable")
    for user_id, record in zip(ordered["user_id"], ordered["record"], strict=True):
        row = json.loads(record)
        row[c.USER_ID_KEY] = user_id
        rows.append(row)
    dataset = build_dataset(group_rows(rows))
    frame = pd.DataFrame(
        np.asarray(dataset.features, dtype=np.float64).reshape(len(dataset), len(FEATURE_NAMES)),
        columns=list(FEATURE_NAMES),
    )
    frame.insert(0, c.LABEL, dataset.labels.astype(np.int64))
    frame.insert(0, c.ITEM_ID, dataset.itemization_ids)
    frame.insert(0, c.BUDGET_ID, dataset.budget_ids)
    frame.insert(0, "user_id", [str(u) for u in dataset.users])
    return frame


def payload_records(lines: pd.DataFrame) -> pd.DataFrame:
    """JSON lines of request payloads (`line`, `value`) → records (RECORD_COLUMNS).

    A line holds one user's payload or a batch (`{"users": [...]}` / a list). Users without a
    `user_id` are named `line<N>` (or `line<N>.<k>` inside a batch); a line that is no JSON, or
    a user that is no object, becomes a read-error item rather than stopping the job.
    """
    out: list[tuple[str, str, int, str]] = []
    for line_no, text in zip(lines["line"], lines["value"], strict=True):
        seq = int(line_no) << 20
        try:
            document = json.loads(text)
        except ValueError as error:
            item = c.error_item("invalid_json", f"line {line_no}: {error}")
            out.append((f"line{line_no}", READ_ERROR, seq, json.dumps(item)))
            continue
        batch = document.get(c.USERS_KEY) if isinstance(document, dict) else document
        users = batch if isinstance(batch, list) else [document]
        for k, user in enumerate(users):
            name = f"line{line_no}" if len(users) == 1 else f"line{line_no}.{k}"
            if not isinstance(user, dict):
                item = c.error_item("invalid_payload", f"{name} is not a JSON object")
                out.append((name, READ_ERROR, seq, json.dumps(item)))
                continue
            user_id = user.get(c.USER_ID_KEY)
            user_id = str(user_id) if user_id is not None else name
            for kind, key in ((BUDGET, c.BUDGETS_KEY), (ITEM, c.LINE_ITEMS_KEY)):
                entries = user.get(key)
                for position, entry in enumerate(entries if isinstance(entries, list) else []):
                    out.append((user_id, kind, seq + position, json.dumps(entry)))
    return pd.DataFrame(out, columns=list(RECORD_COLUMNS))
