"""The Lambda handler with the results store configured: every answer is stored and measured."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import lambda_handler
from bem.cli import main
from bem.monitor.store import open_store, results
from budget_matcher import side_paths
from budget_matcher.results_sink import rows_from_line, spool_files


def _context(request_id: str) -> Any:
    return SimpleNamespace(aws_request_id=request_id, function_name="bem", memory_limit_in_mb=512)


def _stored(url: str) -> list[Any]:
    engine = open_store(url)
    with engine.connect() as connection:
        rows = list(connection.execute(sa.select(results).order_by(results.c.budget_id)))
    engine.dispose()
    return rows


def test_handler_stores_each_scored_pair_and_emits_metrics(
    tiny_model: Path,
    db_url: str,
    tmp_path: Path,
    batch_payload: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BEM_RESULTS_DB_URL", db_url)
    monkeypatch.setenv("BEM_RESULTS_SPOOL_DIR", str(tmp_path / "spool"))
    answer = lambda_handler.answer(batch_payload, _context("req-handler-1"))
    again = lambda_handler.answer(batch_payload, _context("req-handler-1"))  # a retry
    assert again == answer
    printed = capsys.readouterr().out

    stored = _stored(db_url)
    assert len(stored) == len(answer) == 3
    by_pair = {(r.budget_id, r.itemization_id): r for r in stored}
    for item in answer:
        row = by_pair[(item["budget_id"], item["itemization_id"])]
        assert row.score == pytest.approx(item["score"])
        assert row.matched == item["matched"]
        assert row.user_id == item["user_id"]
        assert row.request_id == "req-handler-1"
        assert row.model_version == "9.9.9-monitor" and row.threshold == 0.5
        assert row.travel_vendor == "Southwest Airlines"
    assert spool_files(tmp_path / "spool") == []

    lines = printed.splitlines()
    emf = [json.loads(line) for line in lines if line.startswith('{"_aws"')]
    assert len(emf) == 2 and emf[0]["PairsScored"] == [3]
    assert emf[0]["model_version"] == "9.9.9-monitor"
    logged = [row for line in lines for row in rows_from_line(line) or []]
    assert logged == []  # default "auto": the database holds them, no CloudWatch copy

    monkeypatch.setenv("BEM_RESULTS_LOG", "gzip")
    side_paths.configure()
    lambda_handler.answer(batch_payload, _context("req-handler-2"))
    lines = capsys.readouterr().out.splitlines()
    logged = [row for line in lines for row in rows_from_line(line) or []]
    assert len(logged) == 3 and len(_stored(db_url)) == 6
    assert all(line.startswith('{"bem_results":2,"gz":') for line in lines if "bem_results" in line)


def test_handler_answers_while_the_database_is_down_and_replay_loses_nothing(
    tiny_model: Path,
    db_url: str,
    tmp_path: Path,
    seed_payload: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("BEM_RESULTS_DB_URL", f"postgresql+psycopg://postgres@127.0.0.1:{port}/x")
    monkeypatch.setenv("BEM_RESULTS_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("BEM_RESULTS_LOG", "0")
    answers = [lambda_handler.answer(seed_payload, _context(f"req-{n}")) for n in range(4)]
    assert all(a == answers[0] and a[0]["score"] is not None for a in answers)
    assert len(spool_files(tmp_path / "spool")) == 4

    replay = CliRunner().invoke(
        main, ["monitor", "replay", "--db", db_url, "--spool-dir", str(tmp_path / "spool")]
    )
    assert replay.exit_code == 0, replay.output
    stored = _stored(db_url)
    assert sorted(r.request_id for r in stored) == [f"req-{n}" for n in range(4)]
    assert all(r.score == pytest.approx(answers[0][0]["score"]) for r in stored)


@pytest.mark.slow
def test_handler_without_a_results_database_never_imports_sqlalchemy(
    tiny_model: Path, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parent.parent.parent
    script = (
        "import json, sys\n"
        "import lambda_handler\n"
        "event = json.load(open(sys.argv[1]))\n"
        "answer = lambda_handler.answer(event, None)\n"
        "print('ANSWER', len(answer), answer[0]['score'] is not None)\n"
        "print('SQLALCHEMY', 'sqlalchemy' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(root / "tests" / "events" / "seed_direct.json")],
        cwd=root,
        env={
            "PYTHONPATH": str(root),
            "PATH": "/usr/bin:/bin",
            "BEM_MODEL_DIR": str(tiny_model),
            "BEM_RESULTS_SPOOL_DIR": str(tmp_path / "spool"),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ANSWER 1 True" in result.stdout
    assert "SQLALCHEMY False" in result.stdout
    assert '"bem_results"' not in result.stdout  # default "auto": no database, no copy
