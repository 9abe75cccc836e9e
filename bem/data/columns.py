"""The columns of a history file: which are required, which optional, and the user's mapping.

A history is one row per labelled (budget, line item) pair: the seed's field names, `user_id`
and the label `is_match`. Users with other column names map theirs onto ours with a TOML file
(`[columns]` table of `theirs = "ours"`, or top-level pairs) or repeated `theirs=ours` options.
An unknown column close to a known name is refused with "did you mean"; a column that is far
from every name is ignored and listed.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from budget_matcher import contract

IDS = (contract.USER_ID_KEY, contract.BUDGET_ID, contract.ITEM_ID)
OPTIONAL = tuple(f for f in (*contract.BUDGET_FIELDS, *contract.ITEM_FIELDS) if f not in IDS)
KNOWN = (*IDS, contract.LABEL, *OPTIONAL)


class HistoryError(ValueError):
    """A history that cannot be used: `str()` is one line naming the problem and the fix."""


@dataclass
class ColumnPlan:
    """How the file's header maps onto the contract's names."""

    rename: dict[str, str]  # file column -> contract name (only the columns used)
    missing_optional: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def parse_mapping(pairs: Iterable[str], toml_path: Path | None = None) -> dict[str, str]:
    """`theirs=ours` options and a TOML file → {theirs: ours}; the options win."""
    mapping: dict[str, str] = {}
    if toml_path is not None:
        try:
            loaded = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise HistoryError(f"{toml_path}: cannot read the column mapping ({error})") from error
        table = loaded.get("columns", loaded)
        for theirs, ours in table.items():
            if not isinstance(ours, str):
                raise HistoryError(
                    f'{toml_path}: {theirs} = {ours!r} is no column name; write {theirs} = "ours"'
                )
            mapping[str(theirs)] = ours
    for pair in pairs:
        theirs, sep, ours = pair.partition("=")
        if not sep or not theirs.strip() or not ours.strip():
            raise HistoryError(
                f"--column {pair!r}: write it as THEIRS=OURS, e.g. trip_id=budget_id"
            )
        mapping[theirs.strip()] = ours.strip()
    for theirs, ours in mapping.items():
        if ours not in KNOWN:
            raise HistoryError(f"mapping {theirs}={ours}: {ours} is no column of ours{_hint(ours)}")
    return mapping


def plan_columns(
    header: list[str], mapping: dict[str, str], require_label: bool = True
) -> ColumnPlan:
    """Check a header against the contract (after the mapping); raise on what cannot work."""
    absent_mapped = [theirs for theirs in mapping if theirs not in header]
    if absent_mapped:
        name = absent_mapped[0]
        raise HistoryError(
            f"mapped column {name!r} is not in the file{_hint(name, header)}; "
            f"the file has: {', '.join(header)}"
        )
    rename: dict[str, str] = {}
    ignored: list[str] = []
    for column in header:
        ours = mapping.get(column, column if column in KNOWN else None)
        if ours is None:
            close = difflib.get_close_matches(column, KNOWN, n=1, cutoff=0.75)
            if close and close[0] not in header and close[0] not in mapping.values():
                raise HistoryError(
                    f"unknown column {column!r}: did you mean {close[0]!r}? "
                    f"(rename it, or map it: --column {column}={close[0]})"
                )
            ignored.append(column)
            continue
        if ours in rename.values():
            raise HistoryError(f"two columns map to {ours!r}: keep one (see --column)")
        rename[column] = ours
    present = set(rename.values())
    required = [*IDS, contract.LABEL] if require_label else list(IDS[1:])
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
