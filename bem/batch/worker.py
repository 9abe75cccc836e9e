"""What runs inside a Spark Python worker: records of a bucket of users → scores or features.

Arrow tables in and out (`applyInArrow`: no pandas conversion on the way) around the
runtime's own code (`budget_matcher.scoring`, `predict.load_model`, `bem.model.dataset`);
Spark only groups the records and moves the tables. The model is loaded once per worker
process and kept in this importable module (a function defined in `__main__` would be
pickled by value and lose its cache).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import predict
from bem.batch import BATCH_MAX_PAIRS_PER_USER
from bem.model.dataset import Row, build_dataset, group_rows
from budget_matcher import config
from budget_matcher import contract as c
from budget_matcher.features import FEATURE_NAMES
from budget_matcher.result_rows import (
    INPUT_COLUMN_NAMES,
    RESULT_COLUMNS,
    record_input_columns,
    to_iso,
)
from budget_matcher.scoring import ScoredPayload, score_payload

NLTK_DATA_NAME = "nltk_data"  # the name SparkFiles knows the shipped stopwords directory by
# Record kinds in the records frame: a budget or a line item.
BUDGET, ITEM = "budget", "item"
RECORD_COLUMNS = ("user_id", "kind", "seq", "record")

SCORE_EXTRA = ("error_message", "error_field")
# Result-row kinds as Arrow types; timestamps stay ISO strings (what the results store reads).
_ARROW_TYPES = {
    "str": pa.string(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "datetime": pa.string(),
    "int": pa.int64(),
}
SCORE_ARROW = pa.schema(
    [(name, _ARROW_TYPES[kind]) for name, kind in RESULT_COLUMNS]
    + [(name, pa.string()) for name in SCORE_EXTRA]
)
# Without the pairs' inputs (`ScoreRun.with_inputs` False): ids, scores, decisions, errors.
SCORE_ARROW_LEAN = pa.schema([f for f in SCORE_ARROW if f.name not in INPUT_COLUMN_NAMES])
_SPARK_TYPES = {
    pa.string(): "string",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    pa.int64(): "bigint",
}


def score_arrow(with_inputs: bool = True) -> pa.Schema:
    """The scores' Arrow schema, with or without the pairs' input columns."""
    return SCORE_ARROW if with_inputs else SCORE_ARROW_LEAN


def score_schema(with_inputs: bool = True) -> str:
    """The same schema as Spark's DDL string (what `applyInArrow` is told to expect)."""
    return ", ".join(f"{f.name} {_SPARK_TYPES[f.type]}" for f in score_arrow(with_inputs))


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

# A batch job returns no answer, so Lambda's 6 MB bound does not apply.
NO_ANSWER_BOUND = 1 << 62
# Pairs scored per call: enough to vectorise, few enough to stay in cache and bound memory.
CHUNK_PAIRS = 50_000

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
    max_pairs_per_user: int = BATCH_MAX_PAIRS_PER_USER  # more: one `too_many_pairs` row
    with_inputs: bool = True  # copy each pair's budget and item fields into its row

    def model_path(self) -> str:
        """Where this process finds the model."""
        if not self.shipped:
            return self.model_dir
        from pyspark import SparkFiles

        return SparkFiles.get(self.model_dir)


def use_shipped_nltk_data() -> None:
    """Point the runtime at the nltk_data shipped with the code (`jobs.ship_code`) when no
    BEM_NLTK_DATA is set and the default beside the code is missing (code run from a zip)."""
    if os.environ.get(config.ENV_NLTK_DATA) or config.DEFAULT_NLTK_DATA.is_dir():
        return
    try:
        from pyspark import SparkFiles

        shipped = Path(SparkFiles.get(NLTK_DATA_NAME))
    except Exception:  # not inside Spark: leave the default and its clear error
        return
    if shipped.is_dir():
        os.environ[config.ENV_NLTK_DATA] = str(shipped)


def cached_model(model_dir: str, form: str | None = None) -> predict.LoadedModel:
    """The model of `model_dir`, loaded once per process; a load failure is remembered."""
    use_shipped_nltk_data()
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


