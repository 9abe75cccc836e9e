"""`bem monitor`: results store, labels, metrics, report, simulation (thin Click layer)."""

from __future__ import annotations

import csv
import functools
import json
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from bem.data.cli import column_options, mapping_from
from bem.deploy.options.cli import Target, target_options
from budget_matcher import config

DB_HELP = (
    f"SQLAlchemy URL of the store (default: ${config.ENV_RESULTS_DB_URL} or sqlite:///results.db)"
)
ALERT_EXIT_CODE = 3


def _today() -> date:
    return datetime.now(UTC).date()


def _end_option(default_help: str) -> Any:
    return click.option(
        "--end",
        type=click.DateTime(["%Y-%m-%d"]),
        default=None,
        help=f"First day after the period, YYYY-MM-DD (default: {default_help}).",
    )


def report_options(command: Any) -> Any:
    """--end, --days, --min-labels, --alert-window-days, --attribution-days → `options`
    (a ReportOptions); shared by `report` and `watch`."""

    @functools.wraps(command)
    def collapse(
        *args: Any,
        end: datetime | None,
        days: int,
        min_labels: int,
        alert_window_days: int,
        attribution_days: int,
        **kwargs: Any,
    ) -> Any:
        from bem.monitor.report import ReportOptions

        options = ReportOptions(
            end=end.date() if end else _today() + timedelta(days=1),
            days=days,
            min_labels=min_labels,
            alert_window_days=alert_window_days,
            attribution_days=attribution_days,
        )
        return command(*args, options=options, **kwargs)

    decorators = [
        _end_option("tomorrow, UTC"),
        click.option("--days", default=90, show_default=True, help="Days in the period."),
        click.option("--min-labels", default=30, show_default=True,
                     help="Days with fewer labelled pairs are left out of precision/recall/F1."),
        click.option("--alert-window-days", default=14, show_default=True,
                     help="Only alerts dated in the last N days fail the run (0 = whole period)."),
        click.option("--attribution-days", default=7, show_default=True,
                     help="An alert starting within N days of a version going live is put "
                     "down to that version."),
    ]  # fmt: skip
    for decorator in reversed(decorators):
        collapse = decorator(collapse)
    return collapse


@click.group("monitor")
def monitor_group() -> None:
    """Monitor the matcher in production: store results, add labels, measure, report.

    Example: bem monitor simulate --db sqlite:///sim.db --drop-day 60 &&
    bem monitor report --db sqlite:///sim.db --out reports/report.html
    """


@monitor_group.command("init-db")
@click.option("--db", "db_url", default=None, help=DB_HELP)
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
@click.option("--db", "db_url", default=None, help=DB_HELP)
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
    click.echo(f"files {report.files}, result lines {report.lines}, rows {report.rows}")


@monitor_group.command("ingest-scores")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--db", "db_url", default=None, help=DB_HELP)
def ingest_scores_command(paths: tuple[Path, ...], db_url: str | None) -> None:
    """Load the scores Parquet written by `bem batch score` (files or directories).
    Idempotent: loading the same run again adds nothing.

    Example: bem monitor ingest-scores rescored/ --db sqlite:///results.db
    """
    from bem.monitor.ingest import ingest_scores_parquet
    from bem.monitor.store import open_store

    report = ingest_scores_parquet(open_store(db_url), paths)
    click.echo(f"files {report.files}, rows read {report.lines}, rows offered {report.rows}")


@monitor_group.command("label")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--db", "db_url", default=None, help=DB_HELP)
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
) -> None:
    """Load ground-truth labels (CSV/JSON: budget_id, itemization_id, is_match, optional
    labeled_at (default now), resolved_at, user_id); a training history is a label file.
    A newer label of the same pair replaces the older one.

    Example: bem monitor label labels-2026-11.csv

    Example: bem monitor label history.csv --unlisted negative --column trip_id=budget_id
    """
    from bem.monitor.labels import ingest_labels
    from bem.monitor.store import open_store

    mapping = mapping_from(columns_file, column_pairs)
    engine = open_store(db_url)
    rejected = 0
    for path in files:
        load = ingest_labels(engine, path, unlisted=unlisted, mapping=mapping)
        rejected += len(load.rejected)
        extra = f", {load.unlisted} unlisted pairs labelled no match" if load.unlisted else ""
        click.echo(f"{path}: {len(load.rows)} labels stored{extra}, {len(load.rejected)} rejected")
        for message in load.rejected[:10]:
            click.echo(f"  {message}", err=True)
    if rejected:
        sys.exit(1)


