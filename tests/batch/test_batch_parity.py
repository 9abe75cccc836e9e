"""Spark scores == the handler's scores, for the same users, whatever the partitioning."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import lambda_handler
from bem.batch import entry, jobs, worker
from bem.batch.testing import user_payloads, user_tables, write_tables
from bem.synth.users import SynthUser
from budget_matcher import contract as c

pytestmark = pytest.mark.slow

TOLERANCE = 1e-9


def _damaged(users: list[SynthUser]) -> list[SynthUser]:
    """The users, with unreadable values, duplicate ids and a user without line items."""
    users = copy.deepcopy(users[:40])
    users[0].budgets[0][c.BUDGET_PRICE] = "a lot"
    users[1].items[0][c.ITEM_DATE] = "next tuesday"
    users[2].items.append(dict(users[2].items[0], **{c.ITEM_AMOUNT: "99.0"}))  # duplicate id
    users[3].budgets[0][c.BUDGET_ID] = None  # a budget without an id
    users[4].items = []
    users[5].budgets[1][c.BUDGET_TRIP_START] = "2017-13-45 99:00"
    return users


def _key(item: dict[str, Any]) -> tuple[str, str, str, str]:
    error = item.get("error") or {}
    return (
        str(item.get(c.USER_ID_KEY)),
        str(item.get(c.BUDGET_ID)),
        str(item.get(c.ITEM_ID)),
        str(error.get("code")),
    )


def _spark_items(frame: pd.DataFrame) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    items = {}
    for row in frame.to_dict("records"):
        item = {
            c.USER_ID_KEY: row["user_id"],
            c.BUDGET_ID: row["budget_id"],
            c.ITEM_ID: row["itemization_id"],
            "score": None if pd.isna(row["score"]) else row["score"],
            "matched": None if pd.isna(row["matched"]) else bool(row["matched"]),
        }
        if row["error_code"] is not None:
            item["error"] = {"code": row["error_code"], "field": row["error_field"]}
        items[_key(item)] = item
    return items


def _assert_same(handler_items: list[dict[str, Any]], spark_frame: pd.DataFrame) -> None:
    expected = {_key(item): item for item in handler_items}
    got = _spark_items(spark_frame)
    assert len(expected) == len(handler_items), "handler keys must be unique for the comparison"
    assert set(got) == set(expected)
    assert len(spark_frame) == len(handler_items)
    worst = 0.0
    for key, item in expected.items():
        other = got[key]
        assert other["matched"] == item["matched"], key
        if item["score"] is None:
            assert other["score"] is None, key
        else:
            worst = max(worst, abs(other["score"] - item["score"]))
        assert (other.get("error") or {}).get("field") == (item.get("error") or {}).get("field")
    assert worst <= TOLERANCE


@pytest.fixture(scope="module")
def damaged_tables(small_users: list[SynthUser]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return user_tables(_damaged(small_users))


def test_batch_score_equals_handler_across_partitions(
    spark: Any, damaged_tables: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    budgets, items = damaged_tables
    budgets_path, items_path = write_tables(budgets, items, tmp_path, files=3)
    handler_items = lambda_handler.answer(user_payloads(budgets, items), None)
    assert any("error" in item for item in handler_items)
    inputs = jobs.JobInputs(budgets=str(budgets_path), items=str(items_path))
    run = worker.ScoreRun("batch-parity", str(Path("model").resolve()))

    report = jobs.run_score(spark, inputs, "model", str(tmp_path / "scores"), run, buckets=5)

    frame = pd.read_parquet(tmp_path / "scores")
    assert spark.read.parquet(str(tmp_path / "scores")).rdd.getNumPartitions() >= 1
    assert report.rows == len(handler_items)
    assert report.errors == sum(1 for item in handler_items if "error" in item)
    assert set(frame["request_id"]) == {"batch-parity"}
    card = json.loads((Path("model") / "model.json").read_text())
    assert set(frame["model_version"].dropna()) == {card["version"]}
    _assert_same(handler_items, frame)


def test_batch_records_of_one_user_span_input_partitions(
    spark: Any, damaged_tables: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    """The premise of the parity test: users' records arrive in several input partitions."""
    from pyspark.sql import functions as F

    budgets_path, items_path = write_tables(*damaged_tables, tmp_path, files=3)
    records = jobs.read_records(
        spark, jobs.JobInputs(budgets=str(budgets_path), items=str(items_path))
    )
    spread = (
        records.withColumn("partition", F.spark_partition_id())
        .groupBy("user_id")
        .agg(F.countDistinct("partition").alias("partitions"))
    )
    assert spread.filter("partitions > 1").count() >= 30


def test_batch_score_request_lines_equal_handler(
    spark: Any, damaged_tables: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    budgets, items = damaged_tables
    payload = user_payloads(budgets, items)
    lines = [json.dumps(user) for user in payload[c.USERS_KEY]]
    lines.insert(3, "{not json")
    (tmp_path / "requests.jsonl").write_text("\n".join(lines) + "\n")
    handler_items = lambda_handler.answer(payload, None)
    run = worker.ScoreRun("batch-lines", "model")

    jobs.run_score(
        spark,
        jobs.JobInputs(requests=str(tmp_path / "requests.jsonl")),
        "model",
        str(tmp_path / "scores"),
        run,
        buckets=3,
    )

    frame = pd.read_parquet(tmp_path / "scores")
    unreadable = frame[frame["error_code"] == "invalid_json"]
    assert len(unreadable) == 1
    _assert_same(handler_items, frame.drop(index=unreadable.index))


def test_the_cluster_entry_script_scores_without_inputs_in_the_lean_form(
    spark: Any,
    damaged_tables: tuple[pd.DataFrame, pd.DataFrame],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    budgets, items = damaged_tables
    budgets_path, items_path = write_tables(budgets, items, tmp_path, files=2)
    handler_items = lambda_handler.answer(user_payloads(budgets, items), None)
    arguments = ["score", "--budgets", str(budgets_path), "--items", str(items_path)]
    arguments += ["--model", str(Path("model").resolve()), "--out", str(tmp_path / "lean")]
    arguments += ["--master", "local[2]", "--form", "lean", "--no-inputs", "--buckets", "3"]

    assert entry.main(arguments) == 0

    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    frame = pd.read_parquet(tmp_path / "lean")
    assert report["rows"] == len(handler_items) == len(frame)
    assert list(frame.columns) == worker.score_arrow(with_inputs=False).names
    _assert_same(handler_items, frame)
