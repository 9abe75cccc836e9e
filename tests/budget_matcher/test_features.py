"""The feature function and its vendor similarity measures."""

from __future__ import annotations

from typing import Any

import numpy as np
import py_stringmatching as sm
import pytest

from budget_matcher.features import FEATURE_NAMES, compute_features, rank_within
from budget_matcher.pairs import CandidatePairs
from budget_matcher.similarity import vendor_similarities
from budget_matcher.text import normalise
from flattened_data_points import FlattenedDataPoints


def _column(name: str) -> int:
    return FEATURE_NAMES.index(name)


def test_normalise_collapses_card_feed_noise() -> None:
    assert normalise("SOUTHWEST AIR 5262134519") == "southwest air"
    assert normalise("Southwest Airlines") == "southwest airlin"
    assert normalise("MARRIOTT SAN FRAN #123") == normalise("marriott   san-fran")
    assert normalise("Łódź Café") == "lodz cafe"
    assert normalise("#123 *.*") is None
    assert normalise(None) is None


def test_features_shape_and_seed_values(seed_payload: dict[str, Any]) -> None:
    features = compute_features(FlattenedDataPoints(seed_payload).all().pairs)
    assert features.shape == (1, len(FEATURE_NAMES))
    row = features[0]
    assert row[_column("type_match")] == 0.0  # a taxi is not a flight
    assert row[_column("days_outside_trip")] == pytest.approx(5 + 20 / 24)
    assert row[_column("amount_rel_diff_actual")] == pytest.approx(abs(24 - 131.98) / 131.98)
    assert row[_column("trip_length_days")] == pytest.approx(1.0)


def test_features_missing_inputs_give_nan(seed_payload: dict[str, Any]) -> None:
    seed_payload["budgets"][0].update(
        travel_vendor_receipts=None, purchase_vendor_receipts="", actual_cost_budget=None
    )
    row = compute_features(FlattenedDataPoints(seed_payload).all().pairs)[0]
    assert np.isnan(row[_column("vendor_jaro_winkler")])
    assert np.isnan(row[_column("amount_rel_diff_actual")])
    assert not np.isnan(row[_column("amount_rel_diff_budgeted")])


def test_features_empty_pairs() -> None:
    assert compute_features(CandidatePairs.empty()).shape == (0, len(FEATURE_NAMES))


def test_vendor_similarity_matches_py_stringmatching_definitions() -> None:
    budget_vendors = ["Southwest Airlines", "Marriott Marquis San Francisco", "Hertz", None]
    item_vendors = ["SOUTHWEST AIR 5262134519", "MARRIOTT SAN FRAN #123", "HERTZ RENT-A-CAR"]
    b = np.repeat(np.arange(4), 3)
    i = np.tile(np.arange(3), 4)
    measured = vendor_similarities([budget_vendors], item_vendors, b, i)
    jaccard, levenshtein = sm.Jaccard(), sm.Levenshtein()
    monge_elkan = sm.MongeElkan(sim_func=sm.JaroWinkler().get_raw_score)
    for row, (bk, ik) in enumerate(zip(b, i, strict=True)):
        if budget_vendors[bk] is None:
            assert np.isnan(measured[row]).all()
            continue
        left, right = normalise(budget_vendors[bk]), normalise(item_vendors[ik])
        assert left is not None and right is not None
        assert measured[row, 1] == pytest.approx(levenshtein.get_sim_score(left, right))
        assert measured[row, 2] == pytest.approx(jaccard.get_sim_score(left.split(), right.split()))
        # py_stringmatching boosts Jaro below 0.7 too; compare where both agree (high scores).
        expected_me = monge_elkan.get_raw_score(left.split(), right.split())
        if expected_me > 0.8:
            assert measured[row, 3] == pytest.approx(
                expected_me, abs=1e-6
            )  # it computes in float32


def test_vendor_similarity_takes_best_budget_vendor_field() -> None:
    travel = ["Delta"]
    purchase = ["Southwest Airlines"]
    idx = np.zeros(1, dtype=np.int64)
    both = vendor_similarities([travel, purchase], ["SOUTHWEST AIR"], idx, idx)
    only_travel = vendor_similarities([travel], ["SOUTHWEST AIR"], idx, idx)
    assert both[0, 3] > only_travel[0, 3]


def test_rank_within_groups_ascending_with_nan() -> None:
    groups = np.array([0, 0, 0, 1, 1])
    values = np.array([3.0, 1.0, np.nan, 5.0, 2.0])
    assert rank_within(groups, values)[[0, 1, 3, 4]].tolist() == [2.0, 1.0, 2.0, 1.0]
    assert np.isnan(rank_within(groups, values)[2])


