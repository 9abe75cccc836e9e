"""`bem monitor`: the group, and the commands that fill the store — schema, results from logs,
scores, S3, labels, spooled results, a simulated history (thin Click layer). The commands that
read it (metrics, errors, report, watch) are in `bem/monitor/reporting/cli.py`."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from bem.data.cli import column_options, mapping_from
from bem.data.columns import HistoryError
from bem.monitor.options.cli import db_option, end_option, today
from bem.monitor.reporting.cli import COMMANDS as READING_COMMANDS
from budget_matcher import config


@click.group("monitor")
def monitor_group() -> None:
    """Monitor the matcher in production: store results, add labels, measure, report.

    Example: bem monitor simulate --db sqlite:///sim.db --drop-day 60 &&
    bem monitor report --db sqlite:///sim.db --out reports/report.html
    """


@monitor_group.command("init-db")
@db_option
def init_db_command(db_url: str | None) -> None:
    """Create or migrate the store's schema (idempotent).

    Example: bem monitor init-db --db postgresql+psycopg://postgres@127.0.0.1/test
    """
    from bem.monitor.store import create_engine, ensure_schema, resolve_url

    engine = create_engine(resolve_url(db_url))
    actions = ensure_schema(engine)
    click.echo("\n".join(actions) if actions else "schema up to date")


@monitor_group.command("ingest-logs")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@db_option
@click.option("--log-group", default=None, help="Read this CloudWatch log group directly.")
@click.option(
    "--since-hours",
    default=24.0,
    show_default=True,
    help="With --log-group: events of the last N hours.",
)
@click.option("--region", default=None, help="AWS region of the log group.")
@click.option("--endpoint-url", default=None, help="CloudWatch Logs endpoint (e.g. a local one).")
def ingest_logs_command(
    paths: tuple[Path, ...],
    db_url: str | None,
    log_group: str | None,
    since_hours: float,
    region: str | None,
    endpoint_url: str | None,
) -> None:
    """Load results from the handler's log lines: exported files (.gz, directories, the JSON of
    `aws logs filter-log-events`) or a log group. Idempotent: overlaps load once.

    Example: bem monitor ingest-logs --log-group /aws/lambda/budget-expense-matcher --since-hours 48
    """
    from bem.monitor.ingest import cloudwatch_lines, ingest_lines, ingest_log_files
    from bem.monitor.store import open_store

    if not paths and not log_group:
        raise click.UsageError("give log files or --log-group")
    engine = open_store(db_url)
    report = ingest_log_files(engine, paths)
    if log_group:
        import boto3

        client = boto3.client("logs", region_name=region, endpoint_url=endpoint_url)
        start = datetime.now(UTC) - timedelta(hours=since_hours)
        report = ingest_lines(engine, cloudwatch_lines(client, log_group, start), report)
    click.echo(
        f"files {report.files}, result lines {report.lines}, rows {report.rows}; "
        f"unreadable: {len(report.bad_files)} files, {report.bad_lines} result lines"
    )
    _report_bad_files(report.bad_files)


@monitor_group.command("ingest-scores")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@db_option
def ingest_scores_command(paths: tuple[Path, ...], db_url: str | None) -> None:
    """Load the scores Parquet written by `bem batch score` (files or directories).
    Idempotent: loading the same run again adds nothing.

    Example: bem monitor ingest-scores rescored/ --db sqlite:///results.db
    """
    from bem.monitor.ingest import ingest_scores_parquet
    from bem.monitor.store import open_store

    report = ingest_scores_parquet(open_store(db_url), paths)
    click.echo(
        f"files {report.files}, rows read {report.lines}, rows offered {report.rows}; "
        f"unreadable files {len(report.bad_files)}"
    )
    _report_bad_files(report.bad_files)


def _report_bad_files(bad_files: list[tuple[str, str]]) -> None:
    """Each file that loaded nothing, with its reason; exit status 1 when there is one."""
    for path, reason in bad_files:
        click.echo(f"  not loaded {path}: {reason}", err=True)
    if bad_files:
        sys.exit(1)


@monitor_group.command("label")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@db_option
@click.option(
    "--unlisted",
    type=click.Choice(["ignore", "negative"]),
    default="ignore",
    show_default=True,
    help="Scored pairs of the file's users (user_id) that it leaves out: no label, or no match.",
)
@column_options
def label_command(
    files: tuple[Path, ...],
    db_url: str | None,
    unlisted: str,
    columns_file: Path | None,
    column_pairs: tuple[str, ...],
    labels: str | None,
) -> None:
    """Load ground-truth labels (CSV/JSON: budget_id, itemization_id, is_match, optional
    labeled_at (default now), resolved_at, user_id); a training history is a label file.
    A newer label of the same pair replaces the older one.

    Example: bem monitor label labels-2026-11.csv

    Example: bem monitor label history.csv --unlisted negative --column trip_id=budget_id
    """
    from bem.monitor.labels import ingest_labels
    from bem.monitor.store import open_store

    mapping = mapping_from(columns_file, column_pairs, labels)
    engine = open_store(db_url)
    empty = 0  # files with nothing readable: everything readable stored is a success
    for path in files:
        try:
            load = ingest_labels(engine, path, unlisted=unlisted, mapping=mapping)
        except HistoryError as error:
            raise click.ClickException(str(error)) from error
        empty += not load.rows and bool(load.rejected)
        extra = f", {load.unlisted} unlisted pairs labelled no match" if load.unlisted else ""
        click.echo(f"{path}: {len(load.rows)} labels stored{extra}, {len(load.rejected)} rejected")
        for message in load.rejected[:10]:
            click.echo(f"  {message}", err=True)
        if len(load.rejected) > 10:
            click.echo(f"  … and {len(load.rejected) - 10} more", err=True)
    if empty:
        sys.exit(1)


@monitor_group.command("label-queue")
@db_option
@end_option("tomorrow, UTC: up to now")
@click.option("--days", default=30, show_default=True, help="Pairs scored in the last N days.")
@click.option("--limit", default=200, show_default=True, help="At most this many pairs.")
@click.option(
    "--near", default=0.15, show_default=True, help="Near the threshold: |score − threshold| < x."
)
@click.option("--few", default=30, show_default=True, help="A segment with fewer labels has few.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV file (default: stdout).",
)
def label_queue_command(
    db_url: str | None,
    end: datetime | None,
    days: int,
    limit: int,
    near: float,
    few: int,
    out: Path | None,
) -> None:
    """The stored pairs whose labels would teach most, as a history CSV for reviewers: near
    the threshold, decided differently by two versions, in segments with few labels, items no
    budget took though a budget names their vendor. One pair per item. Fill in is_match, then
    `bem monitor label` reads it back.

    Example: bem monitor label-queue --limit 300 --out queue.csv && bem monitor label queue.csv
    """
    from bem.monitor.label_queue import QueueSettings, label_queue, write_queue, write_queue_file
    from bem.monitor.store import open_store

    stop = end or datetime.combine(today() + timedelta(days=1), datetime.min.time())
    engine = open_store(db_url)
    with engine.connect() as connection:
        queue = label_queue(
            connection, stop - timedelta(days=days), stop, QueueSettings(limit, near, few)
        )
    engine.dispose()
    written = write_queue_file(queue, out) if out else write_queue(queue, sys.stdout)
    reasons = Counter(reason for candidate in queue for reason in candidate.reasons)
    click.echo(
        f"{written} pairs to label; " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())),
        err=True,
    )


@monitor_group.command("replay")
@db_option
@click.option(
    "--spool-dir",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Spool directory (default: ${config.ENV_RESULTS_SPOOL_DIR} or "
    f"{config.DEFAULT_RESULTS_SPOOL_DIR}).",
)
def replay_command(db_url: str | None, spool_dir: Path | None) -> None:
    """Load results spooled during a database fault into the store, then delete the files.

    Example: bem monitor replay --spool-dir /tmp/bem-spool
    """
    from bem.monitor.store import open_store, resolve_url
    from budget_matcher.results_sink import ResultsSink

    url = resolve_url(db_url)
    open_store(url).dispose()
    sink = ResultsSink(db_url=url, spool_dir=spool_dir, log_lines=False)
    report = sink.replay()
    sink.dispose()
    click.echo(f"replayed {report.files} files, {report.rows} rows; {report.failed_files} failed")
    if report.failed_files:
        sys.exit(1)


@monitor_group.command("ingest-s3")
@click.argument("uri")
@db_option
@click.option("--region", default=None, help="AWS region of the bucket.")
@click.option("--endpoint-url", default=None, help="S3 endpoint (e.g. a local one).")
def ingest_s3_command(
    uri: str, db_url: str | None, region: str | None, endpoint_url: str | None
) -> None:
    """Load the results sink's objects under an s3://bucket/prefix into the store. Idempotent:
    each object is loaded once (recorded with its ETag), each result once by its key.

    Example: bem monitor ingest-s3 s3://my-results/bem/results/dt=2026-12-01/
    """
    import boto3

    from bem.monitor.ingest_s3 import ingest_s3
    from bem.monitor.store import open_store

    client = boto3.client("s3", region_name=region, endpoint_url=endpoint_url)
    report = ingest_s3(open_store(db_url), client, uri)
    click.echo(
        f"objects {report.objects} ({report.skipped} already loaded), rows {report.rows}, "
        f"unreadable {report.unreadable} (set aside; {report.set_aside_before} set aside before)"
    )
    for key, reason in report.rejected[:20]:
        click.echo(f"  set aside {key}: {reason}", err=True)
    if report.unreadable or report.set_aside_before:
        sys.exit(1)


@monitor_group.command("simulate")
@db_option
@end_option("today, UTC")
@click.option("--days", default=90, show_default=True)
@click.option("--pairs-per-day", default=1500, show_default=True)
@click.option("--drop-day", type=int, default=None, help="Day index where precision drops.")
@click.option("--drop-to", default=0.75, show_default=True, help="Precision after the drop.")
@click.option(
    "--drop-kind",
    type=click.Choice(["shift", "concept"]),
    default="concept",
    show_default=True,
    help="shift: inputs move near the threshold (scores show it); concept: the world changes "
    "under confident scores (only labels show it).",
)
@click.option("--drop-segment", default=None, help="Only this segment drops: budget_type=car, …")
@click.option("--version-day", type=int, default=30, show_default=True, help="Day of 2026.2.")
@click.option("--seed", default=0, show_default=True)
def simulate_command(
    db_url: str | None,
    end: datetime | None,
    days: int,
    pairs_per_day: int,
    drop_day: int | None,
    drop_to: float,
    drop_kind: str,
    drop_segment: str | None,
    version_day: int,
    seed: int,
) -> None:
    """Fill the store with a synthetic history (scored pairs + delayed labels).

    Example: bem monitor simulate --db sqlite:///sim.db --days 90 --drop-day 60 --seed 3
    """
    from bem.monitor.simulate import parse_segment, simulate_history
    from bem.monitor.store import open_store

    try:
        segment = parse_segment(drop_segment)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--drop-segment") from None
    history = simulate_history(
        end.date() if end else today(),
        days=days,
        pairs_per_day=pairs_per_day,
        seed=seed,
        drop_day=drop_day,
        drop_to=drop_to,
        drop_kind=drop_kind,
        drop_segment=segment,
        version_day=version_day,
    )
    with open_store(db_url).begin() as connection:
        history.store(connection)
    drop = f", precision drop from {history.drop_date} ({drop_kind})" if history.drop_date else ""
    click.echo(
        f"{len(history.results)} scored pairs, {len(history.labels)} labels from "
        f"{history.first_day}{drop}"
    )


@monitor_group.command("traffic")
@db_option
@click.option("--users", default=60, show_default=True, help="Generated users to serve.")
@click.option("--seed", default=41, show_default=True, help="Seed of the users.")
@click.option("--knob", "overrides", multiple=True, metavar="NAME=VALUE",
              help="A `bem synth` knob of the users (repeatable).")  # fmt: skip
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="Day of the first requests (10 requests of 10 users a day).")  # fmt: skip
@click.option("--model-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="The scoring model (default: the model of record).")  # fmt: skip
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write what reviewers would say of these users: their matches as a "
              "history for `bem monitor label --unlisted negative`.")  # fmt: skip
def traffic_command(
    db_url: str | None,
    users: int,
    seed: int,
    overrides: tuple[str, ...],
    day: datetime,
    model_dir: Path | None,
    truth: Path | None,
) -> None:
    """Production traffic from generated users: their requests scored by a model and stored as
    the handler stores them, from --day on (a walk-through of the learning loop, a bench).

    Example: bem monitor traffic --users 80 --knob date_delay=15 --day 2026-11-02 --truth t.csv
    """
    import csv

    import predict
    from bem.loop.traffic import history_rows, serve
    from bem.monitor.store import open_store
    from bem.synth.knobs import SynthConfig, knobs_from_options
    from bem.synth.users import generate_users

    try:
        knobs = knobs_from_options(1.0, overrides)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--knob") from None
    generated = generate_users(SynthConfig(users=users, seed=seed, knobs=knobs))
    model = predict.load_model(model_dir, "sklearn")
    engine = open_store(db_url)
    stored = serve(engine, generated, model, day, prefix=f"s{seed}")
    engine.dispose()
    if truth is not None:
        with truth.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, ["user_id", "budget_id", "itemization_id", "is_match"])
            writer.writeheader()
            writer.writerows(history_rows(generated))
    click.echo(
        f"{stored} scored pairs of {users} users by model {model.version} from {day:%Y-%m-%d}"
    )


for _command in READING_COMMANDS:
    monitor_group.add_command(_command)
