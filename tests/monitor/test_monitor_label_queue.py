"""`bem monitor label-queue` on SQLite and PostgreSQL: the pairs whose labels teach most, one
per item, bounded, in a history `bem monitor label` reads back once is_match is filled in."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from bem.cli import main
from bem.monitor.report import ReportOptions, build_report
from bem.monitor.store import insert_results, labels, open_store, upsert_labels
from budget_matcher.result_rows import COLUMN_NAMES, to_iso


def _row(user: str, budget: str, item: str, score: float, **inputs: object) -> dict:
    row = dict.fromkeys(COLUMN_NAMES)
    row.update(request_id=f"r-{user}", user_id=user, budget_id=budget, itemization_id=item,
               scored_at=to_iso(datetime(2026, 11, 20, 9)), model_version="2.0", threshold=0.5,
               score=score, matched=score >= 0.5, budget_type="flight", item_amount=120.0,
               **inputs)  # fmt: skip
    return row


def _store(db_url: str) -> None:
    delta = {"travel_vendor": "Delta", "item_vendor": "DELTA AIR 0061234"}
    rows = [
        _row("alice", "b1", "i1", 0.30, **delta),  # no budget took i1, b1 names its vendor
        _row("alice", "b2", "i1", 0.05, travel_vendor="Marriott", item_vendor="DELTA AIR 0061234"),
        _row("alice", "b1", "i2", 0.56, travel_vendor="Delta", item_vendor="=HYPERLINK(x)"),
        _row("alice", "b2", "i2", 0.52, travel_vendor="Marriott", item_vendor="=HYPERLINK(x)"),
        _row("bob", "b1", "i1", 0.95, **delta),  # same ids as alice's, labelled: not asked
        _row("bob", "b3", "i3", 0.02, travel_vendor="Hertz", item_vendor="Shell"),
    ]
    old = _row("bob", "b3", "i3", 0.9, travel_vendor="Hertz", item_vendor="Shell")
    old.update(request_id="r-old", model_version="1.0", scored_at=to_iso(datetime(2026, 11, 19)))
    engine = open_store(db_url)
    with engine.begin() as connection:
        insert_results(connection, [*rows, old])
        label = {"user_key": "bob", "budget_id": "b1", "itemization_id": "i1", "is_match": True}
        upsert_labels(connection, [{**label, "labeled_at": datetime(2026, 11, 21)}])
    engine.dispose()


def _queue(db_url: str, out: Path, *options: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(
        main, ["monitor", "label-queue", "--db", db_url, "--end", "2026-11-22", "--out", str(out),
               *options],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_label_queue_asks_one_pair_per_item_for_each_reason(db_url: str, tmp_path: Path) -> None:
    _store(db_url)
    rows = _queue(db_url, tmp_path / "queue.csv")
    asked = {(r["user_id"], r["budget_id"], r["itemization_id"]): r["why"] for r in rows}
    assert set(asked) == {("alice", "b1", "i1"), ("alice", "b2", "i2"), ("bob", "b3", "i3")}
    assert "no_budget_same_vendor" in asked[("alice", "b1", "i1")]
    assert asked[("alice", "b2", "i2")].startswith("near_threshold")
    assert "versions_disagree" in asked[("bob", "b3", "i3")]
    assert all("few_labels" in why for why in asked.values())  # one label in the store
    assert all(r["is_match"] == "" for r in rows)
    first = next(r for r in rows if r["budget_id"] == "b1")
    assert first["travel_vendor_receipts"] == "Delta" and first["budget_type_budget"] == "flight"
    bounded = _queue(db_url, tmp_path / "two.csv", "--limit", "2")
    assert len(bounded) == 2


def _label_back(db_url: str, out: Path, rows: list[dict[str, str]]) -> dict[tuple, bool]:
    """`rows` (the queue, filled in) saved to `out` and read by `bem monitor label` (3 rows):
    the store's labels by key."""
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = CliRunner().invoke(main, ["monitor", "label", "--db", db_url, str(out)])
    assert result.exit_code == 0, result.output
    assert "3 labels stored, 0 rejected" in result.output
    engine = open_store(db_url)
    with engine.connect() as connection:
        stored = {
            (r.user_key, r.budget_id, r.itemization_id): r.is_match
            for r in connection.execute(sa.select(labels))
        }
    engine.dispose()
    return stored


def test_label_queue_reads_back_through_label(db_url: str, tmp_path: Path) -> None:
    _store(db_url)
    out = tmp_path / "queue.csv"
    rows = _queue(db_url, out)
    for row in rows:
        row["is_match"] = "1" if row["budget_id"] == "b1" else "0"
    stored = _label_back(db_url, out, rows)
    assert stored == {("bob", "b1", "i1"): True, ("alice", "b1", "i1"): True,
                      ("alice", "b2", "i2"): False, ("bob", "b3", "i3"): False}  # fmt: skip
    again = {
        (r["user_id"], r["budget_id"], r["itemization_id"])
        for r in _queue(db_url, tmp_path / "again.csv")
    }
    assert again == {("alice", "b2", "i1"), ("alice", "b1", "i2")}  # the items' other pairs


def test_report_shows_label_coverage_by_segment(db_url: str) -> None:
    _store(db_url)
    engine = open_store(db_url)
    with engine.connect() as connection:
        report = build_report(connection, ReportOptions(end=date(2026, 11, 22), min_labels=1))
    engine.dispose()
    flight = report.summary["segments"]["budget_type=flight"]
    assert (flight["volume"], flight["labeled"]) == (7, 1)  # per version: 6 + the old scoring
    assert flight["label_coverage"] == 1 / 7
    assert "<th>label coverage</th>" in report.html and "<td>0.143</td>" in report.html


HOSTILE = [("=cmd|' /C calc'!A0", "+b1", "-i1"), ("@alice", "-7", "=i2"), ("'=bob", "''+b3", "'x")]


def test_label_queue_neutralises_formulas_and_ids_read_back_exactly(
    db_url: str, tmp_path: Path
) -> None:
    rows = [_row(user, budget, item, 0.5, travel_vendor="=HYPERLINK(x)", item_vendor="@SUM(A1)",
                 item_type="+1-2", expense_category="-x", purchase_vendor="\tcmd")
            for user, budget, item in HOSTILE]  # fmt: skip
    engine = open_store(db_url)
    with engine.begin() as connection:
        insert_results(connection, rows)
    engine.dispose()
    out = tmp_path / "queue.csv"
    queued = _queue(db_url, out)
    assert len(queued) == 3
    for row in queued:  # what a spreadsheet sees: no cell starts a formula
        for name, cell in row.items():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (name, cell)
            assert not cell.startswith("-") or cell == "-7", (name, cell)  # a number stays one
    written = {(r["user_id"], r["budget_id"], r["itemization_id"]) for r in queued}
    assert ("'=cmd|' /C calc'!A0", "'+b1", "'-i1") in written
    assert ("''=bob", "'''+b3", "'x") in written  # one more `'`: the ids read back exactly
    # A reviewer's spreadsheet may save a cell with or without its `'`: both read back.
    for row in queued:
        row["is_match"] = "1"
        if row["user_id"].startswith("'=cmd"):
            row.update(user_id=row["user_id"][1:], budget_id=row["budget_id"][1:])
    assert _label_back(db_url, out, queued) == dict.fromkeys(HOSTILE, True)
