"""Failures a user meets end in one line that names the fix, not in a traceback."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bem.cli import COMMANDS, ONE_LINE_FIXES, main


def test_missing_interpreter_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["invoke", "--python", str(tmp_path / "python3.12"), "{}"])
    assert result.exit_code == 2
    assert "Invalid value for '--python'" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.output


class NoCredentialsError(Exception):
    """Stands in for botocore's class: the group matches on the class name."""


@click.command("boom")
def boom_command() -> None:
    """Fails as boto3 does without credentials."""
    raise NoCredentialsError("Unable to locate credentials")


@click.command("other")
def other_command() -> None:
    """Fails in a way nobody foresaw."""
    raise RuntimeError("an unknown failure stays a traceback")


def test_group_turns_known_library_failures_into_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(COMMANDS, "boom", f"{__name__}:boom_command")
    monkeypatch.setitem(COMMANDS, "other", f"{__name__}:other_command")
    result = CliRunner().invoke(main, ["boom"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {ONE_LINE_FIXES['NoCredentialsError']}\n"
    with pytest.raises(RuntimeError):
        CliRunner().invoke(main, ["other"], catch_exceptions=False)
