"""The history contract: a file (or a directory of tables) in, per-user records out, a report.

`load_history` reads the file twice, streaming (`read`): a survey pass tells its shape
(`shapes`), the order of its numeric dates (`dates`) and its decimal convention (`numbers`);
the read pass maps the columns (`columns`) and reads every value with the Lambda's own parsers
and bounds (`budget_matcher.values`), then groups budgets, items and labels per user. A row
with a value that cannot be read is left out and counted by error code and field, with the
first example and its line; a pair whose row was left out or whose label cannot be read is
excluded, never a negative. Too many rows left out — overall or of either class — stops
everything.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bem.data.columns import IDS, ColumnPlan, HistoryError, Mapping, plan_columns
from bem.data.dates import DateEvidence, to_iso
from bem.data.grouping import Grouping, absent_ids, exclude, read_label
from bem.data.numbers import DecimalEvidence
from bem.data.read import EXTRA, Source, open_source, shown
from bem.data.shapes import (
    PAIRS,
    TABLE_KINDS,
    TABLE_REQUIRED,
    TABLES,
    row_kind,
    shape_of,
    table_paths,
)
from bem.model.dataset import UserRecords, _text_id
from budget_matcher import contract
from budget_matcher.values import (
    MAX_VALUE_CHARS,
    ValueProblem,
    parse_amount,
    parse_datetime,
    parse_identifier,
    parse_text,
    read_amount,
)

DEFAULT_MAX_INVALID = 0.05
CACHED = 1 << 16  # distinct date and amount texts remembered while reading
CLASSES = ("match", "no match")
Row = dict[str, Any]


@dataclass
class HistoryOptions:
    """How to read a history: the user's names, date order, decimal convention, tolerance,
    whether labels are due, and whether the records' fields are kept (not for a check)."""

    mapping: Mapping | dict[str, str] = field(default_factory=Mapping)
    dates: str | None = None
    decimal: str | None = None
    max_invalid: float = DEFAULT_MAX_INVALID
    require_label: bool = True
    keep_fields: bool = True

    @property
    def names(self) -> Mapping:
        if isinstance(self.mapping, Mapping):
            return self.mapping
        return Mapping({theirs: [ours] for theirs, ours in self.mapping.items()})


@dataclass
class Problem:
    """Unreadable values of one (code, field): how many, and the first one met."""

    count: int
    line: int
    value: str
    message: str
    table: str | None = None

    @property
    def where(self) -> str:
        return f"{self.table} line {self.line}" if self.table else f"line {self.line}"


@dataclass
class Part:
    """One table of a history: the whole file, or budgets / items / links."""

    name: str | None
    source: Source
    plan: ColumnPlan
    kind: str | None  # the kind of every row (tables), None: told by each row
    n_rows: int = 0


@dataclass
class History:
    """The per-user records (contract names, ISO dates, amounts as numbers) and what reading
    the history found."""

    path: Path
    shape: str
    parts: list[Part]
    users: list[UserRecords]
    date_order: str | None
    date_order_given: bool
    decimal: str | None
    decimal_given: bool
    problems: dict[tuple[str, str], Problem]
    n_rows: int
    n_unreadable: int
    classes: dict[str, list[int]]  # class -> [rows, rows left out]
    n_excluded_pairs: int = 0

    @property
    def columns(self) -> ColumnPlan:
        return self.parts[0].plan

    @property
    def n_readable(self) -> int:
        return self.n_rows - self.n_unreadable

    @property
    def invalid_share(self) -> float:
        return self.n_unreadable / max(self.n_rows, 1)

    @property
    def reading(self) -> dict[str, str | None]:
        """What the model card records: how numeric dates and amounts were read."""
        return {"dates": self.date_order, "decimal": self.decimal}


def history_parts(path: Path, options: HistoryOptions) -> list[Part]:
    """The tables of a history and how their columns map (a file is one part)."""
    tables = table_paths(path)
    mapping = options.names.columns
    if tables is None:
        source = open_source(path)
        required = IDS if options.require_label else IDS[1:]
        return [Part(None, source, plan_columns(source.header, mapping, required), None)]
    parts = []
    for name, table in tables.named():
        source = open_source(table)
        try:
            plan = plan_columns(source.header, mapping, TABLE_REQUIRED[name])
        except HistoryError as error:
            raise HistoryError(f"{table.name}: {error}", error.fix) from None
        parts.append(Part(name, source, plan, TABLE_KINDS[name]))
    return parts


