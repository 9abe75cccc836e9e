"""Load the S3 results sink's objects (`budget_matcher.results_s3`) into the store.

Lists every `.jsonl.gz` object under s3://bucket/prefix (ListObjectsV2, all pages, key order).
Each object is loaded in its own transaction together with a row of `ingested_objects`
(bucket, key, ETag), so a fault in the middle of a batch leaves every object either fully
loaded and recorded, or not at all; the next run skips what is recorded and loads the rest.
Rows are inserted idempotently on the results key besides, so even an object loaded twice
(e.g. rewritten with a new ETag) stores each result once.

A bad object never stops the run: one that is not gzip, expands past the bounds
(`budget_matcher.gunzip`: size and ratio), holds a bad result line or a row the store refuses
(a bad date, an out-of-range integer), or that S3 will not serve (GLACIER, access denied) is
counted, set aside in `rejected_objects` with its reason, and the run goes on. Nothing of it
is stored. A content fault is not tried again while its ETag is unchanged; an object S3 did
not serve is tried again next run. A fault of the database or the network stops the run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bem.monitor.store import ingested_objects, insert_results, rejected_objects
from budget_matcher.gunzip import MAX_BYTES, gunzip
from budget_matcher.results_s3 import OBJECT_SUFFIX, parse_s3_uri
from budget_matcher.results_sink import BadResultLine, is_data_error, read_result_line

logger = logging.getLogger(__name__)

# The largest object read (compressed): ~100x the sink's largest answer.
MAX_OBJECT_BYTES = 64 * 1024 * 1024
NOT_SERVED = "not served: "


@dataclass
class S3IngestReport:
    """Objects loaded, skipped as already loaded, rows offered, objects set aside by this run
    (`unreadable`, with `rejected`: key and reason) and by earlier ones (`set_aside_before`)."""

    objects: int = 0
    skipped: int = 0
    set_aside_before: int = 0
    rows: int = 0
    unreadable: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)


def list_objects(client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """The sink's objects under `prefix` (Key, ETag), all pages."""
    arguments = {"Bucket": bucket, "Prefix": f"{prefix}/" if prefix else ""}
    for page in client.get_paginator("list_objects_v2").paginate(**arguments):
        for item in page.get("Contents", []):
            if str(item["Key"]).endswith(OBJECT_SUFFIX):
                yield item


def read_rows(body: bytes) -> list[dict[str, Any]]:
    """The result rows of one object; ValueError when it is no bounded gzip of result lines."""
    try:
        text = gunzip(body, max_bytes=MAX_BYTES).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8: {error}") from error
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            found = read_result_line(line)
        except BadResultLine as error:
            raise ValueError(f"line {number}: {error}") from None
        if found:
            rows += found
    if not rows and text.strip():
        raise ValueError("no result lines")
    return rows


def _fetch(client: Any, bucket: str, key: str, size: int | None) -> bytes:
    """The object's bytes; ValueError (NOT_SERVED) when S3 answers with an error for it."""
    from botocore.exceptions import ClientError

    if size is not None and size > MAX_OBJECT_BYTES:
        raise ValueError(f"{size} bytes, over {MAX_OBJECT_BYTES}")
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        data = body.read(MAX_OBJECT_BYTES + 1)
    except ClientError as error:
        raise ValueError(f"{NOT_SERVED}{error}") from error
    if len(data) > MAX_OBJECT_BYTES:
        raise ValueError(f"over {MAX_OBJECT_BYTES} bytes")
    return bytes(data)


def ingest_s3(engine: Engine, client: Any, uri: str) -> S3IngestReport:
    """Load every object under `uri` not loaded (or set aside) before (module docstring)."""
    bucket, prefix = parse_s3_uri(uri)
    report = S3IngestReport()
    with engine.connect() as connection:
        done = {
            (key, etag)
            for key, etag in connection.execute(
                sa.select(ingested_objects.c.object_key, ingested_objects.c.etag).where(
                    ingested_objects.c.bucket == bucket
                )
            )
        }
        aside = rejected_objects.c
        set_aside = {
            (key, etag)
            for key, etag, reason in connection.execute(
                sa.select(aside.object_key, aside.etag, aside.reason).where(aside.bucket == bucket)
            )
            if not reason.startswith(NOT_SERVED)
        }
    for item in list_objects(client, bucket, prefix):
        key, etag = str(item["Key"]), str(item.get("ETag", ""))
        if (key, etag) in done:
            report.skipped += 1
            continue
        if (key, etag) in set_aside:
            report.set_aside_before += 1
            continue
        try:
            rows = read_rows(_fetch(client, bucket, key, item.get("Size")))
            _load(engine, bucket, key, etag, rows)
        except Exception as error:
            if not is_data_error(error):
                raise  # the database or the network: stop, nothing half-loaded
            reason = f"{error}" if isinstance(error, ValueError) else f"refused: {error}"
            _set_aside(engine, bucket, key, etag, reason[:1000])
            logger.warning("s3://%s/%s set aside: %s", bucket, key, reason[:300])
            report.unreadable += 1
            report.rejected.append((key, reason[:300]))
            continue
        report.objects += 1
        report.rows += len(rows)
    return report


def _load(engine: Engine, bucket: str, key: str, etag: str, rows: list[dict[str, Any]]) -> None:
    """The object's rows and its `ingested_objects` row, in one transaction."""
    with engine.begin() as connection:
        insert_results(connection, rows)
        _replace(connection, ingested_objects, bucket, key, etag=etag, rows=len(rows),
                 ingested_at=_now())  # fmt: skip
        connection.execute(
            rejected_objects.delete().where(
                rejected_objects.c.bucket == bucket, rejected_objects.c.object_key == key
            )
        )


def _set_aside(engine: Engine, bucket: str, key: str, etag: str, reason: str) -> None:
    with engine.begin() as connection:
        _replace(connection, rejected_objects, bucket, key, etag=etag, reason=reason,
                 rejected_at=_now())  # fmt: skip


def _replace(connection: Any, table: sa.Table, bucket: str, key: str, **values: Any) -> None:
    connection.execute(table.delete().where(table.c.bucket == bucket, table.c.object_key == key))
    connection.execute(table.insert().values(bucket=bucket, object_key=key, **values))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
