"""Labels keyed like results, with the user, on SQLite and PostgreSQL: alice's label never labels
bob's pair with the same ids, a label without user goes to the one user who holds the pair, and a
store of schema version 1 (labels keyed by the pair alone) is migrated keeping what each label
applied to."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from bem.cli import main
from bem.monitor.investigate import misclassified
from bem.monitor.metrics_sql import daily_metrics
from bem.monitor.pairs import load_pairs
from bem.monitor.store import (
    SCHEMA_VERSION,
    create_engine,
    ensure_schema,
    insert_results,
    labels,
    open_store,
    results,
)
from budget_matcher.result_rows import COLUMN_NAMES, to_iso


def _scored(user: str | None, pair: tuple[str, str], score: float, request: str = "r1") -> dict:
    row = dict.fromkeys(COLUMN_NAMES)
    row.update(
        request_id=request,
        user_id=user,
        budget_id=pair[0],
        itemization_id=pair[1],
        scored_at=to_iso(datetime(2026, 11, 2, 9)),
        model_version="1.4.0",
        threshold=0.5,
        score=score,
        matched=score >= 0.5,
    )
    return row


def _store_results(db_url: str, rows: list[dict]) -> None:
    """Insert scored rows into the store at `db_url`."""
    engine = open_store(db_url)
    with engine.begin() as connection:
        insert_results(connection, rows)
    engine.dispose()


def _stored_labels(db_url: str) -> dict[tuple[str, str, str], bool]:
    engine = open_store(db_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(labels)).all()
    engine.dispose()
    return {(r.user_key, r.budget_id, r.itemization_id): r.is_match for r in rows}


def _label(db_url: str, path: Path, text: str, *options: str) -> str:
    path.write_text(text)
    result = CliRunner().invoke(main, ["monitor", "label", "--db", db_url, str(path), *options])
    return f"{result.exit_code}\n{result.output}"


def test_label_for_alice_never_labels_bobs_pair_with_the_same_ids(
    db_url: str, tmp_path: Path
) -> None:
    _store_results(db_url, [_scored("alice", ("b1", "i1"), 0.9), _scored("bob", ("b1", "i1"), 0.8)])
    output = _label(
        db_url, tmp_path / "l.csv", "user_id,budget_id,itemization_id,is_match\nalice,b1,i1,0\n"
    )
    assert output.startswith("0\n"), output
    assert _stored_labels(db_url) == {("alice", "b1", "i1"): False}
    engine = open_store(db_url)
    with engine.connect() as connection:
        (day,) = daily_metrics(connection)
        pairs = load_pairs(connection, datetime(2026, 11, 1), datetime(2026, 11, 3))
        wrong = misclassified(connection, "fp")
    engine.dispose()
    assert (day.volume, day.labeled, day.fp, day.tp) == (2, 1, 1, 0)
    assert (len(pairs), int(pairs.labelled.sum()), float(pairs.label[pairs.labelled][0])) == (
        2,
        1,
        0,
    )
    assert [(row["user_id"], row["score"]) for row in wrong] == [("alice", 0.9)]


def test_label_unlisted_negatives_stay_within_their_user(db_url: str, tmp_path: Path) -> None:
    _store_results(
        db_url,
        [
            _scored("alice", ("b1", "i1"), 0.9),
            _scored("alice", ("b1", "i2"), 0.6),
            _scored("bob", ("b1", "i2"), 0.7),
        ],
    )
    text = "user_id,budget_id,itemization_id,is_match\nalice,b1,i1,1\n"
    output = _label(db_url, tmp_path / "l.csv", text, "--unlisted", "negative")
    assert output.startswith("0\n"), output
    assert _stored_labels(db_url) == {
        ("alice", "b1", "i1"): True,
        ("alice", "b1", "i2"): False,
    }


def test_label_without_user_goes_to_the_one_user_holding_the_pair(
    db_url: str, tmp_path: Path
) -> None:
    _store_results(
        db_url,
        [
            _scored("alice", ("b1", "i1"), 0.9),
            _scored("bob", ("b2", "i2"), 0.2),
            _scored(None, ("b3", "i3"), 0.2, request="r2"),
        ],
    )
    text = "budget_id,itemization_id,is_match\nb1,i1,1\nb2,i2,0\nb3,i3,1\nb9,i9,1\n"
    output = _label(db_url, tmp_path / "l.csv", text)
    assert output.startswith("0\n"), output
    assert _stored_labels(db_url) == {
        ("alice", "b1", "i1"): True,
        ("bob", "b2", "i2"): False,
        ("", "b3", "i3"): True,
        ("", "b9", "i9"): True,
    }


def test_label_without_user_for_a_pair_of_two_users_is_rejected(
    db_url: str, tmp_path: Path
) -> None:
    _store_results(db_url, [_scored("alice", ("b1", "i1"), 0.9), _scored("bob", ("b1", "i1"), 0.8)])
    text = "budget_id,itemization_id,is_match\nb1,i1,1\n"
    output = _label(db_url, tmp_path / "l.csv", text)
    assert output.startswith("1\n"), output
    assert "0 labels stored, 1 rejected" in output
    assert "line 2: pair (b1, i1) was scored for 2 users; give its user_id" in output
    assert _stored_labels(db_url) == {}


def test_store_of_version_one_keys_its_labels_by_user(db_url: str) -> None:
    engine = create_engine(db_url)
    old = sa.MetaData()
    sa.Table(
        "match_labels",
        old,
        sa.Column("budget_id", sa.String(), primary_key=True),
        sa.Column("itemization_id", sa.String(), primary_key=True),
        sa.Column("is_match", sa.Boolean(), nullable=False),
        sa.Column("labeled_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("ingested_at", sa.DateTime(), nullable=True),
    )
    results.create(engine)
    old.create_all(engine)
    with engine.begin() as connection:
        insert_results(
            connection,
            [
                _scored("alice", ("b1", "i1"), 0.9),
                _scored("bob", ("b1", "i1"), 0.8),
                _scored("carol", ("b2", "i2"), 0.1),
            ],
        )
        labelled = datetime(2026, 11, 5)
        connection.execute(
            old.tables["match_labels"].insert(),
            [
                {"budget_id": "b1", "itemization_id": "i1", "is_match": True,
                 "labeled_at": labelled, "source": "v1"},
                {"budget_id": "b2", "itemization_id": "i2", "is_match": False,
                 "labeled_at": labelled, "source": "v1"},
                {"budget_id": "b9", "itemization_id": "i9", "is_match": True,
                 "labeled_at": labelled, "source": "v1"},
            ],
        )  # fmt: skip
    actions = ensure_schema(engine)
    assert "keyed 3 labels by user (4 labels)" in actions
    assert ensure_schema(engine) == []
    with engine.connect() as connection:
        (after,) = daily_metrics(connection)
        key = sa.inspect(connection).get_pk_constraint("match_labels")["constrained_columns"]
        version = connection.execute(sa.text("SELECT version FROM bem_schema")).scalar()
        stored = {
            (r.user_key, r.budget_id, r.itemization_id): (r.is_match, r.source)
            for r in connection.execute(sa.select(labels))
        }
    engine.dispose()
    assert set(key) == {"user_key", "budget_id", "itemization_id"}
    assert version == SCHEMA_VERSION == 2
    assert stored == {
        ("alice", "b1", "i1"): (True, "v1"),
        ("bob", "b1", "i1"): (True, "v1"),
        ("carol", "b2", "i2"): (False, "v1"),
        ("", "b9", "i9"): (True, "v1"),
    }
    assert (after.labeled, after.tp, after.fp) == (3, 2, 0)  # what version 1 counted
    assert after.day == date(2026, 11, 2)