def _rows(parts: list[Part]) -> Iterator[tuple[Part, int, Row, Row]]:
    for part in parts:
        part.n_rows = 0
        for line, raw in part.source.rows():
            part.n_rows += 1
            yield part, line, raw, part.plan.apply(raw)


def _survey(parts: list[Part], options: HistoryOptions) -> tuple[str, str | None, str | None]:
    """(shape, date order, decimal convention) the history shows or the options state."""
    dates, amounts = DateEvidence(), DecimalEvidence()
    unlabelled = one_sided = rows = 0
    for part, line, _, row in _rows(parts):
        rows += 1
        if part.kind is None and row_kind(row) in ("budget", "item"):
            unlabelled += row.get(contract.LABEL) is None
            one_sided += read_label(row.get(contract.LABEL), options.names.labels) != 1
        for name in contract.DATE_FIELDS:
            value = row.get(name)
            if options.dates is None and isinstance(value, str):
                dates.see(value, line, name)
        for name in contract.AMOUNT_FIELDS:
            value = row.get(name)
            if options.decimal is None and isinstance(value, str):
                amounts.see(value, line, name)
    if parts[0].kind is not None:
        shape = TABLES
    else:
        has_label = contract.LABEL in parts[0].plan.present
        has_label = has_label or not options.require_label
        shape = shape_of(has_label, unlabelled, one_sided, rows)
    return shape, options.dates or dates.decide(), options.decimal or amounts.decide()


