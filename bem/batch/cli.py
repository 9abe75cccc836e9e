"""`bem batch`: score history or build training sets on Spark; package and submit to EMR."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

SPARK_HELP = "Spark master (default: $BEM_SPARK_MASTER or local[2]; 'cluster' = spark-submit's)."


@click.group("batch")
def batch_group() -> None:
    """Batch scoring and training sets on Apache Spark (local mode to EMR).

    Example: bem batch score --budgets budgets.parquet --items items.parquet --out scores/
    """


def _session(master: str | None) -> Any:
    from bem.batch import jobs
    from bem.batch.session import get_session

    spark = get_session(master)
    jobs.ship_code(spark)
    return spark


@batch_group.command("score")
@click.option("--budgets", help="Budgets: Parquet, CSV or JSON lines; user_id + seed fields.")
@click.option("--items", help="Line items: Parquet, CSV or JSON lines; user_id + seed fields.")
@click.option("--requests", help="Instead: JSON lines of request payloads (one user or a batch).")
@click.option(
    "--model-dir", "model", default="model", show_default=True, help="Model directory (or URI)."
)
@click.option("--out", required=True, help="Output directory of the scores Parquet.")
@click.option("--run-id", default=None, help="Request id of the rows (default batch-<UTC time>).")
@click.option(
    "--scored-at-item-date",
    is_flag=True,
    help="Date each row by its line item's date (re-scored history), not by now.",
)
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "json"]), default=None)
@click.option("--buckets", default=256, show_default=True, help="User buckets (groups).")
@click.option("--master", default=None, help=SPARK_HELP)
def score_command(
    budgets: str | None,
    items: str | None,
    requests: str | None,
    model: str,
    out: str,
    run_id: str | None,
    scored_at_item_date: bool,
    fmt: str | None,
    buckets: int,
    master: str | None,
) -> None:
    """Score every user's candidate pairs with the Lambda's own code; write Parquet.

    Example: bem batch score --budgets b.parquet --items i.parquet --out scores/
    """
    from bem.batch import jobs, worker
    from bem.batch.entry import default_run_id

    if not requests and not (budgets and items):
        raise click.UsageError("give --budgets and --items, or --requests")
    inputs = jobs.JobInputs(budgets, items, requests, fmt=fmt)
    run = worker.ScoreRun(
        run_id or default_run_id(), model, scored_at_item_date=scored_at_item_date
    )
    report = jobs.run_score(_session(master), inputs, model, out, run, buckets)
    click.echo(json.dumps(asdict(report), indent=2))


@batch_group.command("features")
@click.option(
    "--rows", required=True, help="Labelled rows (as for bem train --data): Parquet/CSV/JSONL."
)
@click.option("--out", required=True, help="Output directory of the feature table (Parquet).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "json"]), default=None)
@click.option("--buckets", default=256, show_default=True, help="User buckets (groups).")
@click.option("--master", default=None, help=SPARK_HELP)
def features_command(
    rows: str, out: str, fmt: str | None, buckets: int, master: str | None
) -> None:
    """Build the labelled feature table of every candidate pair, for `bem train --data`.

    Example: bem batch features --rows history.csv --out features/ && bem train --data features/
    """
    from bem.batch import jobs

    inputs = jobs.JobInputs(rows=rows, fmt=fmt)
    report = jobs.run_features(_session(master), inputs, out, buckets)
    click.echo(json.dumps(asdict(report), indent=2))
