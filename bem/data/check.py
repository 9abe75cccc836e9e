"""The history contract: a file in, readable rows in the contract's names out, and a report.

`load_history` reads the file (`read`), maps its columns (`columns`), puts its numeric dates in
one order (`dates`), then reads every value the way the Lambda will (`budget_matcher.values`).
A row with a value that cannot be read is left out and counted by error code and field, with
the first example; more unreadable rows than `max_invalid` (a share) stop everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bem.data.columns import ColumnPlan, HistoryError, plan_columns
from bem.data.dates import infer_order, to_iso
from bem.data.read import RawTable, read_table
from bem.model.dataset import parse_label
from budget_matcher import contract
from budget_matcher.values import ValueProblem, parse_amount, parse_datetime, parse_text

DEFAULT_MAX_INVALID = 0.05
Row = dict[str, Any]


@dataclass
class HistoryOptions:
    """How to read a history: column mapping, date order, tolerance, whether labels are due."""

    mapping: dict[str, str] = field(default_factory=dict)
    dates: str | None = None
    max_invalid: float = DEFAULT_MAX_INVALID
    require_label: bool = True


@dataclass
class Problem:
    """Unreadable values of one (code, field): how many, and the first one met."""

    count: int
    line: int
    value: str
    message: str


@dataclass
class History:
    """The readable rows (contract names, ISO dates) and what reading the file found."""

    path: Path
    table: RawTable
    columns: ColumnPlan
    rows: list[Row]
    date_order: str | None
    date_order_given: bool
    problems: dict[tuple[str, str], Problem]
    n_unreadable: int

    @property
    def invalid_share(self) -> float:
        return self.n_unreadable / max(len(self.table.rows), 1)

    def summary(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "file": str(self.path),
            "read": self.table.describe(),
            "columns": self.columns.rename,
            "missing_optional": self.columns.missing_optional,
            "ignored": self.columns.ignored,
            "dates": self.date_order,
            "rows": len(self.table.rows),
            "readable_rows": len(self.rows),
            "unreadable_rows": self.n_unreadable,
            "problems": [
                {"code": code, "field": name, **vars(problem)}
                for (code, name), problem in sorted(self.problems.items())
            ],
        }

    def lines(self) -> list[str]:
        """The report as lines for a terminal."""
        out = [f"{self.path}: {self.table.describe()}"]
        renamed = {k: v for k, v in self.columns.rename.items() if k != v}
        if renamed:
            out.append("mapped: " + ", ".join(f"{k} → {v}" for k, v in renamed.items()))
        if self.date_order:
            how = "as given" if self.date_order_given else "read from the file"
            out.append(f"numeric dates: {self.date_order} ({how})")
        if self.columns.missing_optional:
            out.append(
                "optional columns absent (their features are missing): "
                + ", ".join(self.columns.missing_optional)
            )
        if self.columns.ignored:
            out.append("ignored columns: " + ", ".join(self.columns.ignored))
        out.append(
            f"{len(self.rows)} readable rows; {self.n_unreadable} unreadable "
            f"({self.invalid_share:.1%}) left out"
        )
        for (code, name), p in sorted(self.problems.items(), key=lambda kv: -kv[1].count):
            out.append(
                f"  {p.count:>6} {code} in {name}: e.g. line {p.line} {p.value!r}: {p.message}"
            )
        return out


def _readers(order: str | None) -> dict[str, Callable[[Any], Any]]:
    def read_date(value: Any) -> Any:
        if isinstance(value, str) and order is not None:
            iso = to_iso(value, order)
            if iso is None:
                raise ValueProblem("invalid_date", f"not a date in the order {order}")
            value = iso
        parse_datetime(value)
        return value

    def read_id(value: Any) -> Any:
        if value is None or not str(value).strip():
            raise ValueProblem("missing_id", "the row has no id")
        return value

    readers: dict[str, Callable[[Any], Any]] = {
        name: read_id for name in (contract.USER_ID_KEY, contract.BUDGET_ID, contract.ITEM_ID)
    }
    readers.update({name: read_date for name in contract.DATE_FIELDS})
    readers.update({name: _checked(parse_amount) for name in contract.AMOUNT_FIELDS})
    for name in (*contract.BUDGET_FIELDS, *contract.ITEM_FIELDS):
        readers.setdefault(name, _checked(parse_text))
    return readers


def _checked(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        parse(value)
        return value

    return read


def _read_label(value: Any) -> Any:
    if parse_label(value) is None:
        raise ValueProblem("invalid_label", "is_match must be 1/0, true/false or yes/no")
    return value


def load_history(path: Path, options: HistoryOptions | None = None) -> History:
    """Read and check a history; raise HistoryError when it cannot be used as asked."""
    options = options or HistoryOptions()
    table = read_table(path)
    plan = plan_columns(table.header, options.mapping, options.require_label)
    renamed = [
        {ours: row.get(theirs) for theirs, ours in plan.rename.items()} for row in table.rows
    ]
    order = options.dates
    if order is None:
        order = infer_order(
            (str(row[name]), line, name)
            for row, line in zip(renamed, table.line_numbers, strict=True)
            for name in contract.DATE_FIELDS
            if isinstance(row.get(name), str)
        )
    readers = _readers(order)
    if options.require_label:
        readers[contract.LABEL] = _read_label
    problems: dict[tuple[str, str], Problem] = {}
    kept: list[Row] = []
    for raw, row, line in zip(table.rows, renamed, table.line_numbers, strict=True):
        bad = False
        if "__extra__" in raw:
            _count(
                problems,
                "extra_cells",
                "(row)",
                line,
                str(raw["__extra__"]),
                "more cells than header columns: an unquoted delimiter inside a value?",
            )
            bad = True
        for name, read in readers.items():
            if name not in row:
                continue
            try:
                row[name] = read(row.get(name))
            except ValueProblem as problem:
                _count(problems, problem.code, name, line, str(row.get(name)), problem.message)
                bad = True
        if not bad:
            kept.append(row)
    history = History(
        path,
        table,
        plan,
        kept,
        order,
        options.dates is not None,
        problems,
        len(table.rows) - len(kept),
    )
    if history.invalid_share > options.max_invalid:
        (code, name), worst = max(problems.items(), key=lambda kv: kv[1].count)
        raise HistoryError(
            f"{history.n_unreadable} of {len(table.rows)} rows ({history.invalid_share:.1%}) "
            f"are unreadable, over --max-invalid {options.max_invalid:g}; most: {worst.count} "
            f"{code} in {name}, e.g. line {worst.line} {worst.value!r} ({worst.message}); "
            f"see `bem data check {path}`"
        )
    if not kept:
        raise HistoryError(f"{path}: no readable row; see `bem data check {path}`")
    return history


def _count(
    problems: dict[tuple[str, str], Problem],
    code: str,
    name: str,
    line: int,
    value: str,
    message: str,
) -> None:
    problem = problems.get((code, name))
    if problem is None:
        problems[(code, name)] = Problem(1, line, value, message)
    else:
        problem.count += 1