def _readers(order: str | None, decimal: str | None) -> dict[str, Callable[[Any], Any]]:
    @functools.lru_cache(maxsize=CACHED)  # dates and amounts repeat: each read once
    def in_order(text: str, order: str) -> str | None:
        return to_iso(text, order)

    @functools.lru_cache(maxsize=CACHED)
    def amount(text: str) -> float:
        return read_amount(text, decimal)[0]

    def read_date(value: Any) -> Any:
        if isinstance(value, str) and order is not None:
            iso = in_order(value, order) if len(value) <= MAX_VALUE_CHARS else None
            if iso is None:
                parse_datetime(value)  # too long, or no date at all: its own problem
                raise ValueProblem("invalid_date", f"not a date in the order {order}")
            value = iso
        parse_datetime(value)
        return value

    def read_money(value: Any) -> Any:
        if isinstance(value, str):
            return amount(value) if value.strip() else None
        number = parse_amount(value)
        return None if number != number else number

    def read_id(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():  # a spreadsheet's number
            value = int(value)
        return _text_id(parse_identifier(value))

    readers: dict[str, Callable[[Any], Any]] = {name: read_id for name in IDS}
    readers.update({name: read_date for name in contract.DATE_FIELDS})
    readers.update({name: read_money for name in contract.AMOUNT_FIELDS})
    for name in (*contract.BUDGET_FIELDS, *contract.ITEM_FIELDS):
        readers.setdefault(name, parse_text)
    return readers


def load_history(path: Path, options: HistoryOptions | None = None) -> History:
    """Read and check a history; raise HistoryError when it cannot be used as asked."""
    options = options or HistoryOptions()
    parts = history_parts(path, options)
    shape, order, decimal = _survey(parts, options)
    readers = _readers(order, decimal)
    grouping = Grouping(options.keep_fields, owners=shape == TABLES)
    problems: dict[tuple[str, str], Problem] = {}
    classes = {name: [0, 0] for name in (*CLASSES, "unreadable label")}
    n_rows = n_unreadable = n_excluded = 0
    for part, line, raw, row in _rows(parts):
        n_rows += 1
        kind, label, found = _read_row(part, raw, row, shape, readers, options)
        for code, name, value, message in found:
            _count(problems, code, name, line, value, message, part.name)
        class_name = "unreadable label" if label is None else CLASSES[1 - label]
        classes[class_name][0] += 1
        readable = all(code == "invalid_label" for code, *_ in found)
        if found:
            n_unreadable += 1
            classes[class_name][1] += not readable
        if not readable or kind not in ("pair", "link", "budget", "item"):
            if not any(name in IDS for _, name, *_ in found):
                n_excluded += exclude(grouping, row, kind)
            continue
        user = _link_user(grouping, row, part, line, problems) if kind == "link" else None
        if kind == "link" and user is None:  # counted by _link_user: unknown_id
            n_unreadable += not found
            classes[class_name][1] += 1
            continue
        user = user or grouping.user(row)
        for side in ("budget", "item"):
            if kind in (side, "pair"):
                grouping.add(user, row, side)
        if kind in ("pair", "link") and options.require_label:
            if label is None:
                n_excluded += exclude(grouping, row, kind)
            else:
                grouping.label(user, row, label)
    history = History(
        path, shape, parts, grouping.ordered_users(), order, options.dates is not None,
        decimal, options.decimal is not None, problems, n_rows, n_unreadable, classes, n_excluded,
    )  # fmt: skip
    _refuse_losses(history, options)
    return history


Finding = tuple[str, str, Any, str]  # code, field, value, message


def _read_row(
    part: Part,
    raw: Row,
    row: Row,
    shape: str,
    readers: dict[str, Callable[[Any], Any]],
    options: HistoryOptions,
) -> tuple[str, int | None, list[Finding]]:
    """Read `row` in place: (its kind, its label or None, what cannot be read in it)."""
    found: list[Finding] = []
    if EXTRA in raw:
        found.append(("extra_cells", "(row)", raw[EXTRA], "more cells than header columns"))
    kind = part.kind or row_kind(row)
    if shape == PAIRS and kind in ("budget", "item"):
        kind = f"missing_id in {contract.ITEM_ID if kind == 'budget' else contract.BUDGET_ID}"
    if kind.startswith("missing_id"):
        name = kind.removeprefix("missing_id in ")
        message = f"the row has {name.split('_')[0]} fields but no {name}"
        found.append(("missing_id", name, row.get(name), message))
    elif kind == "no_shape":
        message = "the row names neither a budget nor a line item"
        found.append(("no_shape", "(row)", None, message))
    skip = {contract.LABEL, *absent_ids(kind)}
    for name, value in row.items():
        if name in skip or (kind == "link" and name not in IDS):
            continue
        try:
            row[name] = readers[name](value)
        except ValueProblem as problem:
            found.append((problem.code, name, value, problem.message))
    raw_label = row.get(contract.LABEL)
    label: int | None = 0
    if kind in ("pair", "link"):
        implied = shape != PAIRS and raw_label is None
        label = 1 if implied else read_label(raw_label, options.names.labels)
    elif kind in ("budget", "item") and read_label(raw_label, options.names.labels) == 1:
        message = f"a match needs a budget and a line item; this row has a {kind} only"
        found.append(("one_sided_match", contract.LABEL, raw_label, message))
    if label is None and options.require_label:
        message = 'not a label: map your words with --labels "WORD=1,WORD=0"'
        found.append(("invalid_label", contract.LABEL, raw_label, message))
    return kind, label, found


def _link_user(
    grouping: Grouping, row: Row, part: Part, line: int, problems: dict[tuple[str, str], Problem]
) -> UserRecords | None:
    """The user of a link: its budget's, which must also own its item."""
    budget_id, item_id = row[contract.BUDGET_ID], row[contract.ITEM_ID]
    owner = grouping.owner.get(budget_id)
    if owner is None or grouping.items_owner.get(item_id) != owner:
        name, value = (
            (contract.BUDGET_ID, budget_id) if owner is None else (contract.ITEM_ID, item_id)
        )
        message = (
            f"no row of the {'budgets' if owner is None else 'items'} table (of that user) has it"
        )
        _count(problems, "unknown_id", name, line, value, message, part.name)
        return None
    return grouping.users[owner]


def _refuse_losses(history: History, options: HistoryOptions) -> None:
    """HistoryError when more than --max-invalid of the rows, or of either class, is lost."""
    if history.invalid_share > options.max_invalid and history.problems:
        (code, name), worst = max(history.problems.items(), key=lambda kv: kv[1].count)
        raise HistoryError(
            f"{history.n_unreadable} of {history.n_rows} rows ({history.invalid_share:.1%}) are "
            f"unreadable, over --max-invalid {options.max_invalid:g}; most: {worst.count} "
            f"{code} in {name}, e.g. {worst.where} {worst.value} ({worst.message})"
        )
    for name in CLASSES:
        rows, lost = history.classes[name]
        if rows and lost / rows > options.max_invalid:
            raise HistoryError(
                f"{lost} of {rows} {name} rows ({lost / rows:.1%}) are left out, over "
                f"--max-invalid {options.max_invalid:g}: training on the rest would change the "
                "balance of matches and non-matches"
            )
    if not history.users or history.n_readable == 0:
        raise HistoryError(f"{history.path}: no readable row")


def _count(
    problems: dict[tuple[str, str], Problem],
    code: str,
    name: str,
    line: int,
    value: Any,
    message: str,
    table: str | None = None,
) -> None:
    problem = problems.get((code, name))
    if problem is None:
        problems[(code, name)] = Problem(1, line, shown(value), message[:200], table)
    else:
        problem.count += 1
