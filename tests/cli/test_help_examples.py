"""Every `Example:` line of every command's help parses: its options exist, its choices are
valid (click's own parser, `make_context`; `bem build` through its argparse parser)."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

import click
import pytest

from bem.cli import COMMANDS, main
from bem.packaging.cli import parse_args

SEPARATORS = {"&&", "||", "|", ";", ">", "2>", ">>"}


def _commands() -> Iterator[tuple[str, click.Command]]:
    """(full name, command) of every command and sub-command."""
    context = click.Context(main)
    pending = [(f"bem {name}", main.get_command(context, name)) for name in sorted(COMMANDS)]
    pending.append(("bem", main))
    while pending:
        name, command = pending.pop()
        assert command is not None
        yield name, command
        if isinstance(command, click.Group) and command is not main:
            for sub in command.list_commands(context):
                pending.append((f"{name} {sub}", command.get_command(context, sub)))


def examples(command: click.Command) -> list[str]:
    """The text after each `Example:` of the command's help (continued up to a blank line)."""
    found: list[str] = []
    continuing = False
    for line in (command.help or "").splitlines():
        text = line.strip()
        if text.startswith("Example:"):
            found.append(text[len("Example:") :].strip())
            continuing = True
        elif continuing and text:
            found[-1] += " " + text
        else:
            continuing = False
    return found


def bem_calls(example: str) -> list[list[str]]:
    """The arguments of each `bem ...` call in an example's shell line."""
    calls: list[list[str]] = []
    current: list[str] = []
    for token in [*shlex.split(example), "&&"]:
        if token in SEPARATORS or token.startswith(("2>", ">")):
            if current[:1] == ["bem"]:
                calls.append(current[1:])
            current = [] if token in SEPARATORS else ["(redirect)"]
        else:
            if token.startswith("$(bem ") and token.endswith(")"):  # a command substitution
                calls += bem_calls(token[2:-1])
            current.append(token)
    return calls


def parse(args: list[str]) -> None:
    """Parse `bem ARGS` as the command line would, without running it."""
    command: click.Command = main
    context = click.Context(main)
    while isinstance(command, click.Group):
        found = command.get_command(context, args[0])
        assert found is not None, f"no command {args[0]!r}"
        command, args = found, args[1:]
    if command.name == "build":
        parse_args(args)
        return
    try:
        command.make_context(command.name, list(args))
    except click.BadParameter as error:
        if "does not exist" not in str(error):  # a file the example names: fine here
            raise


ALL = [(name, text) for name, command in _commands() for text in examples(command)]


@pytest.mark.parametrize(("name", "example"), ALL, ids=[f"{n}: {e[:40]}" for n, e in ALL])
def test_help_example_parses(name: str, example: str) -> None:
    calls = bem_calls(example)
    assert calls, f"{name}: the example calls no bem command: {example!r}"
    for args in calls:
        parse(args)


def test_every_command_has_an_example() -> None:
    missing = [name for name, command in _commands() if not examples(command)]
    assert missing == []


def test_a_wrong_example_would_fail() -> None:
    with pytest.raises(click.UsageError):
        parse(["train", "--users", "2000"])
    with pytest.raises(click.BadParameter):
        parse(["data", "check", "x.csv", "--dates", "dym"])
