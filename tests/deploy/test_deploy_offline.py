"""Without credentials: a dry run still plans (offline), other commands end in one line with
the fix; the published description names the model's version and card hash."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bem.cli import main
from bem.deploy.plan import read_artifact

NO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
}


PICKLE_SHA = "0123456789ab" + "c" * 52


@pytest.fixture
def small_zip(tmp_path: Path) -> tuple[Path, bytes]:
    artifacts = {"model.joblib": {"sha256": PICKLE_SHA}}
    card = json.dumps({"version": "1.4.0", "threshold": 0.5, "artifacts": artifacts}).encode()
    path = tmp_path / "deploy.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/model.json", card)
        archive.writestr("lambda_handler.py", "def handler(event, context):\n    return []\n")
    return path, card


def test_dry_run_without_credentials_plans_a_first_deployment(
    small_zip: tuple[Path, bytes],
) -> None:
    path, card = small_zip
    result = CliRunner().invoke(
        main,
        ["deploy", "up", "--zip", str(path), "--dry-run", "--region", "us-west-2"],
        env=NO_CREDENTIALS,
    )
    assert result.exit_code == 0, result.output
    assert "us-west-2: not read (NoCredentialsError" in result.output
    assert "create_function" in result.output and "publish_version" in result.output
    card_sha = hashlib.sha256(card).hexdigest()[:12]
    assert f"model 1.4.0 sha256 0123456789ab card {card_sha}" in result.output


def test_commands_without_credentials_end_in_one_line_with_the_fix() -> None:
    result = CliRunner().invoke(
        main, ["deploy", "status", "--region", "us-west-2"], env=NO_CREDENTIALS
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no AWS credentials found: run `aws configure`")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_description_names_model_version_and_card_hash(small_zip: tuple[Path, bytes]) -> None:
    path, card = small_zip
    artifact = read_artifact(path, commit="abc123")
    card_sha = hashlib.sha256(card).hexdigest()[:12]
    assert artifact.description == f"model 1.4.0 sha256 0123456789ab card {card_sha} commit abc123"
