"""Reading a table of records on Spark: Parquet, JSON lines, or CSV read as CSV (RFC 4180).

CSV is read the way `bem data` and Python's `csv` read it, not with Spark's defaults: a quote
inside a quoted field is doubled (`escape='"'`, where Spark's default is a backslash),
quoted fields may hold newlines (`multiLine`), the first line is the header, and each file's
encoding and delimiter are sniffed by `bem.data.read` (UTF-8 with or without BOM, Windows-1252
or Latin-1; comma, semicolon, tab or pipe). Every value stays a string; the handler's readers
parse them. The options live here only (`csv_options`).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from bem.data.columns import HistoryError
from bem.data.read import decode, sniff_delimiter

FORMATS = ("parquet", "csv", "json")
# bem.data.read's encoding names → the Java charsets Spark reads them with.
SPARK_CHARSETS = {"utf-8-sig": "UTF-8", "cp1252": "windows-1252", "latin-1": "ISO-8859-1"}
BOM = "\ufeff"
STANDARD_CHARSETS = ("UTF-8", "ISO-8859-1")


def input_format(path: str, fmt: str | None = None) -> str:
    """The reader for `path`: explicit, else its suffix (.csv, .json/.jsonl), else Parquet."""
    if fmt:
        return fmt
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    return "parquet"


def csv_layout(data: bytes) -> tuple[str, str]:
    """(Spark charset, delimiter) of a CSV file's bytes, sniffed as `bem data` sniffs them."""
    text, encoding = decode(data)
    lines = text.lstrip("\r\n").splitlines()
    try:
        delimiter = sniff_delimiter(lines[0]) if lines else ","
    except HistoryError:  # a single column: no delimiter in the header
        delimiter = ","
    return SPARK_CHARSETS[encoding], delimiter


def csv_options(charset: str = "UTF-8", delimiter: str = ",") -> dict[str, str]:
    """Spark's CSV reader options for standard CSV (RFC 4180) in `charset`."""
    return {
        "header": "true",
        "sep": delimiter,
        "quote": '"',
        "escape": '"',
        "multiLine": "true",
        "encoding": charset,
        "mode": "PERMISSIVE",
    }


def _local_files(path: str) -> list[str]:
    """The data files Spark reads for a local path, directory or glob (no _ or . files)."""
    local = path.removeprefix("file://")
    if os.path.isdir(local):
        found = sorted(str(p) for p in Path(local).rglob("*") if p.is_file())
    else:
        found = sorted(glob.glob(local)) or [local]
    return [f for f in found if not Path(f).name.startswith(("_", "."))]


def csv_layouts(spark: Any, path: str) -> dict[tuple[str, str], list[str]]:
    """The files of `path` grouped by (charset, delimiter). Local files are sniffed here;
    others (s3://, hdfs://) by the executors, which read them whole once."""
    if "://" in path and not path.startswith("file://"):
        sniffed = spark.sparkContext.binaryFiles(path).mapValues(csv_layout).collect()
    else:
        sniffed = [(f, csv_layout(Path(f).read_bytes())) for f in _local_files(path)]
    groups: dict[tuple[str, str], list[str]] = {}
    for name, layout in sorted(sniffed):
        groups.setdefault(layout, []).append(name)
    return groups


def read_csv(spark: Any, path: str) -> Any:
    """A CSV table (or a directory of them) as strings, header names trimmed."""
    groups = csv_layouts(spark, path)
    if any(charset not in STANDARD_CHARSETS for charset, _ in groups):
        spark.conf.set("spark.sql.legacy.javaCharsets", "true")  # Spark 4 knows 7 by default
    frames = []
    for (charset, delimiter), files in groups.items():
        source = path if len(groups) == 1 else files
        frame = spark.read.options(**csv_options(charset, delimiter)).csv(source)
        frames.append(frame.toDF(*(name.replace(BOM, "").strip() for name in frame.columns)))
    if not frames:
        return spark.read.options(**csv_options()).csv(path)  # Spark's own error for no file
    table = frames[0]
    for frame in frames[1:]:
        table = table.unionByName(frame, allowMissingColumns=True)
    return table


def read_table(spark: Any, path: str, fmt: str | None = None) -> Any:
    """A table of records with the seed's field names (CSV: header row, all strings)."""
    chosen = input_format(path, fmt)
    if chosen == "csv":
        return read_csv(spark, path)
    if chosen == "json":
        return spark.read.json(path)
    return spark.read.parquet(path)