def ordered_records(records: pa.Table) -> list[tuple[str, str, str]]:
    """(user_id, kind, record JSON) sorted by user, then by each record's `seq`."""
    ordered = records.sort_by([("user_id", "ascending"), ("seq", "ascending")])
    columns = [ordered.column(name).to_pylist() for name in ("user_id", "kind", "record")]
    return list(zip(*columns, strict=True))


def users_payload(records: pa.Table) -> dict[str, Any]:
    """Records of some users → a batch payload (users sorted by id)."""
    users: dict[str, dict[str, Any]] = {}
    for user_id, kind, record in ordered_records(records):
        user = users.setdefault(
            user_id, {c.USER_ID_KEY: user_id, c.BUDGETS_KEY: [], c.LINE_ITEMS_KEY: []}
        )
        user[c.BUDGETS_KEY if kind == BUDGET else c.LINE_ITEMS_KEY].append(json.loads(record))
    return {c.USERS_KEY: list(users.values())}


def score_records(records: pa.Table, run: ScoreRun) -> pa.Table:
    """Score the users of `records` with the Lambda's scoring path; one row per response item."""
    model, unavailable, stamp = run_model(run)
    tables = [
        result_table(
            score_payload(
                {c.USERS_KEY: users},
                model,
                unavailable,
                run.max_pairs_per_user,
                answer_bytes=NO_ANSWER_BOUND,
            ),
            stamp,
            run.with_inputs,
        )
        for users in user_chunks(users_payload(records)[c.USERS_KEY], CHUNK_PAIRS)
    ]
    return pa.concat_tables(tables)


def user_chunks(
    users: list[dict[str, Any]], pairs: int = CHUNK_PAIRS
) -> list[list[dict[str, Any]]]:
    """The users in order, in runs of about `pairs` candidate pairs (a user is never split;
    at least one run, maybe empty): a bucket of any size is scored in calls that stay in cache
    and bound the worker's memory."""
    chunks: list[list[dict[str, Any]]] = [[]]
    size = 0
    for user in users:
        if size >= pairs:
            chunks.append([])
            size = 0
        chunks[-1].append(user)
        size += len(user[c.BUDGETS_KEY]) * len(user[c.LINE_ITEMS_KEY])
    return chunks


def run_model(
    run: ScoreRun,
) -> tuple[predict.LoadedModel | None, predict.ModelUnavailable | None, ScoreStamp]:
    """The run's model in this process (or why there is none) and the stamp its rows carry."""
    try:
        model: predict.LoadedModel | None = cached_model(run.model_path(), run.form)
        unavailable = None
    except predict.ModelUnavailable as error:
        model, unavailable = None, error
    stamp = ScoreStamp(
        run.run_id,
        run.scored_at or to_iso(datetime.now(UTC)),
        model.version if model else None,
        model.threshold if model else None,
        run.scored_at_item_date,
    )
    return model, unavailable, stamp


@dataclass(frozen=True)
class ScoreStamp:
    """The values every row of a run shares."""

    run_id: str
    scored_at: str
    model_version: str | None
    threshold: float | None
    scored_at_item_date: bool = False


