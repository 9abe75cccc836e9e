"""The S3 results sink and `bem monitor ingest-s3` against a moto server: the handler writes one
object per answer, never fails for it, and a fault in the middle of an ingest loses nothing."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from monitor_helpers import make_outcome

import lambda_handler
from bem.cli import main
from bem.monitor.ingest_s3 import ingest_s3, read_rows
from bem.monitor.store import ingested_objects, open_store, rejected_objects, results
from budget_matcher import side_paths
from budget_matcher.result_rows import rows_from_outcome
from budget_matcher.results_s3 import S3ResultsSink, object_key, parse_s3_uri

BUCKET = "bem-results"


def _s3(endpoint: str) -> Any:
    return boto3.client("s3", region_name="us-west-2", endpoint_url=endpoint)


def _bucket(endpoint: str) -> Any:
    client = _s3(endpoint)
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    return client


def _count(url: str) -> tuple[int, int]:
    engine = open_store(url)
    with engine.connect() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(results)).scalar()
        keys = connection.execute(
            sa.select(sa.func.count()).select_from(
                sa.select(results.c.request_id, results.c.budget_id, results.c.itemization_id)
                .distinct()
                .subquery()
            )
        ).scalar()
    engine.dispose()
    return int(total or 0), int(keys or 0)


def test_s3_uri_and_key_are_date_partitioned() -> None:
    assert parse_s3_uri("s3://bucket/a/b/") == ("bucket", "a/b")
    assert parse_s3_uri("s3://bucket") == ("bucket", "")
    with pytest.raises(ValueError):
        parse_s3_uri("https://bucket/a")
    misconfigured = S3ResultsSink("https://bucket/a")  # disables itself, never raises
    assert not misconfigured.enabled and misconfigured.write([{"x": 1}], "r") == "none"
    key = object_key("bem/results", "req/1 ?", datetime(2026, 12, 1, 3, 4, tzinfo=UTC))
    assert key.startswith("bem/results/dt=2026-12-01/hour=03/req_1_-")
    assert key.endswith(".jsonl.gz")


def test_handler_writes_one_gzip_object_per_answer_to_s3(
    aws: str, tiny_model: Path, batch_payload: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _bucket(aws)
    monkeypatch.setenv("BEM_RESULTS_S3_URI", f"s3://{BUCKET}/bem/results")
    monkeypatch.setenv("BEM_RESULTS_LOG", "0")
    context = SimpleNamespace(aws_request_id="req-s3-1", function_name="bem", memory_limit_in_mb=1)
    answer = lambda_handler.answer(batch_payload, context)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="bem/results/dt=")["Contents"]
    assert len(listed) == 1 and "/req-s3-1-" in listed[0]["Key"]
    body = client.get_object(Bucket=BUCKET, Key=listed[0]["Key"])["Body"].read()
    rows = read_rows(body)
    assert gzip.decompress(body).count(b"\n") >= 1
    assert sorted((r["budget_id"], r["itemization_id"]) for r in rows) == sorted(
        (i["budget_id"], i["itemization_id"]) for i in answer
    )
    assert {r["request_id"] for r in rows} == {"req-s3-1"}
    assert [r["score"] for r in sorted(rows, key=lambda r: r["itemization_id"])] == [
        i["score"] for i in sorted(answer, key=lambda i: i["itemization_id"])
    ]


def test_handler_answers_when_the_s3_sink_fails(
    aws: str, tiny_model: Path, seed_payload: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEM_RESULTS_S3_URI", "s3://no-such-bucket/results")
    monkeypatch.setenv("BEM_RESULTS_LOG", "0")
    answer = lambda_handler.answer(seed_payload, None)
    assert answer[0]["score"] is not None
    sink = S3ResultsSink("s3://no-such-bucket/results", client=_s3(aws))
    outcome = make_outcome(seed_payload)
    assert sink.write(rows_from_outcome(outcome), "req-x") == "failed"
    side_paths.configure(s3=sink)
    assert side_paths.publish(outcome).s3 == "failed"


class _FailingOnce:
    """An S3 client whose n-th get_object raises (a network fault in the middle of a batch)."""

    def __init__(self, inner: Any, fail_at: int) -> None:
        self.inner, self.fail_at, self.calls = inner, fail_at, 0

    def get_paginator(self, name: str) -> Any:
        return self.inner.get_paginator(name)

    def get_object(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("connection reset by peer")
        return self.inner.get_object(**kwargs)


def test_ingest_s3_after_a_fault_mid_batch_loses_and_doubles_nothing(
    aws: str, db_url: str, batch_payload: Any
) -> None:
    client = _bucket(aws)
    sink = S3ResultsSink(f"s3://{BUCKET}/bem/results", client=client)
    expected = 0
    for n in range(6):
        outcome = make_outcome(batch_payload, request_id=f"req-{n}", seed=n)
        rows = rows_from_outcome(outcome)
        expected += len(rows)
        assert sink.write(rows, outcome.request_id, outcome.received_at) == "s3"
    client.put_object(Bucket=BUCKET, Key="bem/results/dt=2026-11-21/hour=00/junk.jsonl.gz",
                      Body=b"not gzip")  # fmt: skip
    engine = open_store(db_url)
    with pytest.raises(ConnectionError):
        ingest_s3(engine, _FailingOnce(client, fail_at=4), f"s3://{BUCKET}/bem/results")
    loaded, _ = _count(db_url)
    assert 0 < loaded < expected  # three objects made it before the fault

    again = ingest_s3(engine, client, f"s3://{BUCKET}/bem/results")
    assert again.skipped == 3 and again.objects == 3 and again.unreadable == 1
    assert _count(db_url) == (expected, expected)  # every row once

    result = CliRunner().invoke(
        main,
        ["monitor", "ingest-s3", f"s3://{BUCKET}/bem/results", "--db", db_url,
         "--endpoint-url", aws, "--region", "us-west-2"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # the junk object is still unreadable
    assert "objects 0 (6 already loaded)" in result.output
    assert _count(db_url) == (expected, expected)
    with engine.connect() as connection:
        recorded = connection.execute(sa.select(sa.func.sum(ingested_objects.c.rows))).scalar()
    assert recorded == expected
    engine.dispose()


def _bad_objects(rows: list[dict[str, Any]]) -> dict[str, bytes | None]:
    """Object name → body of objects each bad in one way (None: stored in GLACIER)."""
    from budget_matcher.results_sink import result_lines

    def body(lines: list[str]) -> bytes:
        return gzip.compress("".join(line + "\n" for line in lines).encode())

    row = rows[0]
    return {
        "shape": body(['{"bem_results": 1, "cols": ["budget_id"], "rows": [{"a": 1}]}']),
        "refused": body(result_lines([{**row, "budget_id": None}])),
        "date": body(result_lines([{**row, "scored_at": "2026-13-45T99:00:00"}])),
        "integer": body(result_lines([{**row, "pair_index": 10**30}])),
        "bomb": gzip.compress(b"\n" * (300 * 1024 * 1024), compresslevel=9),
        "glacier": None,
    }


def test_ingest_s3_sets_bad_objects_aside_and_goes_on(
    aws: str, db_url: str, batch_payload: Any
) -> None:
    client = _bucket(aws)
    sink = S3ResultsSink(f"s3://{BUCKET}/bem/results", client=client)
    good = []
    for n in range(2):
        good += rows_from_outcome(make_outcome(batch_payload, request_id=f"good-{n}", seed=n))
    sink.write(good[: len(good) // 2], "good-0")
    bad = _bad_objects(rows_from_outcome(make_outcome(batch_payload, request_id="bad")))
    for name, body in bad.items():  # keys sort before the good objects' keys
        extra = {"StorageClass": "GLACIER"} if body is None else {}
        client.put_object(Bucket=BUCKET, Key=f"bem/results/dt=2000-01-01/{name}.jsonl.gz",
                          Body=body or gzip.compress(b"x"), **extra)  # fmt: skip
    sink.write(good[len(good) // 2 :], "good-1")

    engine = open_store(db_url)
    report = ingest_s3(engine, client, f"s3://{BUCKET}/bem/results")
    reasons = {key.rsplit("/", 1)[1].split(".")[0]: reason for key, reason in report.rejected}
    assert report.objects == 2 and report.unreadable == len(bad), reasons
    assert set(reasons) == set(bad)
    assert "expands" in reasons["bomb"] and "InvalidObjectState" in reasons["glacier"]
    assert _count(db_url) == (len(good), len(good))
    with engine.connect() as connection:
        stored = connection.execute(sa.select(rejected_objects.c.object_key)).scalars().all()
    assert len(stored) == len(bad)

    again = ingest_s3(engine, client, f"s3://{BUCKET}/bem/results")
    # content faults stay set aside while unchanged; what S3 did not serve is tried again
    assert (again.skipped, again.set_aside_before, again.unreadable) == (2, len(bad) - 1, 1)
    engine.dispose()
