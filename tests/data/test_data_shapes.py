"""One history in three shapes (pairs, records, tables): the same pairs, labels and features."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bem.data.check import HistoryOptions, load_history
from bem.data.columns import HistoryError
from bem.data.convert import history_dataset
from bem.data.report import report_lines
from bem.model.dataset import Dataset
from budget_matcher import contract
from tests.data.conftest import Rows, write_csv
from tests.data.their_history import as_records, split_pairs


def _sorted(dataset: Dataset) -> tuple[list[tuple[str, str, str]], np.ndarray, np.ndarray]:
    keys = list(
        zip(dataset.users.tolist(), dataset.budget_ids, dataset.itemization_ids, strict=True)
    )
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return [keys[i] for i in order], dataset.labels[order], dataset.features[order]


def _assert_same(actual: Dataset, expected: Dataset) -> None:
    keys, labels, features = _sorted(actual)
    expected_keys, expected_labels, expected_features = _sorted(expected)
    assert keys == expected_keys
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_allclose(features, expected_features, equal_nan=True)


def _write_tables(rows: Rows, directory: Path, suffix: str) -> Path:
    directory.mkdir()
    for name, table in zip(("budgets", "items", "links"), split_pairs(rows), strict=True):
        frame = pd.DataFrame(table).astype(object)
        if suffix == ".parquet":
            frame.astype("string").to_parquet(directory / f"{name}.parquet", index=False)
        else:
            frame.to_csv(directory / f"{name}.csv", index=False)
    return directory


@pytest.mark.parametrize("tables_suffix", [".csv", ".parquet"])
def test_shapes_pairs_records_and_tables_give_the_same_pairs_labels_and_features(
    tmp_path: Path, history_rows: Rows, tables_suffix: str
) -> None:
    pairs = load_history(write_csv(history_rows, tmp_path / "pairs.csv"))
    records = load_history(write_csv(as_records(history_rows), tmp_path / "records.csv"))
    tables = load_history(_write_tables(history_rows, tmp_path / "tables", tables_suffix))
    assert (pairs.shape, records.shape, tables.shape) == ("pairs", "records", "tables")
    expected = history_dataset(pairs)
    assert 0 < int(expected.labels.sum()) < len(expected)
    _assert_same(history_dataset(records), expected)
    _assert_same(history_dataset(tables), expected)
    assert any(line.startswith("shape: records") for line in report_lines(records))


def test_shapes_records_without_a_label_column_are_matches_and_grid(
    tmp_path: Path, history_rows: Rows
) -> None:
    rows = [{k: v for k, v in r.items() if k != contract.LABEL} for r in as_records(history_rows)]
    history = load_history(write_csv(rows, tmp_path / "records.csv"))
    expected = history_dataset(load_history(write_csv(history_rows, tmp_path / "pairs.csv")))
    assert history.shape == "records"
    _assert_same(history_dataset(history), expected)


def test_shapes_a_row_that_fits_no_shape_is_counted_with_its_line(
    tmp_path: Path, history_rows: Rows
) -> None:
    rows = as_records(history_rows)
    rows[6] = {k: None for k in rows[6]} | {contract.USER_ID_KEY: "u-x", contract.ITEM_AMOUNT: "3"}
    history = load_history(write_csv(rows, tmp_path / "records.csv"))
    problem = history.problems[("missing_id", contract.ITEM_ID)]
    assert (problem.count, problem.line) == (1, 8)
    rows[6] = {k: None for k in rows[6]} | {contract.USER_ID_KEY: "u-x"}
    with_nothing = load_history(write_csv(rows, tmp_path / "none.csv"))
    assert with_nothing.problems[("no_shape", "(row)")].line == 8


def test_shapes_a_one_sided_match_is_refused_not_paired(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "user_id,budget_id,itemization_id,is_match\nu,b1,i1,1\nu,b2,,\nu,,i2,\nu,b3,,1\n"
    )
    history = load_history(path, HistoryOptions(max_invalid=0.5))
    assert history.problems[("one_sided_match", contract.LABEL)].line == 5
    dataset = history_dataset(history)
    labels = dataset.labels.tolist()
    listed = sorted(zip(dataset.budget_ids, dataset.itemization_ids, labels, strict=True))
    assert listed == [("b1", "i1", 1), ("b1", "i2", 0), ("b2", "i1", 0), ("b2", "i2", 0)]


def test_shapes_tables_link_to_an_unknown_budget_is_named_by_table_and_line(
    tmp_path: Path, history_rows: Rows
) -> None:
    directory = _write_tables(history_rows, tmp_path / "tables", ".csv")
    with (directory / "links.csv").open("a", newline="") as handle:
        csv.writer(handle).writerow(["nope", "4000044"])
    with pytest.raises(HistoryError, match="over --max-invalid 0"):
        load_history(directory, HistoryOptions(max_invalid=0.0))
    history = load_history(directory)
    problem = history.problems[("unknown_id", contract.BUDGET_ID)]
    assert problem.where.startswith("links line ") and problem.value == "'nope'"


def test_shapes_tables_directory_missing_links_is_refused(
    tmp_path: Path, history_rows: Rows
) -> None:
    directory = _write_tables(history_rows, tmp_path / "tables", ".csv")
    (directory / "links.csv").unlink()
    with pytest.raises(HistoryError, match="links not found"):
        load_history(directory)


def test_shapes_records_whose_one_sided_rows_say_no_are_records(
    tmp_path: Path, history_rows: Rows
) -> None:
    rows = [
        {**r, contract.LABEL: "Yes" if r[contract.LABEL] else "No"}
        for r in as_records(history_rows, label="1")
    ]
    history = load_history(write_csv(rows, tmp_path / "records.csv"))
    assert history.shape == "records" and history.n_unreadable == 0
    expected = history_dataset(load_history(write_csv(history_rows, tmp_path / "pairs.csv")))
    _assert_same(history_dataset(history), expected)


def test_shapes_typed_parquet_tables_read_as_text_would(tmp_path: Path) -> None:
    directory = tmp_path / "typed"
    directory.mkdir()
    starts = pd.to_datetime(["2024-04-08 10:00", "2024-05-01 00:00"])
    pd.DataFrame(
        {"user_id": ["u", "u"], "budget_id": [1, 2], "start_datetime_trips": starts,
         "budget_price_budget": [120.5, 80.0]}
    ).to_parquet(directory / "budgets.parquet")  # fmt: skip
    pd.DataFrame(
        {"user_id": ["u", "u"], "itemization_id": [10.0, 11.0],
         "expensed_amount_itemization": [120.5, 3.0]}
    ).to_parquet(directory / "items.parquet")  # fmt: skip
    pd.DataFrame({"budget_id": [1], "itemization_id": [10]}).to_parquet(directory / "links.parquet")
    history = load_history(directory)
    assert history.n_unreadable == 0
    (user,) = history.users
    assert user.budgets["1"][contract.BUDGET_TRIP_START] == "2024-04-08 10:00:00"
    assert set(user.items) == {"10", "11"} and user.labels == {("1", "10"): 1}


def test_shapes_a_tables_directory_is_a_history_not_a_feature_table(
    tmp_path: Path, history_rows: Rows
) -> None:
    from bem.data.options import HistoryArgs
    from bem.model.source import DataSource

    tables = _write_tables(history_rows, tmp_path / "tables", ".parquet")
    features = tmp_path / "features"
    features.mkdir()

    def source(data: Path) -> DataSource:
        return DataSource(data, HistoryArgs(), "negative", 0, 0, 1.0, ())

    assert not source(tables).is_feature_table
    assert source(features).is_feature_table
