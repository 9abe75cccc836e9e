"""One user's budgets or line items → validated columns, and the error items of invalid records.

Records are validated column by column: the values of the fields one parser reads (amounts,
datetimes, texts) are read from every record at once, and each distinct text is parsed once per
request (`RecordReader` remembers the outcomes: card feeds repeat vendors, types, dates and
amounts); other values (numbers, wrong types) are parsed one by one. A record's first problem,
in field order, is its error; its later fields do not count. The first record with a given id
wins; a later one is one `duplicate_id` error item that forms no pair (its `record`, e.g.
"budgets[3]", keys it apart from the first's pairs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, filterfalse, repeat
from operator import itemgetter
from typing import Any

from budget_matcher import contract as c
from budget_matcher.values import MISSING, ValueProblem, parse_identifier, parse_text

_STR_OR_NONE = frozenset({str, type(None)})
_DICT = frozenset({dict})


@dataclass
class Records:
    """Validated records column by column; `problems` maps a row to its error body (such a row
    is never scored, its column values are meaningless)."""

    ids: list[str] = field(default_factory=list)
    numbers: dict[str, list[float]] = field(default_factory=dict)
    texts: dict[str, list[str | None]] = field(default_factory=dict)
    problems: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def valid(self) -> tuple[list[str], dict[str, list[float]], dict[str, list[str | None]]]:
        """Ids, numbers and texts of the rows without problems."""
        if not self.problems:
            return self.ids, self.numbers, self.texts
        rows = [row for row in range(len(self.ids)) if row not in self.problems]

        def keep(column: list[Any]) -> list[Any]:
            return [column[row] for row in rows]

        numbers = {name: keep(column) for name, column in self.numbers.items()}
        texts = {name: keep(column) for name, column in self.texts.items()}
        return keep(self.ids), numbers, texts


class ValueReader:
    """One parser (amount, datetime, text) with its outcome for each text it has seen."""

    def __init__(self, parse: Callable[[Any], Any], missing: Any) -> None:
        self.parse = parse
        self.missing = missing
        self._known: dict[str | None, Any] = {None: missing}  # a value or its ValueProblem
        self._unreadable: set[str | None] = set()

    def column(self, values: list[Any]) -> tuple[list[Any], bool]:
        """The outcome of each value (a ValueProblem when unreadable); True when none is."""
        try:
            distinct = dict.fromkeys(values)
        except TypeError:  # an unhashable value (list, object)
            distinct = {0: None}
        if not _STR_OR_NONE.issuperset(map(type, distinct)):  # 1, 1.0 and True are equal keys
            parsed = [self.missing if value is None else self._attempt(value) for value in values]
            return parsed, False
        known, parse = self._known, self.parse
        for text in list(filterfalse(known.__contains__, distinct)):
            try:
                known[text] = parse(text)
            except ValueProblem as problem:
                known[text] = problem.with_traceback(None)  # kept: no frames (nor cycles)
                self._unreadable.add(text)
        readable = not self._unreadable or self._unreadable.isdisjoint(distinct)
        return list(map(known.__getitem__, values)), readable

    def _attempt(self, value: Any) -> Any:
        try:
            return self.parse(value)
        except ValueProblem as problem:
            return problem.with_traceback(None)


class RecordReader:
    """Validates the lists of records of one request. `number_fields` maps each number field to
    its parser (amounts, datetimes); every other field is text."""

    def __init__(self, number_fields: Mapping[str, Callable[[Any], float]]) -> None:
        readers = {parse: ValueReader(parse, MISSING) for parse in number_fields.values()}
        self._numbers = {name: readers[parse] for name, parse in number_fields.items()}
        self._texts = ValueReader(parse_text, None)
        self._plans: dict[tuple[Sequence[str], Sequence[str]], _Plan] = {}

    def records(
        self,
        raw: list[Any],
        key: str,
        id_field: str,
        fields: tuple[Sequence[str], Sequence[str]],
        user_id: str | None,
        errors: list[dict[str, Any]],
    ) -> Records:
        """The records of `raw` (the list under `key`) with their (number, text) `fields`;
        entries that are no JSON object or have no usable id go to `errors` and are left out."""
        records = Records()
        ids = _clean_ids(raw, id_field)
        if ids is not None:
            entries, records.ids = raw, ids
        else:
            entries = []
            self._check_ids(raw, key, id_field, user_id, entries, records, errors)
        plan = self._plans.get(fields)
        if plan is None:
            plan = self._plans[fields] = self._plan(fields)
        columns = _columns(entries, plan, records.problems)
        number_fields, text_fields = fields
        records.numbers = dict(zip(number_fields, columns, strict=False))
        records.texts = dict(zip(text_fields, columns[len(number_fields) :], strict=True))
        return records

    def _plan(self, fields: tuple[Sequence[str], Sequence[str]]) -> _Plan:
        """The (number, text) `fields` in order, the reader of each, and per reader the
        positions and names of its fields."""
        number_fields, text_fields = fields
        names = [*number_fields, *text_fields]
        readers = [self._numbers[name] for name in number_fields]
        readers += [self._texts] * len(text_fields)
        groups = []
        for reader in dict.fromkeys(readers):
            positions = [k for k, other in enumerate(readers) if other is reader]
            groups.append((reader, positions, [names[k] for k in positions]))
        return _Plan(names, readers, groups)

    @staticmethod
    def _check_ids(
        raw: list[Any],
        key: str,
        id_field: str,
        user_id: str | None,
        entries: list[dict[str, Any]],
        records: Records,
        errors: list[dict[str, Any]],
    ) -> None:
        """Entries with a usable, first-seen id go to `entries` and `records.ids`; the others
        (not an object, no usable id, a duplicate id) are reported in `errors`, by record."""
        seen: set[str] = set()
        for position, entry in enumerate(raw):
            record = f"{key}[{position}]"
            if not isinstance(entry, dict):
                message = f"{record} is not a JSON object"
                errors.append(
                    c.error_item("invalid_record", message, key, None, None, user_id, record)
                )
                continue
            try:
                record_id = parse_identifier(entry.get(id_field))
            except ValueProblem as problem:
                message = f"{record}: {problem.message}"
                errors.append(
                    c.error_item(problem.code, message, id_field, None, None, user_id, record)
                )
                continue
            if record_id in seen:  # the first wins; the duplicate forms no pair
                message = f"{record}: {id_field} {record_id!r} already seen"
                errors.append(
                    c.error_item("duplicate_id", message, id_field, None, None, user_id, record)
                )
                continue
            seen.add(record_id)
            entries.append(entry)
            records.ids.append(record_id)


@dataclass
class _Plan:
    """How one kind of record is read: its fields in order, the reader of each, and per reader
    (one `ValueReader.column` call) the positions and names of its fields."""

    names: list[str]
    readers: list[ValueReader]
    groups: list[tuple[ValueReader, list[int], list[str]]]


def _columns(
    entries: list[dict[str, Any]], plan: _Plan, problems: dict[int, dict[str, Any]]
) -> list[list[Any]]:
    """The parsed column of each field of the plan; a record's first unreadable value, in
    field order, is its problem (`problems`: row → error body).

    The fields of one reader are parsed together (one `ValueReader.column` call over their
    values, record by record): a user's columns are short, so the calls cost as much as the
    values."""
    columns: list[list[Any]] = [[] for _ in plan.names]
    readable = True
    for reader, positions, fields in plan.groups:
        parsed, readable_here = reader.column(_values(entries, fields))
        readable = readable and readable_here
        for offset, position in enumerate(positions):
            columns[position] = parsed[offset :: len(positions)]
    if readable:
        return columns
    for name, reader, column in zip(plan.names, plan.readers, columns, strict=True):
        for row, outcome in enumerate(column):
            if isinstance(outcome, ValueProblem):
                if row not in problems:
                    problems[row] = c.error_body(outcome.code, f"{name}: {outcome.message}", name)
                column[row] = reader.missing
    return columns


def _values(entries: list[dict[str, Any]], fields: list[str]) -> list[Any]:
    """The values of `fields` in each entry, record by record (entry 0's, then entry 1's, …)."""
    if len(fields) == 1:
        name = fields[0]
        return [entry.get(name) for entry in entries]
    if _DICT.issuperset(map(type, entries)):  # plain objects: one C call per record
        try:
            return list(chain.from_iterable(map(itemgetter(*fields), entries)))
        except KeyError:  # a record without one of the fields: missing, as `get` reads it
            pass
    return [entry.get(name) for entry in entries for name in fields]


def _clean_ids(raw: list[Any], id_field: str) -> list[str] | None:
    """The ids of `raw` when every entry is an object with a usable, distinct id (the common
    case, checked in bulk); None otherwise."""
    if not _DICT.issuperset(map(type, raw)):
        return None
    try:
        ids = list(map(parse_identifier, map(dict.get, raw, repeat(id_field))))
    except ValueProblem:
        return None
    return ids if len(set(ids)) == len(ids) else None


def pair_errors(budgets: Records, items: Records, user_id: str | None) -> list[dict[str, Any]]:
    """One error item per pair that involves an invalid record (budget-major, like the pairs)."""
    errors = []
    item_ids: list[str | None] = [*items.ids] or [None]
    invalid_items = [(items.ids[row], problem) for row, problem in sorted(items.problems.items())]
    for row, budget_id in enumerate([*budgets.ids] or [None]):
        problem = budgets.problems.get(row)
        for item_id, error in [(i, problem) for i in item_ids] if problem else invalid_items:
            errors.append(
                c.error_item(
                    error["code"],
                    error["message"],
                    error["field"],
                    budget_id=budget_id,
                    itemization_id=item_id,
                    user_id=user_id,
                )
            )
    return errors
