"""Labels in the user's words, amounts as written, and leaving rows out never silently."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bem.data.check import HistoryOptions, load_history
from bem.data.columns import HistoryError, parse_mapping
from bem.data.convert import history_dataset
from bem.data.report import report_lines
from budget_matcher import contract
from tests.data.conftest import Rows, write_csv
from tests.data.their_history import european_amount


def _relabel(rows: Rows, word: str, count: int) -> tuple[Rows, list[tuple[str | None, ...]]]:
    """`rows` with the first `count` matches labelled `word`; those pairs."""
    out = [dict(r) for r in rows]
    changed: list[tuple[str | None, ...]] = []
    for row in out:
        if row[contract.LABEL] == "1" and len(changed) < count:
            row[contract.LABEL] = word
            changed.append((row[contract.BUDGET_ID], row[contract.ITEM_ID]))
    return out, changed


def test_history_unreadable_labels_exclude_their_pairs_never_negatives(
    tmp_path: Path, history_rows: Rows
) -> None:
    full = history_dataset(load_history(write_csv(history_rows, tmp_path / "all.csv")))
    rows, changed = _relabel(history_rows, "Yes (manual)", 5)
    path = write_csv(rows, tmp_path / "words.csv")
    history = load_history(path, HistoryOptions(max_invalid=0.5))
    dataset = history_dataset(history)
    assert int(dataset.labels.sum()) == int(full.labels.sum()) - 5
    kept = set(zip(dataset.budget_ids, dataset.itemization_ids, strict=True))
    assert not kept & set(changed)  # excluded, not trained as non-matches
    assert len(dataset) == len(full) - 5
    assert history.problems[("invalid_label", contract.LABEL)].count == 5
    assert history.classes["unreadable label"] == [5, 0]
    worded = HistoryOptions(parse_mapping([], labels="Yes (manual)=1,No=0"))
    relabelled = history_dataset(load_history(path, worded))
    assert int(relabelled.labels.sum()) == int(full.labels.sum())


def test_history_label_words_in_the_mapping_file(tmp_path: Path) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text('[columns]\nok = "is_match"\n\n[labels]\n"Oui" = 1\n"Non" = 0\n')
    path = tmp_path / "h.csv"
    path.write_text("user_id,budget_id,itemization_id,ok\nu,b1,i1,oui\nu,b1,i2,Non\nu,b2,i2,\n")
    history = load_history(path, HistoryOptions(parse_mapping([], toml), max_invalid=0.5))
    labels = history.users[0].labels
    assert labels[("b1", "i1")] == 1 and labels[("b1", "i2")] == 0
    assert labels[("b2", "i2")] == -1  # an empty label in a pairs history: excluded


def test_history_losing_more_than_max_invalid_of_one_class_is_refused(
    tmp_path: Path, history_rows: Rows
) -> None:
    rows = [dict(r) for r in history_rows]
    matches = [r for r in rows if r[contract.LABEL] == "1"]
    for row in matches[: len(matches) // 10]:  # 10 % of the matches, ~2 % of the rows
        row[contract.ITEM_AMOUNT] = "n/a"
    path = write_csv(rows, tmp_path / "h.csv")
    with pytest.raises(HistoryError, match=r"of \d+ match rows \(\d+\.\d%\) are left out"):
        load_history(path)
    history = load_history(path, HistoryOptions(max_invalid=0.2))
    lost = history.classes["match"][1]
    assert lost == len(matches) // 10 and history.classes["no match"][1] == 0
    assert any(line.startswith("left out by class: match") for line in report_lines(history))


def _unambiguous(text: str | None) -> str | None:
    """A whole amount of 1,000 or more as "1.238,00": "1.238" reads both ways, and only the
    amount the test plants may."""
    return re.sub(r"(\d\.\d{3})(?=( €)?$)", r"\1,00", text) if text else text


def test_history_european_amounts_are_read_and_ambiguous_ones_refused(
    tmp_path: Path, history_rows: Rows
) -> None:
    rows = [dict(r) for r in history_rows[:300]]
    for index, row in enumerate(rows):
        for name in contract.AMOUNT_FIELDS:
            row[name] = _unambiguous(european_amount(row.get(name), index))
    # a budget's first row (a budget is read from its first row): its price made ambiguous
    k = next(
        k
        for k in range(4, len(rows))
        if rows[k][contract.BUDGET_ID]
        and rows[k][contract.BUDGET_ID] not in {r[contract.BUDGET_ID] for r in rows[:k]}
    )
    rows[k][contract.BUDGET_PRICE] = "1.250"
    path = write_csv(rows, tmp_path / "eu.csv", delimiter=";")
    with pytest.raises(
        HistoryError, match=rf"amount '1\.250' \(line {k + 2}, budget_price_budget\)"
    ):
        load_history(path)
    try:
        load_history(path)
    except HistoryError as error:
        assert error.fix == "--decimal comma"
    history = load_history(path, HistoryOptions(decimal="comma"))
    assert history.n_unreadable == 0 and history.decimal == "comma"
    iso = load_history(write_csv(history_rows[:300], tmp_path / "iso.csv"))
    budget_of = {b: f for u in history.users for b, f in u.budgets.items()}
    assert budget_of[str(rows[k][contract.BUDGET_ID])][contract.BUDGET_PRICE] == 1250.0
    expected = history_dataset(iso)
    rows[k][contract.BUDGET_PRICE] = european_amount(history_rows[k][contract.BUDGET_PRICE], k)
    european = write_csv(rows, tmp_path / "eu2.csv", delimiter=";")
    same = history_dataset(load_history(european, HistoryOptions(decimal="comma")))
    assert same.digest == expected.digest
    np.testing.assert_array_equal(same.features, expected.features)


def test_history_decimal_comma_is_sniffed_when_shown(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(
        "user_id;budget_id;itemization_id;is_match;expensed_amount_itemization\n"
        "u;b1;i1;1;1.027,99\nu;b1;i2;0;29,40 €\n"
    )
    history = load_history(path)
    assert (history.decimal, history.decimal_given) == ("comma", False)
    assert history.users[0].items["i1"][contract.ITEM_AMOUNT] == pytest.approx(1027.99)
