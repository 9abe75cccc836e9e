"""`bem monitor watch` end to end against a moto server: two published versions behind the
`live` alias, a simulated history in the store; a drop that starts with the live version rolls
the alias back, a drop that predates it does not, and every decision is recorded."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bem.cli import main
from bem.deploy.aws import ClientFactory, boto3_client_factory
from bem.deploy.ops import deploy
from bem.deploy.plan import read_artifact
from bem.deploy.spec import FunctionSpec
from bem.local.testing import make_zip
from bem.monitor.simulate import simulate_history
from bem.monitor.store import actions, open_store

END = date(2026, 11, 24)
REGION = "us-west-2"
VERSION_DAY = 85  # model 2026.2 goes live 5 days before the end


def _no_sleep(_seconds: float) -> None:
    """Nothing to wait for against moto."""


@pytest.fixture
def clients(aws: str) -> ClientFactory:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", aws_session_token="testing"
    )
    return boto3_client_factory(session=session, endpoint_url=aws)


@pytest.fixture
def two_versions(clients: ClientFactory, tmp_path: Path) -> FunctionSpec:
    """Lambda versions 1 (model 2026.1) and 2 (model 2026.2, live) of function "matcher"."""
    spec = FunctionSpec(name="matcher")
    for model in ("2026.1", "2026.2"):
        zip_path = make_zip(
            tmp_path / f"{model}.zip",
            {
                "lambda_handler.py": f"# {model}\ndef handler(event, context):\n    return []\n",
                "model/model.json": json.dumps({"version": model}),
            },
        )
        deploy(spec, read_artifact(zip_path, commit="abc123"), [REGION], clients, sleep=_no_sleep)
    alias = clients("lambda", REGION).get_alias(FunctionName="matcher", Name="live")
    assert alias["FunctionVersion"] == "2"
    return spec


def _store(tmp_path: Path, drop_day: int) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    history = simulate_history(
        END, pairs_per_day=600, seed=4, drop_day=drop_day, drop_kind="shift",
        version_day=VERSION_DAY,
    )  # fmt: skip
    engine = open_store(url)
    with engine.begin() as connection:
        history.store(connection)
    engine.dispose()
    return url


def _watch(aws: str, url: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        ["monitor", "watch", "--db", url, "--end", END.isoformat(), "--function-name", "matcher",
         "--region", REGION, "--endpoint-url", aws, *extra],
    )  # fmt: skip
    return result.exit_code, result.output


def _recorded(url: str) -> list[sa.Row]:
    engine = open_store(url)
    with engine.connect() as connection:
        rows = list(connection.execute(sa.select(actions).order_by(actions.c.id)))
    engine.dispose()
    return rows


def _live(clients: ClientFactory) -> str:
    alias = clients("lambda", REGION).get_alias(FunctionName="matcher", Name="live")
    return str(alias["FunctionVersion"])


@pytest.mark.slow
def test_watch_rolls_back_a_drop_that_starts_with_the_live_version(
    aws: str, clients: ClientFactory, two_versions: FunctionSpec, tmp_path: Path
) -> None:
    url = _store(tmp_path, drop_day=VERSION_DAY)
    dry_code, dry_output = _watch(aws, url, "--dry-run")
    assert dry_code == 3, dry_output
    assert "WOULD_ROLLBACK" in dry_output and _live(clients) == "2"

    code, output = _watch(aws, url)
    assert code == 3, output
    assert "ROLLBACK alert attributed to the live version 2026.2" in output
    assert "us-west-2: 2 -> 1" in output
    assert _live(clients) == "1"
    rows = _recorded(url)
    rolled = [r for r in rows if r.action == "rollback"]
    assert len(rolled) == 1
    assert (rolled[0].model_version, rolled[0].from_version, rolled[0].to_version) == (
        "2026.2",
        "2",
        "1",
    )
    assert rolled[0].alert_day >= END - timedelta(days=90 - VERSION_DAY)
    assert rolled[0].alert_source == "estimate"  # seen before the labels arrived

    code, output = _watch(aws, url)  # cron runs again: version 1 is live now
    assert code == 3 and _live(clients) == "1"
    assert "ROLLBACK alert" not in output
    assert len([r for r in _recorded(url) if r.action == "rollback"]) == 1


@pytest.mark.slow
def test_watch_never_rolls_back_for_a_drop_that_predates_the_live_version(
    aws: str, clients: ClientFactory, two_versions: FunctionSpec, tmp_path: Path
) -> None:
    url = _store(tmp_path, drop_day=VERSION_DAY - 5)
    code, output = _watch(aws, url)
    assert code == 3, output  # the drop still alerts
    assert _live(clients) == "2"  # but the alias stays
    rows = _recorded(url)
    assert rows and all(r.action == "none" for r in rows)
    assert any("predates the live version 2026.2" in r.reason for r in rows)
    assert not any(r.model_version == "2026.2" and r.action != "none" for r in rows)
