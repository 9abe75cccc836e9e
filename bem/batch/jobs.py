"""The Spark side of `bem batch score` and `bem batch features`: read, bucket, apply, write.

Tables (budgets, line items or labelled rows; Parquet, CSV or JSON lines) become one frame of
(user_id, kind, seq, record-as-JSON). Users are hashed into buckets (to score: a few per core)
and each bucket goes through one `applyInArrow` call that scores or featurises all its users
vectorised (`bem.batch.worker`): pyspark spends milliseconds per group, so one group per user
would cost more than the scoring. A user's records always meet in one bucket, however the
input files were partitioned. Request lines need no grouping: every line is a whole request,
scored where it is read (`mapInArrow`, `bem.batch.lines`) in partitions Spark sizes by bytes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bem.batch import lines, worker
from bem.batch.codezip import build_code_zip
from bem.batch.tables import read_table
from budget_matcher import config
from budget_matcher import contract as c

DEFAULT_BUCKETS = 256  # the features job's (a bucket's training rows are built in one call)
# The scoring job's default: a few buckets per core (the worker scores a bucket in chunks).
BUCKETS_PER_CORE = 4
# Optional input column ordering a user's records: of two records with the same id, the one
# with the lower `seq` wins (as the earlier one in a request does). Without it, input order.
SEQ_COLUMN = "seq"


@dataclass
class JobInputs:
    """Where the records are: budgets + items tables, request JSON lines, or labelled rows."""

    budgets: str | None = None
    items: str | None = None
    requests: str | None = None
    rows: str | None = None
    fmt: str | None = None  # None: from the file suffix
    extra_paths: list[str] = field(default_factory=list)


def _as_records(table: Any, kind: str, fields: tuple[str, ...]) -> Any:
    """One record per row: user_id, kind, its order (`seq`) and the row's fields as JSON."""
    from pyspark.sql import functions as F

    present = [F.col(name) for name in fields if name in table.columns]
    user = (
        F.col(c.USER_ID_KEY).cast("string")
        if c.USER_ID_KEY in table.columns
        else F.lit(None).cast("string")
    )
    seq = (
        F.col(SEQ_COLUMN).cast("long")
        if SEQ_COLUMN in table.columns
        else F.monotonically_increasing_id()
    )
    return table.select(
        F.coalesce(user, F.lit("user")).alias("user_id"),
        F.lit(kind).alias("kind"),
        seq.alias("seq"),
        F.to_json(F.struct(*present)).alias("record"),
    )


def read_records(spark: Any, inputs: JobInputs) -> Any:
    """The records frame (worker.RECORD_COLUMNS) of the job's inputs."""
    if inputs.rows:
        table = read_table(spark, inputs.rows, inputs.fmt)
        return _as_records(table, "row", (*c.BUDGET_FIELDS, *c.ITEM_FIELDS, c.LABEL))
    if not (inputs.budgets and inputs.items):
        raise ValueError("give budgets and items, or request JSON lines, or labelled rows")
    budgets = _as_records(read_table(spark, inputs.budgets, inputs.fmt), "budget", c.BUDGET_FIELDS)
    items = _as_records(read_table(spark, inputs.items, inputs.fmt), "item", c.ITEM_FIELDS)
    return budgets.unionByName(items)


def bucketed(records: Any, buckets: int) -> Any:
    """The records grouped by a hash of user_id into `buckets` groups.

    `buckets` ≤ 0 makes one group per user: the slow way (milliseconds of pyspark per group),
    kept for the benchmark's comparison.
    """
    from pyspark.sql import functions as F

    if buckets <= 0:
        return records.groupBy("user_id")
    return records.groupBy(F.pmod(F.xxhash64("user_id"), F.lit(buckets)).alias("bucket"))


def ship_code(spark: Any, workdir: Path | None = None) -> Path:
    """Zip the runtime and batch code and add it to the executors' Python path; ship the
    NLTK stopwords directory too (`worker.use_shipped_nltk_data` finds it).

    The zip goes to a fixed place (default: the build cache), so shipping again in the same
    session re-adds the same path, which Spark accepts.
    """
    directory = workdir or config.env_path(config.ENV_BUILD_CACHE, config.DEFAULT_BUILD_CACHE)
    archive = build_code_zip(directory / "batch" / "bem_batch_code.zip")
    spark.sparkContext.addPyFile(str(archive))
    nltk_data = config.env_path(config.ENV_NLTK_DATA, config.DEFAULT_NLTK_DATA)
    if nltk_data.is_dir():  # read from files, so it travels beside the zip, not inside it
        spark.sparkContext.addFile(str(nltk_data.resolve()), recursive=True)
    return archive