@monitor_group.command("replay")
@click.option("--db", "db_url", default=None, help=DB_HELP)
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


@monitor_group.command("metrics")
@click.option("--db", "db_url", default=None, help=DB_HELP)
@_end_option("tomorrow, UTC")
@click.option("--days", default=30, show_default=True, help="Days in the period.")
@click.option("--by-version/--all-versions", default=True, show_default=True)
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]), default="table")
def metrics_command(
    db_url: str | None, end: datetime | None, days: int, by_version: bool, output: str
) -> None:
    """Precision, recall, F1, volume, match rate and median hours to completion per day.

    Example: bem monitor metrics --days 14 --format csv > daily.csv
    """
    from bem.monitor.metrics_sql import daily_metrics
    from bem.monitor.store import open_store

    last = end.date() if end else _today() + timedelta(days=1)
    first = last - timedelta(days=days)
    with open_store(db_url).connect() as connection:
        rows = [
            r.as_json()
            for r in daily_metrics(
                connection,
                datetime.combine(first, datetime.min.time()),
                datetime.combine(last, datetime.min.time()),
                by_version,
            )
        ]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    columns = list(rows[0]) if rows else ["day"]
    if output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        return
    click.echo("  ".join(f"{c[:10]:>10}" for c in columns))
    for row in rows:
        click.echo("  ".join(f"{_cell(row[c]):>10}" for c in columns))


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


@monitor_group.command("errors")
@click.argument("kind", type=click.Choice(["fp", "fn"]))
@click.option("--db", "db_url", default=None, help=DB_HELP)
@_end_option("tomorrow, UTC")
@click.option("--days", default=7, show_default=True, help="Days in the period.")
@click.option("--model-version", default=None, help="Only this model version.")
@click.option("--limit", default=100, show_default=True)
@click.option(
    "--explain",
    "explain_with",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    metavar="MODEL_DIR",
    help="Add each mistake's raw score and largest contributions (bem explain) by this model.",
)
def errors_command(
    kind: str,
    db_url: str | None,
    end: datetime | None,
    days: int,
    model_version: str | None,
    limit: int,
    explain_with: Path | None,
) -> None:
    """False positives (fp) or negatives (fn) as CSV, with score, threshold, model version,
    both sides' inputs and the label; most confident mistakes first.

    Example: bem monitor errors fp --days 3 --model-version 2026.2 > fp.csv

    Example: bem monitor errors fn --explain model > fn.csv
    """
    from bem.monitor.investigate import misclassified
    from bem.monitor.store import open_store

    last = end.date() if end else _today() + timedelta(days=1)
    with open_store(db_url).connect() as connection:
        rows = misclassified(
            connection,
            kind,
            limit=limit,
            model_version=model_version,
            start=datetime.combine(last - timedelta(days=days), datetime.min.time()),
            end=datetime.combine(last, datetime.min.time()),
        )
        if rows and explain_with is not None:
            from bem.explain.stored import explain_stored

            rows = explain_stored(connection, rows, explain_with)
    if not rows:
        click.echo(f"no {kind} in the period", err=True)
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)


