"""`bem batch score` and `bem batch features` through the command line (the suite's session)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from bem.batch.cli import batch_group
from budget_matcher import contract as c

pytestmark = pytest.mark.slow


def test_batch_score_command_scores_request_lines(spark: Any, tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    lines = [dict(c.SEED_EXAMPLE, user_id="u1"), {"users": [dict(c.SEED_EXAMPLE, user_id="u2")]}]
    requests.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    out = tmp_path / "scores"

    arguments = ["score", "--requests", str(requests), "--out", str(out), "--run-id", "cli-1"]
    result = CliRunner().invoke(batch_group, [*arguments, "--buckets", "2"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rows"] == report["scored"] == 2 and report["run_id"] == "cli-1"
    frame = pd.read_parquet(out)
    assert sorted(frame["user_id"]) == ["u1", "u2"]
    assert set(frame["budget_id"]) == {"309366"} and frame["error_code"].isna().all()
