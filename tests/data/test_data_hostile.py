"""Hostile histories and mappings: one line each, no traceback, the Lambda's own bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bem.cli import main
from bem.data.check import HistoryOptions, load_history
from bem.data.columns import HistoryError, parse_mapping
from bem.data.convert import template_csv
from bem.data.report import report_lines
from budget_matcher import contract
from budget_matcher.values import MAX_ID_CHARS


def _check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["data", "check", *args])
    return result.exit_code, result.output


def _one_line_error(code: int, output: str) -> str:
    assert code == 1, output
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    return lines[0]


def test_hostile_huge_field_is_one_line_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    lines = template_csv().splitlines()
    path.write_text("\n".join([*lines, 'u2,"' + "x" * 300_000 + '",1\n']))
    line = _one_line_error(*_check(str(path)))
    assert "line 4" in line and len(line) < 400


def test_hostile_unterminated_quote_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    lines = template_csv().splitlines()
    broken = lines[1].replace(",", ',"', 1)
    path.write_text("\n".join([lines[0], broken, *lines[2:], *lines[1:]]) + "\n")
    line = _one_line_error(*_check(str(path)))
    assert "line 2" in line and "quote" in line


def test_hostile_deeply_nested_json_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    line = _one_line_error(*_check(str(path)))
    assert "nested too deeply" in line


def test_hostile_json_lines_with_a_non_object_row(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"user_id": "u"}) + "\n[1, 2]\n")
    assert "row 2 is no object" in _one_line_error(*_check(str(path)))


def test_hostile_mapping_files_are_one_line(tmp_path: Path) -> None:
    history = tmp_path / "h.csv"
    history.write_text(template_csv())
    not_table = tmp_path / "a.toml"
    not_table.write_text('columns = "trip_id"\n')
    assert "not a table" in _one_line_error(*_check(str(history), "--columns", str(not_table)))
    latin = tmp_path / "b.toml"
    latin.write_bytes('[columns]\n"déjà" = "budget_id"\n'.encode("latin-1"))
    assert "not UTF-8" in _one_line_error(*_check(str(history), "--columns", str(latin)))
    number = tmp_path / "c.toml"
    number.write_text("[columns]\ntrip = 3\n")
    assert "is no column name" in _one_line_error(*_check(str(history), "--columns", str(number)))


def test_hostile_ids_and_cells_meet_the_lambdas_bounds_and_are_shown_short(
    tmp_path: Path,
) -> None:
    lines = template_csv().splitlines()
    long_id = "7" * 5000
    lines.append(lines[2].replace("4659497", long_id).replace("u1", "u2"))
    lines.append(lines[2].replace("SOUTHWEST AIR 5262139", "v" * 5000).replace("u1", "u3"))
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n")
    history = load_history(path, HistoryOptions(max_invalid=1.0))
    too_long = history.problems[("too_long", contract.ITEM_ID)]
    assert str(MAX_ID_CHARS) in too_long.message
    assert history.problems[("too_long", contract.ITEM_VENDOR)].line == 5
    for line in report_lines(history):
        assert len(line) < 400, line
    assert all(len(p.value) <= 84 for p in history.problems.values())


def test_hostile_empty_cells_are_shown_empty(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    lines = template_csv().splitlines()
    lines.append(lines[2].replace("u1", "").replace("4659497", "4659498"))
    path.write_text("\n".join(lines) + "\n")
    history = load_history(path, HistoryOptions(max_invalid=1.0))
    problem = history.problems[("missing_id", contract.USER_ID_KEY)]
    assert problem.value == "''"
    assert "None" not in "\n".join(report_lines(history))


def test_hostile_column_and_columns_merge_and_conflicts_are_errors(tmp_path: Path) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text('[columns]\ntrip = "budget_id"\nvendor = ["travel_vendor_receipts", '
                    '"purchase_vendor_receipts"]\n')  # fmt: skip
    merged = parse_mapping(["line=itemization_id"], toml)
    assert merged.columns == {
        "trip": ["budget_id"],
        "vendor": ["travel_vendor_receipts", "purchase_vendor_receipts"],
        "line": ["itemization_id"],
    }
    with pytest.raises(HistoryError, match=r"trip is mapped to budget_id by m\.toml and to"):
        parse_mapping(["trip=itemization_id"], toml)
    assert parse_mapping(["trip=budget_id"], toml).columns["trip"] == ["budget_id"]


def test_hostile_one_column_feeds_two_of_ours(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    text = template_csv()
    header, *rest = text.splitlines()
    columns = header.split(",")
    columns[columns.index(contract.BUDGET_TRAVEL_VENDOR)] = "vendor"
    drop = columns.index(contract.BUDGET_PURCHASE_VENDOR)
    rows = [",".join(c for i, c in enumerate(r.split(",")) if i != drop) for r in rest]
    path.write_text("\n".join([",".join(c for i, c in enumerate(columns) if i != drop), *rows]))
    mapping = parse_mapping(["vendor=travel_vendor_receipts", "vendor=purchase_vendor_receipts"])
    history = load_history(path, HistoryOptions(mapping))
    (budget,) = history.users[0].budgets.values()
    assert budget[contract.BUDGET_TRAVEL_VENDOR] == budget[contract.BUDGET_PURCHASE_VENDOR]
    assert budget[contract.BUDGET_TRAVEL_VENDOR] == "Southwest Airlines"
