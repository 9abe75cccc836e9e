"""`bem invoke` as a user runs it: the seed's `docker run ... JSON_PAYLOAD`, without Docker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bem.cli import main
from tests.local.conftest import REPO_ROOT, TOY_HANDLER

REPORT = re.compile(
    r"REPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: 512 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms\t"
)


def bem(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m bem ...` from the repo root."""
    return subprocess.run(
        [sys.executable, "-m", "bem", *arguments],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_invoke_prints_the_response_and_the_report_line(real_zip: Path) -> None:
    seed = (REPO_ROOT / "tests" / "events" / "seed_direct.json").read_text()
    done = bem("invoke", "--zip", str(real_zip), "--memory", "512", seed)
    assert done.returncode == 0, done.stderr[-2000:]
    items = json.loads(done.stdout)
    assert items[0]["budget_id"] == "309366" and 0.0 <= items[0]["score"] <= 1.0
    assert REPORT.search(done.stderr), done.stderr[-1000:]
    assert "START RequestId:" in done.stderr and "END RequestId:" in done.stderr


def test_invoke_exits_1_on_a_function_error(toy_zip: Path) -> None:
    done = bem("invoke", "--zip", str(toy_zip), "--handler", TOY_HANDLER, '{"raise": "nope"}')
    assert done.returncode == 1
    assert json.loads(done.stdout)["errorType"] == "ValueError"


def test_invoke_reads_the_event_from_a_file(toy_zip: Path, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"n": 42}')
    result = CliRunner().invoke(
        main, ["invoke", "--zip", str(toy_zip), "--handler", TOY_HANDLER, "-e", str(event)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"echo": {"n": 42}}


def test_invoke_without_a_zip_says_to_build_first(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["invoke", "--zip", str(tmp_path / "deploy.zip"), "{}"])
    assert result.exit_code != 0
    assert "run ./build first" in result.output