def score_frame(records: Any, run: worker.ScoreRun, buckets: int = DEFAULT_BUCKETS) -> Any:
    """Scored rows (`worker.score_arrow(run.with_inputs)`) of every user in `records`."""

    def score_group(frame: Any) -> Any:
        return worker.score_records(frame, run)

    schema = worker.score_schema(run.with_inputs)
    return bucketed(records, buckets).applyInArrow(score_group, schema)


def score_lines_frame(spark: Any, requests: str, run: worker.ScoreRun) -> Any:
    """Scored rows of every request line of `requests`, each line scored where it is read."""

    def score_batches(batches: Any) -> Any:
        return lines.score_line_batches(batches, run)

    text = spark.read.text(requests)
    return text.mapInArrow(score_batches, worker.score_schema(run.with_inputs))


def features_frame(records: Any, buckets: int = DEFAULT_BUCKETS) -> Any:
    """Feature rows (worker.FEATURE_COLUMNS) of every candidate pair of labelled `records`."""
    return bucketed(records, buckets).applyInArrow(worker.feature_records, worker.FEATURE_SCHEMA)


@dataclass
class JobReport:
    """What a job wrote: rows, and for scoring the scored / error / matched counts."""

    output: str
    rows: int
    scored: int = 0
    errors: int = 0
    matched: int = 0
    run_id: str = ""
    model_version: str | None = None


def ship_model_location(spark: Any, model: str) -> str:
    """Send a model directory (local path or a Hadoop/S3 URI) to every executor; returns the
    name workers find it by (SparkFiles.get).

    A local model is staged under a name holding its files' digest (`model-<sha256[:12]>`):
    one session may score with several models, and Spark refuses a second, different
    directory of the same name.
    """
    if "://" in model:
        spark.sparkContext.addFile(model, recursive=True)
        return Path(model.rstrip("/")).name
    source = Path(model).resolve()
    digest = hashlib.sha256(str(source).encode())
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes())
    cache = config.env_path(config.ENV_BUILD_CACHE, config.DEFAULT_BUILD_CACHE)
    staged = cache / "batch" / "models" / f"model-{digest.hexdigest()[:12]}"
    if not staged.is_dir():
        partial = staged.with_name(staged.name + f".{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(source, partial)
        partial.rename(staged)
    spark.sparkContext.addFile(str(staged), recursive=True)
    return staged.name


# Request lines: at most this many lines per Arrow batch (Spark's 10,000 lines can be
# gigabytes of text), and no whole-stage code generation (the plan is a scan, one Python map
# and a write: compiling it costs more JVM time than it saves).
LINE_JOB_SETTINGS = {
    "spark.sql.execution.arrow.maxRecordsPerBatch": str(lines.LINES_PER_BATCH),
    "spark.sql.codegen.wholeStage": "false",
}


@contextmanager
def job_settings(spark: Any, settings: dict[str, str]) -> Iterator[None]:
    """Session settings for the enclosed job only; the previous values come back after."""
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def run_score(
    spark: Any,
    inputs: JobInputs,
    model: str,
    output: str,
    run: worker.ScoreRun,
    buckets: int | None = None,
) -> JobReport:
    """Score every user of `inputs` with the model at `model`; write Parquet to `output`.

    Tables go through `buckets` buckets (None: BUCKETS_PER_CORE per core of the session).

    The report's counts are observed while the rows are written (`DataFrame.observe`), not by
    reading the output again: one job, not two.
    """
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    shipped = replace(run, model_dir=ship_model_location(spark, model), shipped=True)
    observed = Observation("scores")
    with job_settings(spark, LINE_JOB_SETTINGS if inputs.requests else {}):
        if inputs.requests:
            scored = score_lines_frame(spark, inputs.requests, shipped)
        else:
            default = BUCKETS_PER_CORE * spark.sparkContext.defaultParallelism
            chosen = default if buckets is None else buckets
            scored = score_frame(read_records(spark, inputs), shipped, chosen)
        scored.observe(
            observed,
            F.count(F.lit(1)).alias("rows"),
            F.count("score").alias("scored"),
            F.count("error_code").alias("errors"),
            F.sum(F.col("matched").cast("long")).alias("matched"),
            F.max("model_version").alias("model_version"),
        ).write.mode("overwrite").parquet(output)
    counts = observed.get
    return JobReport(
        output,
        int(counts["rows"]),
        int(counts["scored"]),
        int(counts["errors"]),
        int(counts["matched"] or 0),
        run.run_id,
        counts["model_version"],
    )


def run_features(
    spark: Any, inputs: JobInputs, output: str, buckets: int = DEFAULT_BUCKETS
) -> JobReport:
    """Write the labelled feature table of `inputs` (labelled rows) to `output` as Parquet."""
    frame = features_frame(read_records(spark, inputs), buckets)
    frame.write.mode("overwrite").parquet(output)
    return JobReport(output, spark.read.parquet(output).count())
