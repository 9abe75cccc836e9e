"""The columns of a history file: which are required, which optional, and the user's mapping.

A history names budgets and line items by the seed's field names, `user_id` and the label
`is_match` (see bem.data.shapes for its three shapes). Users with other column names map theirs
onto ours with a TOML file (`[columns]` table of `theirs = "ours"` or a list of ours, or
top-level pairs; a `[labels]` table of their label words) or repeated `theirs=ours` options.
An unknown column close to a known name is refused with "did you mean"; a column that is far
from every name is ignored and listed.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from budget_matcher import contract

IDS = (contract.USER_ID_KEY, contract.BUDGET_ID, contract.ITEM_ID)
OPTIONAL = tuple(f for f in (*contract.BUDGET_FIELDS, *contract.ITEM_FIELDS) if f not in IDS)
KNOWN = (*IDS, contract.LABEL, *OPTIONAL)


class HistoryError(ValueError):
    """A history that cannot be used: `str()` is one line naming the problem and the fix.

    `fix` holds the options that fix it (e.g. "--dates dmy"): the command line repeats the
    user's own command with them."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass
class Mapping:
    """The user's names: each of their columns → our columns (one may feed several), and
    their label words → 1/0."""

    columns: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)


@dataclass
class ColumnPlan:
    """How the file's header maps onto the contract's names."""

    rename: list[tuple[str, str]]  # (file column, contract name) of the columns used
    missing_optional: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def present(self) -> set[str]:
        return {ours for _, ours in self.rename}

    def apply(self, row: dict[str, object]) -> dict[str, object]:
        """The row in our names (only the columns used)."""
        return {ours: row.get(theirs) for theirs, ours in self.rename}


def parse_mapping(
    pairs: Iterable[str], toml_path: Path | None = None, labels: str | None = None
) -> Mapping:
    """`theirs=ours` options, a TOML file ([columns] theirs = "ours" or ["a", "b"]; [labels]
    word = 1/0) and `--labels "Yes=1,No=0"` → a Mapping; options and file merge, and the same
    column of theirs given two different meanings is an error."""
    mapping = Mapping()
    origin: dict[str, str] = {}
    if toml_path is not None:
        loaded = _read_toml(toml_path)
        table = loaded.get("columns", {k: v for k, v in loaded.items() if k != "labels"})
        if not isinstance(table, dict):
            raise HistoryError(
                f"{toml_path}: `columns` is {type(table).__name__}, not a table: write "
                '[columns] then one theirs = "ours" per line'
            )
        for theirs, ours in table.items():
            names = [ours] if isinstance(ours, str) else ours
            if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
                raise HistoryError(
                    f"{toml_path}: {theirs} = {str(ours)[:60]!r} is no column name; write "
                    f'{theirs} = "ours" (or a list: ["ours", "other"])'
                )
            mapping.columns[str(theirs)] = list(names)
            origin[str(theirs)] = toml_path.name
        words = loaded.get("labels", {})
        if not isinstance(words, dict):
            raise HistoryError(f"{toml_path}: `labels` is no table: write [labels] then Yes = 1")
        for word, value in words.items():
            _add_label(mapping, str(word), value, str(toml_path))
    for pair in pairs:
        theirs, sep, ours = (part.strip() for part in pair.partition("="))
        if not sep or not theirs or not ours:
            raise HistoryError(
                f"--column {pair!r}: write it as THEIRS=OURS, e.g. trip_id=budget_id"
            )
        known = mapping.columns.get(theirs)
        if known is not None and ours not in known and origin.get(theirs) != "--column":
            raise HistoryError(
                f"{theirs} is mapped to {', '.join(known)} by {origin[theirs]} and to {ours} by "
                f"--column: keep one (or list both in {origin[theirs]})"
            )
        if known is None or origin.get(theirs) != "--column":
            mapping.columns[theirs] = []
        if ours not in mapping.columns[theirs]:
            mapping.columns[theirs].append(ours)
        origin[theirs] = "--column"
    for word_pair in (labels or "").split(","):
        if word_pair.strip():
            word, sep, value = word_pair.rpartition("=")
            if not sep:
                raise HistoryError(f"--labels {word_pair!r}: write WORD=1 or WORD=0")
            _add_label(mapping, word.strip(), value.strip(), "--labels")
    for theirs, names in mapping.columns.items():
        for ours in names:
            if ours not in KNOWN:
                raise HistoryError(
                    f"mapping {theirs}={ours}: {ours} is no column of ours{_hint(ours)}"
                )
    return mapping


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise HistoryError(
            f"{path}: not UTF-8 (byte {error.start}): save the mapping file as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise HistoryError(f"{path}: not TOML ({str(error)[:120]})") from None
    except OSError as error:
        raise HistoryError(f"{path}: cannot read the column mapping ({error.strerror})") from None


def _add_label(mapping: Mapping, word: str, value: object, where: str) -> None:
    number = {"1": 1, "0": 0, "true": 1, "false": 0}.get(str(value).strip().lower())
    if number is None or not word:
        raise HistoryError(f"{where}: label {word!r} = {value!r}: a label word maps to 1 or 0")
    mapping.labels[word] = number


def plan_columns(
    header: list[str], mapping: dict[str, list[str]], required: Sequence[str] = IDS
) -> ColumnPlan:
    """Check a header against the contract (after the mapping); raise on what cannot work."""
    absent_mapped = [theirs for theirs in mapping if theirs not in header]
    if absent_mapped:
        name = absent_mapped[0]
        listed = ", ".join(header[:20]) + (", …" if len(header) > 20 else "")
        raise HistoryError(
            f"mapped column {name!r} is not in the file{_hint(name, header)}; "
            f"the file has: {listed}"
        )
    rename: list[tuple[str, str]] = []
    ignored: list[str] = []
    mapped = {ours for names in mapping.values() for ours in names}
    for column in header:
        names = mapping.get(column) or ([column] if column in KNOWN else [])
        if not names:
            close = difflib.get_close_matches(column, KNOWN, n=1, cutoff=0.75)
            if close and close[0] not in header and close[0] not in mapped:
                raise HistoryError(
                    f"unknown column {column[:80]!r}: did you mean {close[0]!r}? "
                    f"(rename it, or map it: --column {column}={close[0]})",
                    f"--column {column}={close[0]}",
                )
            ignored.append(column)
            continue
        for ours in names:
            if any(ours == used for _, used in rename):
                raise HistoryError(f"two columns map to {ours!r}: keep one (see --column)")
            rename.append((column, ours))
    present = {ours for _, ours in rename}
    for name in required:
        if name not in present:
            raise HistoryError(
                f"required column {name!r} is missing: {_why(name)}{_map_hint(name, ignored)}"
            )
    missing = [name for name in OPTIONAL if name not in present]
    return ColumnPlan(rename, missing, ignored)


def _why(name: str) -> str:
    if name == contract.USER_ID_KEY:
        return (
            "candidate pairs are formed within one user's budgets and items; add a user_id column"
        )
    if name == contract.LABEL:
        return "training and evaluation need the label (1 = the item belongs to the budget)"
    return "every row names its budget and its line item"


def _hint(name: str, choices: Iterable[str] = KNOWN) -> str:
    """ " (did you mean 'x'?)" for the closest of `choices`, or nothing."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _map_hint(name: str, ignored: list[str]) -> str:
    if not ignored:
        return ""
    listed = ", ".join(ignored[:8]) + (", …" if len(ignored) > 8 else "")
    return f"; or map one of the file's other columns ({listed}): --column THEIRS={name}"
