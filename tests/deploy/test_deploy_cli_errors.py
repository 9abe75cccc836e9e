"""A DeployError from any `bem deploy` sub-command ends in one line (`Error: …`, exit 1), not a
traceback: the deploy group converts it once for every command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from bem.cli import main
from bem.deploy.aws import ClientFactory

TARGET = ["--function-name", "absent-matcher", "--region", "us-west-2"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["rollback", *TARGET], "us-west-2: function absent-matcher does not exist"),
        (["api", *TARGET], "us-west-2: deploy the function first (bem deploy up)"),
    ],
)
def test_deploy_error_of_a_command_is_one_line(
    clients: ClientFactory, command: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["deploy", *command], obj=clients)
    assert result.exit_code == 1, result.output
    assert result.stderr == f"Error: {message}\n"


def test_deploy_error_of_up_is_one_line(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    up = ["up", "--zip", str(make_zip()), "--region", "us-west-2,eu-west-1", "--bucket", "b"]
    result = CliRunner().invoke(main, ["deploy", *up], obj=clients)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: with several regions the bucket must contain {region}")
    assert result.stderr.count("\n") == 1
