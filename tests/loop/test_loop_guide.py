"""docs/guide.md section 9 (the learning loop), run: every `$ command` of its shell blocks runs
in a copy of the repository, in order, and prints what the guide shows (`…` matches anything).

The copy's model of record is a small model trained on 30 generated travellers of the default
mix (committed there; the repository's model/ is never touched), the function is live on a
moto server before the section starts (a stand-in zip), and `./build` builds the copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.data.test_guide import Step, _copy_repository, _git_env, guide_steps, shows
from tests.deploy.deploy_helpers import write_zip

GUIDE = REPO_ROOT / "docs" / "guide.md"
SECTION = "## 9. Learn from production"
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-west-2",
}


def loop_steps() -> list[Step]:
    """The commands of the section (shell blocks) with the lines they show."""
    text = GUIDE.read_text()
    section = text[text.index(SECTION) :]
    return guide_steps(section.replace("```sh\n", "```console\n"))


def test_loop_guide_section_has_the_whole_flow() -> None:
    commands = [step.command.split()[:3] for step in loop_steps()]
    for wanted in (["bem", "monitor", "traffic"], ["bem", "monitor", "label-queue"],
                   ["bem", "train", "--from-store"], ["bem", "model", "compare"],
                   ["bem", "model", "promote"], ["./build"], ["bem", "deploy", "up"],
                   ["bem", "monitor", "metrics"]):  # fmt: skip
        assert wanted in [c[: len(wanted)] for c in commands], wanted
    assert not any(step.must_fail for step in loop_steps())


def _run(command: str, repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=1800)  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_loop_guide_runs_end_to_end(tmp_path: Path, moto_server: str) -> None:
    urllib.request.urlopen(
        urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10
    ).close()
    repo = tmp_path / "repo"
    _copy_repository(repo)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bem").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m bem "$@"\n')
    (bin_dir / "bem").chmod(0o755)
    env = {k: v for k, v in _git_env().items() if not k.startswith("AWS_")}
    env.update(FAKE_AWS, PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", PYTHONPATH=str(repo),
               BEM_BUILD_PYTHON=sys.executable, AWS_ENDPOINT_URL=moto_server,
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)  # fmt: skip
    env.pop("BEM_MODEL_DIR", None)
    setup = [
        "rm -rf model && bem train --synth-users 30 --seed 5 --candidates quick --folds 2 "
        "--holdout 0 --harsh-noise 0 --version 1.0.0 --model-dir model --quiet "
        "--report-dir /tmp/unused-reports > /dev/null",
        "git add -A && git commit -q -m 'Model 1.0.0'",
        f"bem deploy up --zip {write_zip(tmp_path / 'live.zip', '1.0.0', 'live')} "
        "--region us-west-2",
    ]
    for command in setup:
        run = _run(command, repo, env)
        assert run.returncode == 0, f"$ {command}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    for step in loop_steps():
        run = _run(step.command, repo, env)
        output = (run.stdout + "\n" + run.stderr).splitlines()
        context = (
            f"$ {step.command}\n--- {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
        assert run.returncode == 0, context
        for line in step.expected:
            assert shows(line, output), f"guide shows {line!r}\n{context}"
    card = json.loads((repo / "model" / "model.json").read_text())
    assert card["version"] == "2.0.0" and card["training_data"]["source"] == "store"
    assert card["training_data"]["store"]["until"].startswith("2026-11-20")
