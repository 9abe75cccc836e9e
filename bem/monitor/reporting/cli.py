"""`bem monitor metrics`, `errors`, `report` and `watch`: what the store says about a period
(thin Click layer). `bem/monitor/cli.py` adds COMMANDS to the `bem monitor` group."""

from __future__ import annotations

import functools
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from bem.data.csv_writer import write_csv
from bem.deploy.options.cli import Target, target_options
from bem.monitor.options.cli import db_option, end_option, today
from budget_matcher import config

ALERT_EXIT_CODE = 3


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
            end=end.date() if end else today() + timedelta(days=1),
            days=days,
            min_labels=min_labels,
            alert_window_days=alert_window_days,
            attribution_days=attribution_days,
        )
        return command(*args, options=options, **kwargs)

    decorators = [
        end_option("tomorrow, UTC"),
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


@click.command("metrics")
@db_option
@end_option("tomorrow, UTC")
@click.option("--days", default=30, show_default=True, help="Days in the period.")
@click.option("--by-version/--all-versions", default=True, show_default=True)
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]), default="table")
def metrics_command(
    db_url: str | None, end: datetime | None, days: int, by_version: bool, output: str
) -> None:
    """Precision, recall, F1, volume, match rate and median hours to completion per day.

    Example: bem monitor metrics --days 14 --format csv > daily.csv
    """
    from bem.monitor.metrics_sql import daily_metrics, text_table
    from bem.monitor.store import open_store

    last = end.date() if end else today() + timedelta(days=1)
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
        write_csv(sys.stdout, columns, rows)
        return
    for line in text_table(rows, columns):
        click.echo(line)


@click.command("errors")
@click.argument("kind", type=click.Choice(["fp", "fn"]))
@db_option
@end_option("tomorrow, UTC")
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

    last = end.date() if end else today() + timedelta(days=1)
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
            import predict
            from bem.explain.stored import explain_stored

            try:
                rows = explain_stored(connection, rows, explain_with)
            except predict.ModelUnavailable as error:  # the Lambda's own refusal
                message = f"{explain_with}: {error.code}: {error.message}"
                raise click.ClickException(message) from error
    if not rows:
        click.echo(f"no {kind} in the period", err=True)
        return
    write_csv(sys.stdout, list(rows[0]), rows)


@click.command("report")
@db_option
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
    from bem.monitor.notify import alert_line, report_message, send_report
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
    for alert in report.summary["alerts"]:
        click.echo(alert_line(alert))
    for reason in report.summary.get("missing_plots", {}).values():
        click.echo(reason)
    if email_to:
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


@click.command("watch")
@db_option
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
    from bem.monitor.notify import alert_line
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
        for alert in report.summary["alerts"]:
            click.echo(alert_line(alert))
        for decision in decisions:
            click.echo(decision.line())
        click.echo(
            f"{len(report.summary['alerts'])} alert(s), {len(decisions)} decision(s) recorded"
        )
    if report.alert:
        sys.exit(ALERT_EXIT_CODE)


# the commands of this module, in the order of its file
COMMANDS = (metrics_command, errors_command, report_command, watch_command)
