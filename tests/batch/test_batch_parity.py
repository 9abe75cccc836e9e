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
from tests.batch.parity import assert_same, handler_line_items

pytestmark = pytest.mark.slow


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
    assert_same(handler_items, frame)


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


def test_batch_score_request_lines_equal_the_handler_line_by_line(
    spark: Any, damaged_tables: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    """Every line is answered as the handler answers it: the structural probes, unreadable and
    deeply nested lines as error rows, and users of different lines never merged."""
    budgets, items = damaged_tables
    users = user_payloads(budgets, items)[c.USERS_KEY]
    lines = [json.dumps(user) for user in users]
    lines.insert(3, "{not json")
    lines.insert(5, "[" * 100_000)
    lines += [json.dumps({c.USERS_KEY: users[6:9]}), json.dumps(users[0])]
    lines += [
        json.dumps({**users[1], c.USER_ID_KEY: 17}),
        json.dumps({**users[2], "user_id": "17"}),
    ]
    lines += [
        json.dumps({c.USER_ID_KEY: "n1"}),
        json.dumps({c.USER_ID_KEY: "s1", c.BUDGETS_KEY: "abc", c.LINE_ITEMS_KEY: []}),
        json.dumps({c.USERS_KEY: "abc"}),
        json.dumps({**users[3], c.USER_ID_KEY: True}),
    ]
    (tmp_path / "requests.jsonl").write_text("\n".join(lines) + "\n")
    run = worker.ScoreRun("batch-lines", "model")

    jobs.run_score(
        spark,
        jobs.JobInputs(requests=str(tmp_path / "requests.jsonl")),
        "model",
        str(tmp_path / "scores"),
        run,
    )

    frame = pd.read_parquet(tmp_path / "scores")
    assert_same(handler_line_items(lines), frame)
    codes = frame["error_code"].value_counts().to_dict()
    assert codes["invalid_json"] == 2 and codes["missing_field"] == 1
    assert codes["invalid_payload"] == 1 and codes["invalid_type"] >= 2


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
    assert_same(handler_items, frame)
