"""Ground-truth labels that arrive days after scoring: read, validate, store.

Accepted files: CSV with a header, a JSON list of objects, `{"labels": [...]}`, or JSON lines.
Fields: budget_id, itemization_id, is_match (1/0, true/false, yes/no), labeled_at, and
optionally resolved_at — when the expense line item was reconciled with the budget, i.e. when
the matching operation was completed. Timestamps are ISO 8601; a timestamp without an offset
is taken as UTC.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bem.monitor.store import upsert_labels

_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n"}


@dataclass
class LabelLoad:
    """Valid label rows and one message per rejected record."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def read_label_records(path: Path) -> list[dict[str, Any]]:
    """The raw records of a CSV, JSON or JSON-lines file."""
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if path.suffix.lower() == ".csv" or not stripped.startswith(("[", "{")):
        return list(csv.DictReader(io.StringIO(text)))
    if stripped.startswith("["):
        return list(json.loads(text))
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(document, dict) and isinstance(document.get("labels"), list):
        return list(document["labels"])
    return [document]


def parse_labels(
    records: Iterable[dict[str, Any]], source: str | None = None, now: datetime | None = None
) -> LabelLoad:
    """Validate records into label rows (naive-UTC timestamps)."""
    ingested_at = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    load = LabelLoad()
    for number, record in enumerate(records, start=1):
        try:
            load.rows.append(
                {
                    "budget_id": _identifier(record, "budget_id"),
                    "itemization_id": _identifier(record, "itemization_id"),
                    "is_match": _boolean(record.get("is_match")),
                    "labeled_at": _timestamp(record.get("labeled_at"), "labeled_at"),
                    "resolved_at": _optional_timestamp(record.get("resolved_at")),
                    "source": source,
                    "ingested_at": ingested_at,
                }
            )
        except (ValueError, TypeError, AttributeError) as error:
            load.rejected.append(f"record {number}: {error}")
    return load


def ingest_labels(engine: Engine, path: Path, now: datetime | None = None) -> LabelLoad:
    """Read a label file and upsert its valid rows."""
    load = parse_labels(read_label_records(path), source=path.name, now=now)
    with engine.begin() as connection:
        upsert_labels(connection, load.rows)
    return load


def _identifier(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None or not str(value).strip():
        raise ValueError(f"{name} is missing")
    text = str(value).strip()
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"is_match {value!r} is not a boolean")


def _timestamp(value: Any, name: str) -> datetime:
    moment = _optional_timestamp(value)
    if moment is None:
        raise ValueError(f"{name} is missing")
    return moment


def _optional_timestamp(value: Any) -> datetime | None:
    if value is None or not str(value).strip():
        return None
    moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
