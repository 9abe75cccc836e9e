"""`bem batch`: score history or build training sets on Spark; package and submit to EMR."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from bem.batch import BATCH_MAX_PAIRS_PER_USER

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


# Where `bem batch package` writes the dependency archive and `bem batch submit` takes it from.
DEFAULT_ARCHIVE = Path("dist/batch/environment.tar.gz")

form_option = click.option(
    "--form",
    type=click.Choice(["auto", "lean", "sklearn"]),
    default="auto",
    show_default=True,
    help="Model form: lean serves compiled trees when the model directory holds them "
    "(python -m bem.packaging.tree_compiler DIR/model_lean.npz); auto prefers scikit-learn.",
)
inputs_option = click.option(
    "--inputs/--no-inputs",
    "with_inputs",
    default=False,
    show_default=True,
    help="--inputs copies each pair's budget and item fields into its row (for `bem monitor "
    "errors`); the default writes ids, scores, decisions and errors only (a third less CPU).",
)


max_pairs_option = click.option(
    "--max-pairs-per-user",
    type=click.IntRange(min=1),
    default=BATCH_MAX_PAIRS_PER_USER,
    show_default=True,
    help="A user with more candidate pairs gets one too_many_pairs row (worker memory).",
)


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
@click.option(
    "--buckets", type=int, default=None, help="User buckets (groups) of tables; default 4 per core."
)
@max_pairs_option
@form_option
@inputs_option
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
    buckets: int | None,
    max_pairs_per_user: int,
    form: str,
    with_inputs: bool,
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
        run_id or default_run_id(),
        model,
        scored_at_item_date=scored_at_item_date,
        form=None if form == "auto" else form,
        max_pairs_per_user=max_pairs_per_user,
        with_inputs=with_inputs,
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


@batch_group.command("package")
@click.option("--python", "python", default="3.12", show_default=True, help="The cluster's Python.")
@click.option("--arch", default="x86_64", show_default=True, help="x86_64 or arm64.")
@click.option(
    "--interpreter-home",
    default="/usr/bin",
    show_default=True,
    help="Where the cluster's python<version> lives (bin/python links there).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_ARCHIVE,
    show_default=True,
)
@click.option("--check/--no-check", default=True, show_default=True, help="Check tags; score.")
@click.option("--model-dir", type=click.Path(path_type=Path), default=Path("model"))
def package_command(
    python: str, arch: str, interpreter_home: str, out: Path, check: bool, model_dir: Path
) -> None:
    """Build the dependency archive for EMR Serverless from manylinux wheels (no Docker).

    Example: bem batch package --python 3.12 --out dist/batch/environment.tar.gz
    """
    from bem.batch import package
    from bem.batch.codezip import REPO_ROOT, build_code_zip

    try:
        report = package.build_archive(out, python, arch, interpreter_home)
        if check:
            code_zip = build_code_zip(out.parent / "bem_batch_code.zip")
            nltk = REPO_ROOT / "nltk_data"
            report = package.check_archive(report, code_zip, model_dir.resolve(), nltk)
    except package.PackageError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{out}: {report.size_bytes / 1e6:.1f} MB, python{python} {arch}")
    if check:
        click.echo(f"{len(report.wheels)} distributions; seed example score {report.seed_score}")
        for problem in report.problems:
            click.echo(f"PROBLEM {problem}", err=True)
        if report.problems:
            raise SystemExit(1)


@batch_group.command("submit")
@click.option("--application-id", required=True, help="EMR Serverless application id.")
@click.option("--role-arn", required=True, help="The job's execution role.")
@click.option(
    "--s3-prefix",
    envvar="BEM_BATCH_S3_PREFIX",
    required=True,
    help="s3://bucket/prefix for artefacts and logs ($BEM_BATCH_S3_PREFIX).",
)
@click.option(
    "--archive",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_ARCHIVE,
    show_default=True,
    help="From bem batch package.",
)
@click.option("--model-dir", type=click.Path(exists=True, path_type=Path), default=Path("model"))
@click.option("--job", type=click.Choice(["score", "features"]), default="score")
@click.option("--budgets", default=None, help="S3 URI of the budgets (score).")
@click.option("--items", default=None, help="S3 URI of the line items (score).")
@click.option("--requests", default=None, help="S3 URI of request JSON lines (score).")
@click.option("--rows", default=None, help="S3 URI of labelled rows (features).")
@click.option("--out", required=True, help="S3 URI the job writes Parquet to.")
@form_option
@inputs_option
@max_pairs_option
@click.option("--run", "run_now", is_flag=True, help="Upload and start (default: print).")
@click.option("--region", default=None)
@click.option("--endpoint-url", default=None, help="AWS endpoint (e.g. a local moto server).")
def submit_command(
    application_id: str,
    role_arn: str,
    s3_prefix: str,
    archive: Path,
    model_dir: Path,
    job: str,
    budgets: str | None,
    items: str | None,
    requests: str | None,
    rows: str | None,
    out: str,
    form: str,
    with_inputs: bool,
    max_pairs_per_user: int,
    run_now: bool,
    region: str | None,
    endpoint_url: str | None,
) -> None:
    """Print (or with --run, check the application's Spark, upload and start) the EMR
    Serverless job run.

    Example: bem batch submit --application-id 00abc --role-arn arn:aws:iam::1:role/emr
    --s3-prefix s3://bucket/bem --budgets s3://bucket/b/ --items s3://bucket/i/
    --out s3://bucket/scores/ --run
    """
    import tempfile

    import boto3

    from bem.batch import submit

    arguments = [job]
    for name, value in (("budgets", budgets), ("items", items), ("requests", requests)):
        if value and job == "score":
            arguments += [f"--{name}", value]
    if job == "score":
        arguments += ["--form", form] if form != "auto" else []
        arguments += ["--inputs" if with_inputs else "--no-inputs"]
        arguments += ["--max-pairs-per-user", str(max_pairs_per_user)]
    if job == "features":
        if not rows:
            raise click.UsageError("--job features needs --rows")
        arguments += ["--rows", rows]
    arguments += ["--out", out]
    with tempfile.TemporaryDirectory(prefix="bem-submit-") as workdir:
        plan = submit.plan_job(
            Path(workdir), archive, model_dir, s3_prefix, application_id, role_arn, arguments
        )
        if not run_now:
            click.echo(
                json.dumps({"uploads": plan.uploads, "start_job_run": plan.request}, indent=2)
            )
            return
        session = boto3.session.Session(region_name=region)
        emr = session.client("emr-serverless", endpoint_url=endpoint_url)
        try:
            submit.check_application(emr, application_id)
        except submit.SubmitError as error:
            raise click.ClickException(str(error)) from error
        submit.upload(session.client("s3", endpoint_url=endpoint_url), plan)
        answer = submit.start(emr, plan)
    click.echo(json.dumps(answer, indent=2))
