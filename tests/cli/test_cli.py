"""The bem command line: every command is registered, summarised and importable."""

from __future__ import annotations

import importlib

from click.testing import CliRunner

from bem.cli import COMMANDS, SUMMARIES, main


def test_cli_help_lists_every_command_with_its_summary() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output
        assert SUMMARIES[name][:30] in result.output


def test_cli_every_command_imports() -> None:
    for target in COMMANDS.values():
        module_name, attribute = target.split(":")
        assert hasattr(importlib.import_module(module_name), attribute), target
