"""The README and docs/ tell the truth about the tree: every environment variable is documented,
every link leads to a file (and heading), every command named exists, the README stays short."""

from __future__ import annotations

import ast
import importlib
import os
import re
from pathlib import Path

import click
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
CONFIG = REPO_ROOT / "budget_matcher" / "config.py"
CONFIGURATION_PAGE = DOCS / "configuration.md"
README_MAX_BYTES = 10_000

# One page per capability; the README links every one.
PAGES = (
    "contract",
    "model",
    "build",
    "local",
    "deploy",
    "costs",
    "monitoring",
    "configuration",
    "benchmarks",
    "layout",
)

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
BEM_CALL = re.compile(r"(?<![\w/.-])bem ([a-z][a-z0-9-]*)(?: ([a-z][a-z0-9-]*))?")


def markdown_files() -> list[Path]:
    """The README and every page under docs/ (the reports in docs/model/ included)."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def without_code_blocks(text: str) -> str:
    """The text with its fenced code blocks removed (links and headings live outside them)."""
    return FENCE.sub("", text)


def code_text(text: str) -> str:
    """The fenced code blocks and inline code spans of a page, one per line."""
    blocks = [match.group(0) for match in FENCE.finditer(text)]
    spans = INLINE_CODE.findall(without_code_blocks(text))
    return "\n".join(blocks + spans)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a markdown page (repeated headings get -1, -2, … as on GitHub)."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for heading in HEADING.findall(without_code_blocks(page.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def config_variables() -> set[str]:
    """The environment variable names budget_matcher/config.py declares: the string value of
    every ENV_* constant, and any other string literal that is a BEM_* name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(CONFIG.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if re.fullmatch(r"BEM_[A-Z0-9_]+", node.value):
                names.add(node.value)
            continue
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id.startswith("ENV_") for t in targets):
            value = getattr(node, "value", None)
            assert isinstance(value, ast.Constant) and isinstance(value.value, str), ast.dump(node)
            names.add(value.value)
    return names


def documented_in_a_table(name: str, page_text: str) -> bool:
    """A table row names the variable in its first cell (a prefix such as BEM_TARGET_PYTHON_
    may be followed by its placeholder) and says something in the cells after it."""
    closing = "" if name.endswith("_") else "`"
    first_cell = re.compile(r"`" + re.escape(name) + closing)
    for line in page_text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and len(cells) >= 3 and first_cell.search(cells[0]):
            return all(cells[1:3])
    return False


def test_config_declares_the_variables_this_test_reads() -> None:
    names = config_variables()
    # The parser must see config.py's declarations, or the next test would pass on nothing.
    assert {"BEM_MODEL_DIR", "BEM_RESPONSE_FORMAT", "POWERTOOLS_SERVICE_NAME"} <= names
    assert len(names) >= 20, sorted(names)


def test_every_config_variable_has_a_row_in_the_configuration_page() -> None:
    page = CONFIGURATION_PAGE.read_text()
    missing = sorted(name for name in config_variables() if not documented_in_a_table(name, page))
    assert not missing, f"not documented in {CONFIGURATION_PAGE.relative_to(REPO_ROOT)}: {missing}"


def test_the_docs_pages_exist_and_the_readme_links_each() -> None:
    readme = README.read_text()
    for page in PAGES:
        assert (DOCS / f"{page}.md").is_file(), page
        assert f"(docs/{page}.md" in readme, f"README does not link docs/{page}.md"


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    broken = []
    for target in LINK.findall(without_code_blocks(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, …
            continue
        path_part, _, fragment = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            broken.append(f"{target} (no file {destination})")
        elif fragment and destination.suffix == ".md" and fragment not in anchors(destination):
            broken.append(f"{target} (no heading #{fragment} in {destination.name})")
    assert not broken, broken


def test_the_readme_has_links() -> None:
    # The link test above passes on a page without links; the README must have them.
    assert len(LINK.findall(without_code_blocks(README.read_text()))) >= len(PAGES)


def readme_command_table() -> list[str]:
    """The first cell of each row of the README's command table (## Commands)."""
    section = README.read_text().split("\n## Commands", 1)[1].split("\n## ", 1)[0]
    commands = []
    for line in section.splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|", line)
        if match:
            commands.append(match.group(1))
    return commands


def resolve(name: str) -> click.Command:
    """The click command `bem <name>` runs, imported as `bem --help` would."""
    from bem.cli import COMMANDS

    if name not in COMMANDS:
        raise LookupError(f"`bem {name}` is not in bem.cli.COMMANDS")
    module_name, attribute = COMMANDS[name].split(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise LookupError(f"{COMMANDS[name]} (`bem {name}`) is not a click command")
    return command


def test_the_readme_command_table_names_the_commands() -> None:
    table = readme_command_table()
    expected = {"./build", "bem build", "bem train", "bem evaluate", "bem synth", "bem invoke"}
    expected |= {"bem serve", "bem deploy", "bem monitor"}
    assert expected <= set(table), sorted(expected - set(table))


@pytest.mark.parametrize("command", ["./run-example", "./run-tests", *readme_command_table()])
def test_every_command_the_readme_names_exists(command: str) -> None:
    if command.startswith("./"):
        script = REPO_ROOT / command
        assert script.is_file(), command
        assert os.access(script, os.X_OK), f"{command} is not executable"
        return
    words = command.split()
    assert words[0] == "bem", command
    try:
        resolve(words[1])
    except LookupError as error:
        pytest.fail(str(error))


def bem_calls() -> list[tuple[str, str, str | None]]:
    """Every `bem <command> [<sub-command>]` in the code of the README and docs pages."""
    calls = []
    for page in markdown_files():
        for name, sub in BEM_CALL.findall(code_text(page.read_text())):
            calls.append((page.name, name, sub or None))
    return calls


def test_every_bem_command_in_the_docs_exists() -> None:
    calls = bem_calls()
    assert len(calls) >= 20, calls  # the pages do show commands: the scan must find them
    wrong = []
    for page, name, sub in calls:
        try:
            command = resolve(name)
        except LookupError as error:
            wrong.append(f"{page}: {error}")
            continue
        if sub and isinstance(command, click.Group) and sub not in command.commands:
            wrong.append(f"{page}: `bem {name} {sub}` is not a sub-command")
    assert not wrong, sorted(set(wrong))


def test_readme_is_a_landing_page() -> None:
    size = len(README.read_bytes())
    assert size < README_MAX_BYTES, f"README.md is {size} bytes; move detail into docs/"
