"""Simulated 90-day histories through the report: the injected drop is found, nothing else."""

from __future__ import annotations

import email
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from monitor_helpers import SmtpSink

from bem.cli import main
from bem.monitor.report import ReportOptions, build_report
from bem.monitor.simulate import simulate_history
from bem.monitor.store import open_store

END = date(2026, 11, 24)
PAIRS_PER_DAY = 700
SEEDS_AND_DROPS = [(4, 45), (2, 58), (3, 70)]


def _simulated_url(directory: Path, seed: int, drop_day: int | None) -> tuple[str, date | None]:
    url = f"sqlite:///{directory / f'seed{seed}-{drop_day}.db'}"
    history = simulate_history(END, pairs_per_day=PAIRS_PER_DAY, seed=seed, drop_day=drop_day)
    engine = open_store(url)
    with engine.begin() as connection:
        history.store(connection)
    engine.dispose()
    return url, history.drop_date


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, bool], tuple]:
    directory = tmp_path_factory.mktemp("histories")
    built = {}
    for seed, drop_day in SEEDS_AND_DROPS:
        built[(seed, True)] = _simulated_url(directory, seed, drop_day)
        built[(seed, False)] = _simulated_url(directory, seed, None)
    return built


def _report(url: str):
    engine = open_store(url)
    with engine.connect() as connection:
        report = build_report(connection, ReportOptions(end=END, alert_window_days=0))
    engine.dispose()
    return report


@pytest.mark.parametrize("seed", [s for s, _ in SEEDS_AND_DROPS])
@pytest.mark.slow
def test_report_flags_injected_precision_drop_within_two_days(histories, seed: int) -> None:
    url, drop_date = histories[(seed, True)]
    report = _report(url)
    assert report.alert is True
    days = sorted(date.fromisoformat(a["day"]) for a in report.summary["alerts"])
    assert abs((days[0] - drop_date).days) <= 2, (days, drop_date)
    assert all(
        drop_date - timedelta(days=2) <= day <= drop_date + timedelta(days=2) for day in days
    )
    assert {a["metric"] for a in report.summary["alerts"]} <= {"precision", "f1"}


@pytest.mark.parametrize("seed", [s for s, _ in SEEDS_AND_DROPS])
@pytest.mark.slow
def test_report_raises_no_alert_without_a_drop(histories, seed: int) -> None:
    url, _ = histories[(seed, False)]
    report = _report(url)
    assert report.alert is False
    assert report.summary["alerts"] == []
    assert report.summary["totals"]["volume"] > 80 * PAIRS_PER_DAY * 0.5
    precision = report.summary["totals"]["precision"]
    assert 0.87 < precision < 0.93  # the simulated level is 0.90


@pytest.mark.slow
def test_report_command_exit_codes_and_files(histories, tmp_path: Path) -> None:
    runner = CliRunner()
    drop_url, drop_date = histories[(4, True)]
    arguments = ["monitor", "report", "--end", END.isoformat(), "--alert-window-days", "0"]
    alerted = runner.invoke(main, [*arguments, "--db", drop_url, "--out", str(tmp_path / "a.html")])
    assert alerted.exit_code == 3, alerted.output
    assert f"ALERT {drop_date.isoformat()} precision" in alerted.output
    summary = json.loads((tmp_path / "a.json").read_text())
    assert summary["alert"] is True and len(summary["daily"]) == 90

    clean_url, _ = histories[(4, False)]
    quiet = runner.invoke(main, [*arguments, "--db", clean_url, "--out", str(tmp_path / "b.html")])
    assert quiet.exit_code == 0, quiet.output

    # the default alert window (last 14 days) ignores a drop 45 days back
    windowed = runner.invoke(
        main,
        [
            "monitor",
            "report",
            "--end",
            END.isoformat(),
            "--db",
            drop_url,
            "--out",
            str(tmp_path / "c.html"),
        ],
    )
    assert windowed.exit_code == 0, windowed.output


@pytest.mark.slow
def test_report_html_is_self_contained_with_all_plots(histories) -> None:
    url, _ = histories[(2, True)]
    page = _report(url).html
    for name in ("precision", "recall", "f1", "volume", "completion", "scores"):
        assert f'id="plot-{name}"' in page
    assert page.count("<svg") == 14  # totals 6, estimate 3, calibration 2, segments 3
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    embedded = re.search(r'<script type="application/json" id="summary">(.*?)</script>', page, re.S)
    assert embedded and json.loads(embedded.group(1))["alert"] is True


@pytest.mark.slow
def test_report_is_mailed_through_smtp(histories, tmp_path: Path) -> None:
    url, _ = histories[(3, True)]
    server = SmtpSink()
    try:
        result = CliRunner().invoke(
            main,
            [
                "monitor",
                "report",
                "--db",
                url,
                "--end",
                END.isoformat(),
                "--alert-window-days",
                "0",
                "--out",
                str(tmp_path / "r.html"),
                "--email-to",
                "ds@example.com",
                "--smtp-port",
                str(server.port),
            ],
        )
    finally:
        server.close()
    assert result.exit_code == 3, result.output
    assert len(server.messages) == 1
    message = email.message_from_bytes(server.messages[0])
    assert message["Subject"].startswith("[bem monitor] ALERT")
    assert message["To"] == "ds@example.com"
    parts = {part.get_content_type(): part for part in message.walk()}
    html_part = parts["text/html"].get_payload(decode=True)
    assert isinstance(html_part, bytes) and b"<svg" in html_part
    attached_part = parts["application/json"].get_payload(decode=True)
    assert isinstance(attached_part, bytes)
    attached = json.loads(attached_part)
    assert attached["alert"] is True


def test_simulate_command_fills_a_store(db_url: str) -> None:
    result = CliRunner().invoke(
        main,
        [
            "monitor",
            "simulate",
            "--db",
            db_url,
            "--days",
            "10",
            "--pairs-per-day",
            "50",
            "--end",
            "2026-11-24",
            "--drop-day",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "precision drop from 2026-11-19" in result.output
    metrics = CliRunner().invoke(
        main,
        [
            "monitor",
            "metrics",
            "--db",
            db_url,
            "--end",
            "2026-11-24",
            "--days",
            "10",
            "--format",
            "json",
        ],
    )
    days = json.loads(metrics.output)
    assert {d["day"] for d in days} >= {"2026-11-14", "2026-11-23"}
    assert {d["model_version"] for d in days} == {"2026.1"}


def test_report_on_an_empty_store_says_no_alert(db_url: str) -> None:
    engine = open_store(db_url)
    with engine.connect() as connection:
        report = build_report(connection, ReportOptions(end=END))
    engine.dispose()
    assert report.alert is False and report.summary["totals"]["volume"] == 0
    assert 'id="status">No alert' in report.html


def test_report_draws_data_labels_as_plain_text(tmp_path: Path) -> None:
    """A budget type or model version that looks like mathtext (`$x^$`) is drawn verbatim."""
    from budget_matcher.results_db import results

    url = f"sqlite:///{tmp_path / 'math.db'}"
    history = simulate_history(END, pairs_per_day=80, seed=5, drop_day=None)
    engine = open_store(url)
    with engine.begin() as connection:
        history.store(connection)
        connection.execute(results.update().values(budget_type="$x^$", model_version="$\\frac{"))
    with engine.connect() as connection:
        report = build_report(connection, ReportOptions(end=END, alert_window_days=0))
    engine.dispose()
    assert report.html.count("<svg") >= 6