def result_table(scored: ScoredPayload, stamp: ScoreStamp, with_inputs: bool = True) -> pa.Table:
    """Response items → result rows (the results store's columns, plus error
    message and field), column by column. The first len(pairs) items are the pairs, in pair
    order: their ids, scores and decisions come from the scored arrays (the items' own values,
    without reading 10^6 dicts) and their records' inputs (`record_input_columns`) by index;
    the rest carry none (`with_inputs` False: no input columns at all). `pair_index` is each
    item's position in the answer (one call's answer: a user's pairs are in order)."""
    pairs = scored.batch.pairs
    n_pairs = len(pairs)
    if scored.scores is not None and scored.matched is not None:
        rest = _item_columns(scored.error_items)
        n = n_pairs + len(scored.error_items)
        budget_at, item_at = pa.array(pairs.budget_index), pa.array(pairs.item_index)
        head = {
            "budget_id": pa.array(pairs.budgets.ids, pa.string()).take(budget_at),
            "itemization_id": pa.array(pairs.items.ids, pa.string()).take(item_at),
            "score": pa.array(np.round(scored.scores, 6), pa.float64()),
            "matched": pa.array(scored.matched, pa.bool_()),
            "user_id": pa.array(pairs.budgets.users, pa.string()).take(budget_at),
        }
        columns = {
            name: pa.concat_arrays([head[name], values])
            if name in head
            else pa.concat_arrays([pa.nulls(n_pairs, values.type), values])
            for name, values in rest.items()
        }
    else:
        items = scored.items
        n, columns = len(items), _item_columns(items)
    columns["pair_index"] = pa.array(range(n), pa.int64())
    for table, kind, index in (
        (pairs.budgets, "budget", pairs.budget_index),
        (pairs.items, "item", pairs.item_index),
    ):
        if not with_inputs and not (kind == "item" and stamp.scored_at_item_date):
            continue  # the item's date is read only to date the rows
        positions = pa.array(index, pa.int64())
        for name, values in record_input_columns(table, kind).items():
            typed = pa.array(values, SCORE_ARROW.field(name).type).take(positions)
            columns[name] = pa.concat_arrays([typed, pa.nulls(n - n_pairs, typed.type)])
    scored_at = pa.repeat(pa.scalar(stamp.scored_at, pa.string()), n)
    if stamp.scored_at_item_date and "item_date" in columns:
        scored_at = pc.coalesce(columns["item_date"], scored_at)
    columns["scored_at"] = scored_at
    constants = {
        "request_id": stamp.run_id,
        "model_version": stamp.model_version,
        "threshold": stamp.threshold,
    }
    for name, value in constants.items():
        columns[name] = pa.repeat(pa.scalar(value, SCORE_ARROW.field(name).type), n)
    schema = score_arrow(with_inputs)
    return pa.table([columns[f.name] for f in schema], schema=schema)


def _item_columns(items: list[dict[str, Any]]) -> dict[str, pa.Array]:
    """The per-item columns of response items read one by one (error items, or every item
    when nothing was scored)."""
    errors = [item.get("error") or {} for item in items]
    return {
        "budget_id": pa.array([item.get(c.BUDGET_ID) for item in items], pa.string()),
        "itemization_id": pa.array([item.get(c.ITEM_ID) for item in items], pa.string()),
        "score": pa.array([item.get("score") for item in items], pa.float64()),
        "matched": pa.array([item.get("matched") for item in items], pa.bool_()),
        "user_id": pa.array([item.get(c.USER_ID_KEY) for item in items], pa.string()),
        "error_code": pa.array([e.get("code") for e in errors], pa.string()),
        "error_message": pa.array([e.get("message") for e in errors], pa.string()),
        "error_field": pa.array([e.get("field") for e in errors], pa.string()),
    }


def feature_records(records: pa.Table) -> pa.Table:
    """Labelled records of some users → one row per candidate pair: ids, label, features.

    Goes through `bem.model.dataset` (the same path as `bem train --data`): the records are
    the training file's rows (seed fields of a budget and a line item, `is_match`).
    """
    rows: list[Row] = []
    for user_id, _, record in ordered_records(records):
        row = json.loads(record)
        row[c.USER_ID_KEY] = user_id
        rows.append(row)
    dataset = build_dataset(group_rows(rows))
    features = np.asarray(dataset.features, dtype=np.float64).reshape(-1, len(FEATURE_NAMES))
    arrays = [
        pa.array([str(u) for u in dataset.users], type=pa.string()),
        pa.array(dataset.budget_ids, type=pa.string()),
        pa.array(dataset.itemization_ids, type=pa.string()),
        pa.array(dataset.labels.astype(np.int64), type=pa.int64()),
        *(pa.array(features[:, k], type=pa.float64()) for k in range(len(FEATURE_NAMES))),
    ]
    return pa.table(arrays, names=list(FEATURE_COLUMNS))
