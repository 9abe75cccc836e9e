"""Labeled rows → payloads → features through the service's own feature function."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest

from bem.model.dataset import build_dataset, group_rows, load_dataset, parse_label, read_rows
from bem.synth.users import ROW_FIELDS, user_rows
from budget_matcher import contract
from budget_matcher.features import FEATURE_NAMES, compute_features
from flattened_data_points import FlattenedDataPoints


def _seed_row(payload: dict, label: str, user: str = "alice") -> dict:
    return {
        contract.USER_ID_KEY: user,
        **payload["budgets"][0],
        **payload["all_user_expense_lineitems"][0],
        contract.LABEL: label,
    }


def test_parse_label_accepts_common_spellings() -> None:
    assert [parse_label(v) for v in ("1", "TRUE", "yes", 1, True, 1.0)] == [1] * 6
    assert [parse_label(v) for v in ("0", "false", "No", 0, False)] == [0] * 5
    assert parse_label(None) is None and parse_label("maybe") is None


def test_build_dataset_features_equal_the_core_function(seed_payload) -> None:
    dataset = build_dataset(group_rows([_seed_row(seed_payload, "0")]))
    direct = compute_features(FlattenedDataPoints(seed_payload).all().pairs)
    np.testing.assert_array_equal(dataset.features, direct)
    assert dataset.features.shape == (1, len(FEATURE_NAMES))
    assert dataset.budget_ids == ["309366"] and dataset.itemization_ids == ["4659496"]


def test_build_dataset_labels_follow_synthetic_matches(small_users) -> None:
    users = small_users[:15]
    rows = [row for user in users for row in user_rows(user)]
    dataset = build_dataset(group_rows(rows))
    expected = {(u.user_id, b, i) for u in users for b, i in u.matches}
    found = {
        (u, b, i)
        for u, b, i, y in zip(
            dataset.users, dataset.budget_ids, dataset.itemization_ids, dataset.labels, strict=True
        )
        if y == 1
    }
    assert found == expected
    assert len(dataset) == sum(len(u.budgets) * len(u.items) for u in users)


def test_build_dataset_compact_and_full_layouts_agree(small_users) -> None:
    users = small_users[:5]
    compact = build_dataset(group_rows([r for u in users for r in user_rows(u, "compact")]))
    full = build_dataset(group_rows([r for u in users for r in user_rows(u, "full")]))
    assert compact.digest == full.digest
    key = np.lexsort((compact.itemization_ids, compact.budget_ids))
    key_full = np.lexsort((full.itemization_ids, full.budget_ids))
    np.testing.assert_array_equal(compact.labels[key], full.labels[key_full])


def test_build_dataset_unlisted_drop_keeps_only_listed_pairs(small_users) -> None:
    rows = list(user_rows(small_users[0]))
    dropped = build_dataset(group_rows(rows), unlisted="drop")
    assert len(dropped) == len({(r[contract.BUDGET_ID], r[contract.ITEM_ID]) for r in rows})


def test_canonical_digest_ignores_row_order(small_users) -> None:
    rows = list(user_rows(small_users[1]))
    forward = build_dataset(group_rows(rows)).digest
    backward = build_dataset(group_rows(list(reversed(rows)))).digest
    assert forward == backward
    rows[0] = {**rows[0], contract.ITEM_AMOUNT: "999.99"}
    assert build_dataset(group_rows(rows)).digest != forward


def test_build_dataset_rows_without_user_form_one_user(seed_payload) -> None:
    row = _seed_row(seed_payload, "yes")
    del row[contract.USER_ID_KEY]
    dataset = build_dataset(group_rows([row]))
    assert dataset.n_users == 1 and dataset.labels.tolist() == [1]


def test_build_dataset_unreadable_values_are_counted_not_raised(seed_payload) -> None:
    bad = _seed_row(seed_payload, "1")
    bad[contract.ITEM_AMOUNT] = "twenty four"
    dataset = build_dataset(group_rows([bad]))
    assert len(dataset) == 0 and dataset.n_error_items == 1


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl"])
def test_read_rows_reads_every_format(tmp_path, small_users, suffix) -> None:
    rows = list(user_rows(small_users[2]))
    path = tmp_path / f"history{suffix}"
    if suffix == ".csv":
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=ROW_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    elif suffix == ".json":
        path.write_text(json.dumps({"rows": rows}))
    else:
        path.write_text("\n".join(json.dumps(r) for r in rows))
    read = read_rows(path)
    assert len(read) == len(rows)
    assert load_dataset(path).digest == build_dataset(group_rows(rows)).digest


def test_read_rows_csv_ids_written_as_floats_are_repaired(tmp_path, seed_payload) -> None:
    row = _seed_row(seed_payload, "1")
    row[contract.BUDGET_ID] = "309366.0"
    path = tmp_path / "sheet.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    assert load_dataset(path).budget_ids == ["309366"]


def test_build_dataset_keeps_every_user_past_the_lambda_answer_limit(small_users) -> None:
    # 120 users' answers would pass Lambda's 6 MB: the service refuses the later users of such
    # a call, training must not.
    rows = [row for user in small_users for row in user_rows(user)]
    dataset = build_dataset(group_rows(rows))
    assert len(set(dataset.users.tolist())) == len(small_users)
    assert dataset.n_error_items == 0


def test_build_dataset_of_shuffled_rows_has_the_features_the_lambda_serves(small_users) -> None:
    users = small_users[:12]
    rows = [row for user in users for row in user_rows(user, "full")]
    random.Random(5).shuffle(rows)
    dataset = build_dataset(group_rows(rows))
    trained = {
        key: dataset.features[k]
        for k, key in enumerate(
            zip(dataset.users, dataset.budget_ids, dataset.itemization_ids, strict=True)
        )
    }
    served = 0
    for user in group_rows([row for u in users for row in user_rows(u, "full")]):
        pairs = FlattenedDataPoints(user.payload()).all().pairs  # one request per user
        features = compute_features(pairs)
        for k, key in enumerate(zip(pairs.budget_ids, pairs.itemization_ids, strict=True)):
            np.testing.assert_array_equal(trained[(user.user_id, *key)], features[k])
            served += 1
    assert served == len(dataset) > 0
