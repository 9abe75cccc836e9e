"""Load the S3 results sink's objects (`budget_matcher.results_s3`) into the store.

Lists every `.jsonl.gz` object under s3://bucket/prefix (ListObjectsV2, all pages, key order).
Each object is loaded in its own transaction together with a row of `ingested_objects`
(bucket, key, ETag), so a fault in the middle of a batch leaves every object either fully
loaded and recorded, or not at all; the next run skips what is recorded and loads the rest.
Rows are inserted idempotently on the results key besides, so even an object loaded twice
(e.g. rewritten with a new ETag) stores each result once. An object that cannot be read
(not gzip, not result lines) is counted as unreadable, not recorded, and tried again next run.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bem.monitor.store import ingested_objects, insert_results
from budget_matcher.results_s3 import OBJECT_SUFFIX, parse_s3_uri
from budget_matcher.results_sink import rows_from_line

logger = logging.getLogger(__name__)


@dataclass
class S3IngestReport:
    """Objects seen and loaded, objects skipped as already loaded, rows offered, unreadable."""

    objects: int = 0
    skipped: int = 0
    rows: int = 0
    unreadable: int = 0


def list_objects(client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    """The sink's objects under `prefix` (Key, ETag), all pages."""
    arguments = {"Bucket": bucket, "Prefix": f"{prefix}/" if prefix else ""}
    for page in client.get_paginator("list_objects_v2").paginate(**arguments):
        for item in page.get("Contents", []):
            if str(item["Key"]).endswith(OBJECT_SUFFIX):
                yield item


def read_rows(body: bytes) -> list[dict[str, Any]]:
    """The result rows of one object; ValueError when it holds none that can be read."""
    try:
        text = gzip.decompress(body).decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        raise ValueError(f"not a gzip JSON-lines object: {error}") from error
    rows: list[dict[str, Any]] = []
    for line in text.splitlines():
        found = rows_from_line(line)
        if found:
            rows += found
    if not rows and text.strip():
        raise ValueError("no result lines")
    return rows


def ingest_s3(engine: Engine, client: Any, uri: str) -> S3IngestReport:
    """Load every object under `uri` not loaded before (module docstring)."""
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
    for item in list_objects(client, bucket, prefix):
        key, etag = str(item["Key"]), str(item.get("ETag", ""))
        if (key, etag) in done:
            report.skipped += 1
            continue
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            rows = read_rows(body)
        except ValueError as error:
            logger.warning("s3://%s/%s skipped: %s", bucket, key, error)
            report.unreadable += 1
            continue
        with engine.begin() as connection:
            insert_results(connection, rows)
            connection.execute(
                ingested_objects.delete().where(
                    ingested_objects.c.bucket == bucket, ingested_objects.c.object_key == key
                )
            )
            connection.execute(
                ingested_objects.insert().values(
                    bucket=bucket,
                    object_key=key,
                    etag=etag,
                    rows=len(rows),
                    ingested_at=datetime.now(UTC).replace(tzinfo=None),
                )
            )
        report.objects += 1
        report.rows += len(rows)
    return report
