"""The history options a user typed (--columns, --column, --labels, --dates, --decimal,
--max-invalid), kept together: every command that reads a history takes them, and every
re-run command a message suggests repeats them."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from bem.data.check import DEFAULT_MAX_INVALID, HistoryOptions
from bem.data.columns import HistoryError, Mapping, parse_mapping


@dataclass(frozen=True)
class HistoryArgs:
    """The reading options as typed."""

    columns_file: Path | None = None
    column_pairs: tuple[str, ...] = ()
    labels: str | None = None
    dates: str | None = None
    decimal: str | None = None
    max_invalid: float = DEFAULT_MAX_INVALID

    def mapping(self) -> Mapping:
        """The user's names (HistoryError when the options or the file cannot be read)."""
        return parse_mapping(self.column_pairs, self.columns_file, self.labels)

    def options(self, require_label: bool = True, keep_fields: bool = True) -> HistoryOptions:
        return HistoryOptions(self.mapping(), self.dates, self.decimal, self.max_invalid,
                              require_label, keep_fields)  # fmt: skip

    def typed(self) -> list[str]:
        """The options as the user typed them (for a re-run command)."""
        out: list[str] = []
        if self.columns_file is not None:
            out += ["--columns", str(self.columns_file)]
        for pair in self.column_pairs:
            out += ["--column", pair]
        if self.labels:
            out += ["--labels", self.labels]
        if self.dates:
            out += ["--dates", self.dates]
        if self.decimal:
            out += ["--decimal", self.decimal]
        if self.max_invalid != DEFAULT_MAX_INVALID:
            out += ["--max-invalid", f"{self.max_invalid:g}"]
        return out

    def rerun(self, command: str, path: Path, fix: str | None = None) -> str:
        """`command path` with the user's options, plus `fix` (which replaces an option it
        names, e.g. --dates)."""
        typed = self.typed()
        extra = shlex.split(fix) if fix else []
        for name in (word for word in extra if word.startswith("--") and word != "--column"):
            if name in typed:
                at = typed.index(name)
                del typed[at : at + 2]
        return " ".join([command, shlex.quote(str(path)), *map(shlex.quote, typed + extra)])

    def explain(self, error: HistoryError, command: str, path: Path) -> str:
        """The error's line, with the command to re-run when it names a fix, else the check."""
        if error.fix:
            return f"{error}; re-run: {self.rerun(command, path, error.fix)}"
        if command.startswith("bem data check"):
            return str(error)
        return f"{error}; see: {self.rerun('bem data check', path)}"
