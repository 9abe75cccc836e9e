"""The batch worker without Spark, the code zip, inputs and the command table."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import lambda_handler
from bem.batch import worker
from bem.batch.codezip import build_code_zip
from bem.batch.testing import user_payloads, user_tables
from bem.cli import main
from bem.synth.knobs import SynthConfig
from bem.synth.users import SynthUser, generate_users
from budget_matcher import contract as c
from budget_matcher import result_rows
from tests.batch.parity import assert_same
from tests.conftest import REPO_ROOT


def _records(budgets: pd.DataFrame, items: pd.DataFrame) -> pa.Table:
    rows = []
    for kind, table in ((worker.BUDGET, budgets), (worker.ITEM, items)):
        for record in table.to_dict("records"):
            user, seq = record.pop(c.USER_ID_KEY), record.pop("seq")
            fields = {k: v for k, v in record.items() if v is not None}
            rows.append((user, kind, seq, json.dumps(fields)))
    return pa.table(list(zip(*rows, strict=True)), names=list(worker.RECORD_COLUMNS))


def test_score_records_gives_the_handler_items(small_users: list[SynthUser]) -> None:
    budgets, items = user_tables(small_users[:15])
    budgets.loc[0, c.BUDGET_PRICE] = "twelve"
    expected = lambda_handler.answer(user_payloads(budgets, items), None)

    table = worker.score_records(_records(budgets, items), worker.ScoreRun("r1", "model"))
    version = json.loads((REPO_ROOT / "model" / "model.json").read_text())["version"]

    assert table.schema == worker.SCORE_ARROW
    got = table.to_pylist()
    assert len(got) == len(expected)
    by_key = {(r["budget_id"], r["itemization_id"], r["error_code"]): r for r in got}
    for item in expected:
        code = (item.get("error") or {}).get("code")
        row = by_key[(item["budget_id"], item["itemization_id"], code)]
        assert row["score"] == item["score"] and row["matched"] == item["matched"]
        assert row["request_id"] == "r1" and row["model_version"] == version
    assert {r["error_code"] for r in got} == {None, "invalid_amount"}


def test_rows_without_inputs_carry_the_same_scores_and_dates(
    small_users: list[SynthUser],
) -> None:
    budgets, items = user_tables(small_users[:4])
    records = _records(budgets, items)
    at = "2030-01-01T00:00:00"
    full = worker.score_records(
        records, worker.ScoreRun("r7", "model", scored_at=at, scored_at_item_date=True)
    )
    lean = worker.score_records(
        records,
        worker.ScoreRun("r7", "model", scored_at=at, scored_at_item_date=True, with_inputs=False),
    )

    assert lean.schema == worker.score_arrow(with_inputs=False)
    assert not set(lean.column_names) & set(result_rows.INPUT_COLUMN_NAMES)
    assert lean.to_pylist() == full.select(lean.column_names).to_pylist()
    assert any(r["scored_at"] != "2030-01-01T00:00:00" for r in lean.to_pylist())


def test_a_bucket_past_lambdas_answer_bound_is_scored_whole() -> None:
    users = list(generate_users(SynthConfig(users=300, seed=5)))
    budgets, items = user_tables(users)
    n_pairs = sum(len(u.budgets) * len(u.items) for u in users)
    as_served = lambda_handler.answer(user_payloads(budgets, items), None)
    refused = [i for i in as_served if (i.get("error") or {}).get("code") == "answer_too_large"]
    assert refused  # one Lambda call cannot answer all of these users

    rows = worker.score_records(_records(budgets, items), worker.ScoreRun("r5", "model"))

    assert rows.num_rows == n_pairs
    assert rows.column("score").null_count == 0


def test_a_user_over_the_batch_bound_gets_one_too_many_pairs_row(
    small_users: list[SynthUser],
) -> None:
    budgets, items = user_tables(small_users[:2])
    first, other = sorted(small_users[:2], key=lambda u: -len(u.budgets) * len(u.items))
    bound = len(first.budgets) * len(first.items) - 1
    assert len(other.budgets) * len(other.items) <= bound  # only the larger user is over
    run = worker.ScoreRun("r6", "model", max_pairs_per_user=bound)

    rows = worker.score_records(_records(budgets, items), run).to_pylist()

    refused = [r for r in rows if r["error_code"] == "too_many_pairs"]
    assert [r["user_id"] for r in refused] == [first.user_id]
    assert not any(r["user_id"] == first.user_id and r["score"] is not None for r in rows)


def test_score_records_dates_rows_by_item_date_when_asked(small_users: list[SynthUser]) -> None:
    budgets, items = user_tables(small_users[:3])
    run = worker.ScoreRun("r2", "model", scored_at="2030-01-01T00:00:00", scored_at_item_date=True)

    rows = worker.score_records(_records(budgets, items), run).to_pylist()

    assert all(r["scored_at"] == r["item_date"] for r in rows if r["item_date"])


def test_score_records_without_a_model_answers_every_pair_with_its_error(
    small_users: list[SynthUser], tmp_path: Path
) -> None:
    budgets, items = user_tables(small_users[:2])

    rows = worker.score_records(
        _records(budgets, items), worker.ScoreRun("r3", str(tmp_path))
    ).to_pylist()

    assert rows and {r["error_code"] for r in rows} == {"model_missing"}
    assert all(r["score"] is None and r["model_version"] is None for r in rows)


def test_code_zip_holds_the_runtime_and_the_worker(tmp_path: Path) -> None:
    archive = build_code_zip(tmp_path / "code.zip")

    names = set(zipfile.ZipFile(archive).namelist())

    assert {"predict.py", "flattened_data_points.py", "bem/batch/worker.py"} <= names
    assert "budget_matcher/scoring.py" in names and "bem/model/dataset.py" in names
    assert not any(n.startswith(("bem/deploy", "bem/monitor", "tests/")) for n in names)
    assert build_code_zip(tmp_path / "again.zip").read_bytes() == archive.read_bytes()


def test_bem_help_lists_batch_and_score_needs_inputs() -> None:
    runner = CliRunner()
    assert "batch" in runner.invoke(main, ["--help"]).output
    result = runner.invoke(main, ["batch", "score", "--out", "x"])
    assert result.exit_code == 2 and "--budgets and --items" in result.output


def test_score_rows_keep_their_answer_position_into_the_store(
    small_users: list[SynthUser], tmp_path: Path
) -> None:
    """`pair_index` follows the handler's answer order and survives `bem monitor ingest-scores`;
    scores Parquet of an older version (no such column) loads with no position."""
    budgets, items = user_tables(small_users[:4])
    expected = lambda_handler.answer(user_payloads(budgets, items), None)
    table = worker.score_records(_records(budgets, items), worker.ScoreRun("r-new", "model"))

    rows = table.to_pylist()
    assert [r["pair_index"] for r in rows] == list(range(len(rows)))
    ordered = [(r["budget_id"], r["itemization_id"]) for r in rows]
    assert ordered == [(i["budget_id"], i["itemization_id"]) for i in expected]

    pq.write_table(table, tmp_path / "new.parquet")
    old = table.drop_columns(["pair_index"])
    old = old.set_column(
        old.schema.get_field_index("request_id"), "request_id", pa.array(["r-old"] * len(old))
    )
    pq.write_table(old, tmp_path / "old.parquet")
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    result = CliRunner().invoke(main, ["monitor", "ingest-scores", str(tmp_path), "--db", db_url])
    assert result.exit_code == 0, result.output
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT request_id, budget_id, itemization_id, pair_index FROM scored_results")
        ).all()
    engine.dispose()
    position = {(r["budget_id"], r["itemization_id"]): r["pair_index"] for r in rows}
    assert {(b, i): p for run, b, i, p in stored if run == "r-new"} == position
    assert {p for run, _, _, p in stored if run == "r-old"} == {None}


def test_score_records_scores_a_bucket_in_chunks_of_whole_users(
    small_users: list[SynthUser], monkeypatch: pytest.MonkeyPatch
) -> None:
    budgets, items = user_tables(small_users[:12])
    budgets.loc[0, c.BUDGET_PRICE] = "twelve"
    expected = lambda_handler.answer(user_payloads(budgets, items), None)
    monkeypatch.setattr(worker, "CHUNK_PAIRS", 500)
    users = user_payloads(budgets, items)[c.USERS_KEY]

    chunks = worker.user_chunks(users, worker.CHUNK_PAIRS)
    table = worker.score_records(_records(budgets, items), worker.ScoreRun("r8", "model"))

    assert len(chunks) > 2 and [u for chunk in chunks for u in chunk] == users
    assert_same(expected, table.to_pandas())
