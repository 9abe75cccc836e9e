"""The history contract: what a user's own file meets before it trains, evaluates or scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bem.data.check import HistoryOptions, load_history
from bem.data.columns import HistoryError, Mapping, parse_mapping
from bem.data.convert import history_dataset, history_payload, template_csv
from bem.data.report import report_lines
from bem.model.dataset import Dataset
from budget_matcher import contract
from flattened_data_points import FlattenedDataPoints
from tests.data.conftest import MAPPING, Rows, write_csv
from tests.data.their_history import day_first


def _day_first_rows(rows: Rows) -> Rows:
    return [
        {k: (day_first(v) if k in contract.DATE_FIELDS else v) for k, v in row.items()}
        for row in rows
    ]


def _assert_same_pairs(actual: Dataset, expected: Dataset) -> None:
    assert len(actual) == len(expected)
    assert int(actual.labels.sum()) == int(expected.labels.sum())
    np.testing.assert_array_equal(actual.labels, expected.labels)
    np.testing.assert_allclose(actual.features, expected.features, equal_nan=True)


def _mapping(tmp_path: Path) -> Mapping:
    path = tmp_path / "mapping.toml"
    path.write_text(MAPPING)
    return parse_mapping([], path)


def test_history_day_first_dates_are_refused_without_an_order(
    tmp_path: Path, history_rows: Rows
) -> None:
    path = write_csv(_day_first_rows(history_rows), tmp_path / "dmy.csv")
    with pytest.raises(
        HistoryError, match=r"pass --dates dmy or --dates mdy.*suggests --dates dmy"
    ):
        load_history(path)


def test_history_day_first_dates_with_their_order_keep_every_pair(
    tmp_path: Path, history_rows: Rows
) -> None:
    path = write_csv(_day_first_rows(history_rows), tmp_path / "dmy.csv")
    history = load_history(path, HistoryOptions(dates="dmy"))
    assert history.n_unreadable == 0
    expected = history_dataset(load_history(write_csv(history_rows, tmp_path / "iso.csv")))
    _assert_same_pairs(history_dataset(history), expected)


def test_history_their_way_reports_unreadable_rows_by_field_and_drops_nothing_else(
    tmp_path: Path, history_rows: Rows, their_csv: tuple[Path, list[int]]
) -> None:
    path, broken = their_csv
    history = load_history(path, HistoryOptions(_mapping(tmp_path), "dmy"))
    assert history.parts[0].source.delimiter == ";"
    assert history.n_unreadable == len(broken) > 0
    counts = {key: problem.count for key, problem in history.problems.items()}
    assert counts == {
        ("invalid_amount", contract.ITEM_AMOUNT): sum(1 for i in broken if i % 2 == 0),
        ("invalid_date", contract.BUDGET_TRIP_START): sum(1 for i in broken if i % 2 == 1),
    }
    first_bad_amount = next(i for i in broken if i % 2 == 0)
    assert history.problems[("invalid_amount", contract.ITEM_AMOUNT)].line == first_bad_amount + 2
    kept = [row for index, row in enumerate(history_rows) if index not in set(broken)]
    iso = load_history(write_csv(kept, tmp_path / "kept.csv"))
    _assert_same_pairs(history_dataset(history), history_dataset(iso))


def test_history_over_max_invalid_is_refused_naming_the_worst_field(
    tmp_path: Path, their_csv: tuple[Path, list[int]]
) -> None:
    path, broken = their_csv
    odd = sum(1 for i in broken if i % 2)
    worst = f"{max(odd, len(broken) - odd)} invalid_{'date' if 2 * odd > len(broken) else 'amount'}"
    with pytest.raises(HistoryError, match=f"over --max-invalid 0.01; most: {worst} in"):
        load_history(path, HistoryOptions(_mapping(tmp_path), "dmy", max_invalid=0.01))


def test_history_typo_in_a_column_name_says_did_you_mean(
    tmp_path: Path, history_rows: Rows
) -> None:
    rows = [
        {("budget_typ_budget" if k == contract.BUDGET_TYPE else k): v for k, v in r.items()}
        for r in history_rows
    ]
    path = write_csv(rows, tmp_path / "typo.csv")
    with pytest.raises(HistoryError, match="did you mean 'budget_type_budget'"):
        load_history(path)
    mapped = load_history(path, HistoryOptions({"budget_typ_budget": contract.BUDGET_TYPE}))
    assert mapped.columns.missing_optional == []


def test_history_without_user_id_is_refused_with_the_reason(
    tmp_path: Path, history_rows: Rows
) -> None:
    rows = [{k: v for k, v in r.items() if k != contract.USER_ID_KEY} for r in history_rows]
    path = write_csv(rows, tmp_path / "nouser.csv", delimiter=";")
    with pytest.raises(HistoryError, match="'user_id' is missing: candidate pairs are formed"):
        load_history(path)


def test_history_missing_optional_columns_are_listed(tmp_path: Path, history_rows: Rows) -> None:
    rows = [{k: v for k, v in r.items() if k != contract.ITEM_VENDOR} for r in history_rows]
    history = load_history(write_csv(rows, tmp_path / "novendor.csv"))
    assert history.columns.missing_optional == [contract.ITEM_VENDOR]
    assert any(contract.ITEM_VENDOR in line for line in report_lines(history))


def test_history_encoding_and_delimiter_are_sniffed(tmp_path: Path) -> None:
    text = template_csv().replace(",", "\t").replace("Southwest Airlines", "Café Airlines")
    path = tmp_path / "latin.tsv"
    path.write_bytes(text.encode("cp1252"))
    history = load_history(path)
    assert (history.parts[0].source.encoding, history.parts[0].source.delimiter) == ("cp1252", "\t")
    (budget,) = history.users[0].budgets.values()
    assert budget[contract.BUDGET_TRAVEL_VENDOR] == "Café Airlines"


def test_history_dates_that_disagree_are_refused(tmp_path: Path) -> None:
    lines = template_csv().replace("2017-04-18 04:00:00", "18/04/2017").splitlines()
    lines[2] = lines[2].replace("2017-04-09 00:00:00", "04/19/2017")
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(HistoryError, match="dates disagree"):
        load_history(path)


def test_history_an_order_the_dates_show_is_used(tmp_path: Path) -> None:
    path = tmp_path / "dmy.csv"
    path.write_text(template_csv().replace("2017-04-18 04:00:00", "18/04/2017 04:00"))
    history = load_history(path)
    assert (history.date_order, history.date_order_given) == ("dmy", False)
    (budget,) = history.users[0].budgets.values()
    assert budget[contract.BUDGET_TRIP_START] == "2017-04-18 04:00"


def test_history_mapping_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="did you mean 'budget_id'"):
        parse_mapping(["trip=budget_di"])
    with pytest.raises(HistoryError, match="THEIRS=OURS"):
        parse_mapping(["trip"])
    path = tmp_path / "t.csv"
    path.write_text(template_csv())
    with pytest.raises(HistoryError, match="mapped column 'trip_id' is not in the file"):
        load_history(path, HistoryOptions({"trip_id": contract.BUDGET_ID}))


def test_history_template_trains_one_match(tmp_path: Path) -> None:
    path = tmp_path / "template.csv"
    path.write_text(template_csv())
    dataset = history_dataset(load_history(path))
    assert (len(dataset), int(dataset.labels.sum())) == (2, 1)


def test_history_payload_is_read_by_the_runtime_without_errors(history_csv: Path) -> None:
    history = load_history(history_csv, HistoryOptions(require_label=False))
    batch = history_payload(history)
    read = FlattenedDataPoints(batch).all()
    assert read.error_items == []
    users = history.users
    assert len(read.pairs) == sum(len(u.budgets) * len(u.items) for u in users)
    one = history_payload(history, users[0].user_id)
    assert set(one) == {contract.BUDGETS_KEY, contract.LINE_ITEMS_KEY}
    with pytest.raises(HistoryError, match="no user 'nobody'"):
        history_payload(history, "nobody")


def test_history_json_rows_go_through_the_same_contract(tmp_path: Path, history_rows: Rows) -> None:
    rows = _day_first_rows(history_rows[:200])
    rows[3][contract.ITEM_AMOUNT] = "twelve"
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"rows": rows}))
    with pytest.raises(HistoryError, match="pass --dates dmy"):
        load_history(path)
    history = load_history(path, HistoryOptions(dates="dmy"))
    assert history.parts[0].source.delimiter is None and history.n_unreadable == 1
    assert history.problems[("invalid_amount", contract.ITEM_AMOUNT)].line == 4