def test_text_stopwords_and_stems_agree_with_nltk() -> None:
    import nltk
    from nltk.corpus.reader import WordListCorpusReader
    from nltk.stem.snowball import SnowballStemmer

    from budget_matcher import config
    from budget_matcher.text import _language_tools, read_stopwords

    nltk.data.path.insert(0, str(config.DEFAULT_NLTK_DATA))
    corpus = nltk.data.find("corpora/stopwords", paths=[str(config.DEFAULT_NLTK_DATA)])
    reader = WordListCorpusReader(corpus, ["english"])
    assert read_stopwords() == frozenset(reader.words("english"))
    _, stem = _language_tools()
    nltk_stem = SnowballStemmer("english").stem
    # The product's vocabulary: the generator's vendor and expense words, the README and docs.
    import inspect
    import re

    import bem.synth.vocab

    text = inspect.getsource(bem.synth.vocab) + "".join(
        path.read_text()
        for path in [config.TASK_ROOT / "README.md", *config.TASK_ROOT.glob("docs/*.md")]
    )
    vocabulary = sorted({word.lower() for word in re.findall(r"[A-Za-z]{2,}", text)})
    differing = [word for word in vocabulary if stem(word) != nltk_stem(word)]
    # snowballstemmer follows the current Snowball English rules; NLTK an older revision
    # (e.g. "added": "add" vs "ad"). Both sides of the model use the same one.
    assert len(vocabulary) > 1000
    assert len(differing) / len(vocabulary) < 0.01, differing


def _line_item(item_id: str, amount: str, date: str, vendor: str | None) -> dict[str, Any]:
    return {
        "itemization_id": item_id,
        "expensed_amount_itemization": amount,
        "transaction_date_itemization": date,
        "vendor_name_expense": vendor,
        "expense_type_name_itemization": "Airfare",
    }


def test_vendor_window_sum_log_ratio_adds_split_charges_in_window() -> None:
    budget: dict[str, str | None] = {
        "budget_id": "b1",
        "budget_type_budget": "flight",
        "budget_price_budget": "450.0",
        "actual_cost_budget": "400.0",
        "travel_vendor_receipts": "Southwest Airlines",
        "generated_at_budget": "2017-04-08 14:55:39",
        "start_datetime_trips": "2017-04-18 04:00:00",
        "end_datetime_trips": "2017-04-19 04:00:00",
    }
    items = [
        _line_item("split-1", "250.0", "2017-04-08 00:00:00", "SOUTHWEST AIR 5262134519"),
        _line_item("split-2", "150.0", "2017-04-18 00:00:00", "Southwest Air #88"),
        _line_item("other-vendor", "90.0", "2017-04-18 00:00:00", "Marriott"),
        _line_item("outside", "75.0", "2017-04-25 00:00:00", "SOUTHWEST AIR"),
        _line_item("no-vendor", "400.0", "2017-04-18 00:00:00", None),
    ]
    payload = {"budgets": [budget], "all_user_expense_lineitems": items}
    pairs = FlattenedDataPoints(payload).all().pairs
    column = compute_features(pairs)[:, _column("vendor_window_sum_log_ratio")]
    value = dict(zip(pairs.itemization_ids, column.tolist(), strict=True))
    # 250 + 150 = the actual cost; the $75 charge is after end + 5 days, so it is left out.
    assert value["split-1"] == pytest.approx(0.0)
    assert value["split-2"] == pytest.approx(0.0)
    assert value["outside"] == pytest.approx(0.0)
    # Another vendor sums only its own charge.
    assert value["other-vendor"] == pytest.approx(np.log1p(90.0) - np.log1p(400.0))
    assert np.isnan(value["no-vendor"])
    # Without an actual cost the budgeted price is the reference; without a window, NaN.
    budget.update(actual_cost_budget=None)
    window = _column("vendor_window_sum_log_ratio")
    column = compute_features(FlattenedDataPoints(payload).all().pairs)
    assert column[0, window] == pytest.approx(np.log1p(400.0) - np.log1p(450.0))
    budget.update(end_datetime_trips=None)
    assert np.isnan(compute_features(FlattenedDataPoints(payload).all().pairs)[0, window])


def test_features_names_are_unique_and_one_per_column(seed_payload: dict[str, Any]) -> None:
    from budget_matcher.features import FEATURES

    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES) == len(FEATURES)
    matrix = compute_features(FlattenedDataPoints(seed_payload).all().pairs)
    assert matrix.shape[1] == len(FEATURES)
