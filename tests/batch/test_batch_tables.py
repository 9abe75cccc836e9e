"""Tables read on Spark as the laptop reads them: CSV as RFC 4180 (quotes doubled, quoted
newlines, sniffed encoding and delimiter) and typed Parquet, scored as the handler scores them."""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lambda_handler
from bem.batch import jobs, tables, worker
from bem.batch.testing import user_payloads, user_tables
from bem.synth.users import SynthUser
from budget_matcher import contract as c
from tests.batch.parity import assert_same

# Values standard CSV quotes and Spark's defaults misread (each from a real misreading).
TRICKY_USER = 'acme, inc "eu"'
TRICKY_VENDORS = ('SWA "EARLYBIRD"', 'A\\"B, "C"', "DELTA\nAIR LINES", "UBER\r\nTRIP", "Café")


def _tricky(users: list[SynthUser]) -> list[SynthUser]:
    users = copy.deepcopy(users[:30])
    users[0].user_id = TRICKY_USER
    for k, vendor in enumerate(TRICKY_VENDORS):
        users[k + 1].items[0][c.ITEM_VENDOR] = vendor
        users[k + 1].budgets[0][c.BUDGET_TRAVEL_VENDOR] = vendor
    users[7].budgets[0][c.BUDGET_PRICE] = "a lot"
    return users


def _write_csv(frame: pd.DataFrame, path: Path, encoding: str, delimiter: str) -> None:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(frame.columns)
        writer.writerows(frame.itertuples(index=False))


def test_csv_layout_sniffs_encoding_and_delimiter_as_bem_data_does() -> None:
    header = "user_id;budget_id;travel_vendor_receipts\r\n"
    assert tables.csv_layout((header + "u;b;Café\r\n").encode("cp1252")) == ("windows-1252", ";")
    assert tables.csv_layout(("\ufeff" + header.replace(";", ",")).encode()) == ("UTF-8", ",")
    assert tables.csv_layout(b"user_id\n") == ("UTF-8", ",")
    options = tables.csv_options("UTF-8", "|")
    assert (options["escape"], options["quote"], options["multiLine"]) == ('"', '"', "true")


def test_input_format_follows_the_suffix() -> None:
    assert tables.input_format("s3://b/budgets.csv") == "csv"
    assert tables.input_format("x/requests.jsonl") == "json"
    assert tables.input_format("s3://b/items/") == "parquet"
    assert tables.input_format("x.csv", "parquet") == "parquet"


@pytest.mark.slow
def test_batch_score_reads_standard_csv_as_the_handler_receives_it(
    spark: Any, small_users: list[SynthUser], tmp_path: Path
) -> None:
    budgets, items = user_tables(_tricky(small_users))
    _write_csv(budgets, tmp_path / "budgets.csv", "cp1252", ";")
    _write_csv(items, tmp_path / "items.csv", "utf-8-sig", ",")
    handler_items = lambda_handler.answer(user_payloads(budgets, items), None)
    inputs = jobs.JobInputs(
        budgets=str(tmp_path / "budgets.csv"), items=str(tmp_path / "items.csv")
    )
    run = worker.ScoreRun("batch-csv", "model")

    jobs.run_score(spark, inputs, "model", str(tmp_path / "scores"), run, buckets=3)

    frame = pd.read_parquet(tmp_path / "scores")
    assert_same(handler_items, frame)
    assert TRICKY_USER in set(frame["user_id"])
    # Spark's CSV reader (univocity, multiLine) turns CR LF inside a quoted value into LF.
    kept = {v.replace("\r\n", "\n") for v in TRICKY_VENDORS}
    assert kept <= set(frame["item_vendor"]) | set(frame["travel_vendor"])


def _typed(
    frame: pd.DataFrame, numbers: tuple[str, ...], dates: dict[str, str | None]
) -> pd.DataFrame:
    """The table with numbers as doubles and dates as timestamps (naive, or in a zone)."""
    typed = frame.copy()
    for name in numbers:
        typed[name] = pd.to_numeric(typed[name], errors="coerce")
    for name, zone in dates.items():
        stamps = pd.to_datetime(typed[name], errors="coerce", format="ISO8601")
        typed[name] = stamps.dt.tz_localize(zone) if zone else stamps
    return typed


def _as_sent(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed values as a client sends them in JSON: numbers, ISO dates, nothing for missing."""
    sent = frame.astype(object)
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.DatetimeTZDtype) or frame[name].dtype.kind == "M":
            sent[name] = [None if pd.isna(v) else v.isoformat() for v in frame[name]]
        elif frame[name].dtype.kind == "f":
            sent[name] = [None if pd.isna(v) else float(v) for v in frame[name]]
    return sent


@pytest.mark.slow
def test_batch_score_reads_typed_parquet_as_the_handler_reads_numbers_and_dates(
    spark: Any, small_users: list[SynthUser], tmp_path: Path
) -> None:
    budgets, items = user_tables(small_users[:30])
    budgets = _typed(
        budgets,
        (c.BUDGET_PRICE, c.BUDGET_ACTUAL_COST),
        {c.BUDGET_TRIP_START: None, c.BUDGET_TRIP_END: None, c.BUDGET_GENERATED_AT: "UTC"},
    )
    items = _typed(items, (c.ITEM_AMOUNT,), {c.ITEM_DATE: "UTC"})
    for name, frame in (("budgets", budgets), ("items", items)):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, tmp_path / f"{name}.parquet", coerce_timestamps="us")
    handler_items = lambda_handler.answer(user_payloads(_as_sent(budgets), _as_sent(items)), None)
    inputs = jobs.JobInputs(
        budgets=str(tmp_path / "budgets.parquet"), items=str(tmp_path / "items.parquet")
    )
    run = worker.ScoreRun("batch-typed", "model")
    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/Los_Angeles")
    try:
        jobs.run_score(spark, inputs, "model", str(tmp_path / "scores"), run, buckets=3)
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone)

    frame = pd.read_parquet(tmp_path / "scores")
    assert frame["score"].notna().sum() > 1000
    assert_same(handler_items, frame)


def test_batch_docs_quote_the_csv_options_the_reader_uses() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "batch.md").read_text()
    section = page[page.index("**CSV is read as CSV**") :][:1500]
    for name, value in tables.csv_options().items():
        assert f"`{name}" in section, name
        assert value in section or name in ("encoding", "sep"), (name, value)