@monitor_group.command("report")
@click.option("--db", "db_url", default=None, help=DB_HELP)
@report_options
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("reports/report.html"),
    show_default=True,
    help="HTML page to write.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    default=None,
    help="JSON summary to write (default: beside the page, .json).",
)
@click.option("--email-to", multiple=True, help="Send the report to this address (repeatable).")
@click.option("--mail-from", default="bem-monitor@localhost", show_default=True)
@click.option("--smtp-host", default="127.0.0.1", show_default=True)
@click.option("--smtp-port", default=25, show_default=True)
@click.option("--smtp-starttls", is_flag=True, help="Upgrade the SMTP connection with STARTTLS.")
@click.option(
    "--smtp-user", default=None, help=f"SMTP login (password from ${config.ENV_SMTP_PASSWORD})."
)
def report_command(
    db_url: str | None,
    options: Any,
    out: Path,
    json_path: Path | None,
    email_to: tuple[str, ...],
    mail_from: str,
    smtp_host: str,
    smtp_port: int,
    smtp_starttls: bool,
    smtp_user: str | None,
) -> None:
    """Write the HTML report and JSON summary; exit 3 when an alert fires (for cron).

    Example: bem monitor report --days 90 --out reports/report.html || echo "precision alert"
    """
    from bem.monitor.report import build_report
    from bem.monitor.store import open_store

    with open_store(db_url).connect() as connection:
        report = build_report(connection, options)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.html, encoding="utf-8")
    summary_path = json_path or out.with_suffix(".json")
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    summary_path.write_text(json.dumps(report.summary, indent=2, default=str), encoding="utf-8")
    click.echo(
        f"report {out}, summary {summary_path}: "
        f"{len(report.summary['alerts'])} alert(s), {len(report.anomalies)} anomalies"
    )
    _echo_alerts(report.summary["alerts"])
    for reason in report.summary.get("missing_plots", {}).values():
        click.echo(reason)
    if email_to:
        from bem.monitor.notify import report_message, send_report

        message = report_message(mail_from, email_to, report.summary, report.html)
        send_report(
            message,
            smtp_host,
            smtp_port,
            smtp_starttls,
            smtp_user,
            os.environ.get(config.ENV_SMTP_PASSWORD),
        )
        click.echo(f"mailed to {', '.join(email_to)}")
    if report.alert:
        sys.exit(ALERT_EXIT_CODE)


def _echo_alerts(alerts: list[dict[str, Any]]) -> None:
    for alert in alerts:
        click.echo(
            f"ALERT {alert['day']} {alert['metric']} {alert['kind']}: "
            f"{alert['expected']:.3f} -> {alert['value']:.3f} "
            f"[{alert['source']}, {alert['segment']}; {alert['attribution']['reason']}]"
        )


@monitor_group.command("watch")
@click.option("--db", "db_url", default=None, help=DB_HELP)
@report_options
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Also write the page.")
@click.option("--dry-run", is_flag=True, help="Decide and record, but do not move the alias.")
@target_options
@click.pass_context
def watch_command(
    ctx: click.Context,
    db_url: str | None,
    options: Any,
    out: Path | None,
    dry_run: bool,
    target: Target,
) -> None:
    """Report, and roll the deployment back when an alert is put down to the live version
    (never for an alert that predates it); every decision is recorded in the store. For cron:
    exit 3 when an alert fires.

    Example: bem monitor watch --db $BEM_RESULTS_DB_URL --region us-west-2 --dry-run
    """
    from dataclasses import replace

    from bem.monitor.act import act_on_alerts
    from bem.monitor.report import build_report
    from bem.monitor.store import open_store

    engine = open_store(db_url)
    with engine.connect() as connection:
        report = build_report(connection, replace(options, render=out is not None))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.html, encoding="utf-8")
    with engine.begin() as connection:
        decisions = act_on_alerts(
            connection,
            report.summary,
            target.spec(),
            target.regions,
            target.clients(ctx),
            dry_run=dry_run,
            echo=target.echo,
        )
    if target.as_json:
        click.echo(json.dumps([d.as_json() for d in decisions], indent=2, default=str))
    else:
        _echo_alerts(report.summary["alerts"])
        for decision in decisions:
            moves = ", ".join(f"{r}: {a} -> {b}" for r, a, b in decision.moves)
            click.echo(
                f"{decision.action.upper()} {decision.reason}" + (f" ({moves})" if moves else "")
            )
        click.echo(
            f"{len(report.summary['alerts'])} alert(s), {len(decisions)} decision(s) recorded"
        )
    if report.alert:
        sys.exit(ALERT_EXIT_CODE)


@monitor_group.command("ingest-s3")
@click.argument("uri")
@click.option("--db", "db_url", default=None, help=DB_HELP)
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
        f"unreadable {report.unreadable}"
    )
    if report.unreadable:
        sys.exit(1)


@monitor_group.command("simulate")
@click.option("--db", "db_url", default=None, help=DB_HELP)
@_end_option("today, UTC")
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
    from bem.monitor.store import insert_results, open_store, upsert_labels

    try:
        segment = parse_segment(drop_segment)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--drop-segment") from None
    history = simulate_history(
        end.date() if end else _today(),
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
        insert_results(connection, history.results)
        upsert_labels(connection, history.labels)
    drop = f", precision drop from {history.drop_date} ({drop_kind})" if history.drop_date else ""
    click.echo(
        f"{len(history.results)} scored pairs, {len(history.labels)} labels from "
        f"{history.first_day}{drop}"
    )
