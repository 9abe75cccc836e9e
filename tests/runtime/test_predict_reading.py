"""The served function reads requests' numeric dates and amounts as the model's training data
were read: the card's `reading`, or BEM_DATE_ORDER / BEM_DECIMAL."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import predict
from budget_matcher import config, contract
from budget_matcher.scoring import score_payload
from budget_matcher.values import configure_reading
from tests.conftest import REPO_ROOT

EUROPEAN: dict[str, object] = {
    contract.BUDGET_PRICE: "1.250",
    contract.BUDGET_ACTUAL_COST: "1.131,98 €",
    contract.BUDGET_TRIP_START: "18/04/2017 04:00:00",
    contract.BUDGET_TRIP_END: "19/04/2017 04:00:00",
    contract.BUDGET_GENERATED_AT: "08/04/2017 14:55:39",
}
ISO: dict[str, object] = {
    contract.BUDGET_PRICE: 1250.0,
    contract.BUDGET_ACTUAL_COST: 1131.98,
    contract.BUDGET_TRIP_START: "2017-04-18 04:00:00",
    contract.BUDGET_TRIP_END: "2017-04-19 04:00:00",
    contract.BUDGET_GENERATED_AT: "2017-04-08 14:55:39",
}


def _request(budget_values: Mapping[str, object], amount: object, day: str) -> dict[str, Any]:
    payload = copy.deepcopy(contract.SEED_EXAMPLE)
    payload[contract.BUDGETS_KEY][0].update(budget_values)
    for item in payload[contract.LINE_ITEMS_KEY]:
        item.update({contract.ITEM_AMOUNT: amount, contract.ITEM_DATE: day})
    return payload


@pytest.fixture
def model_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "model"
    shutil.copytree(REPO_ROOT / "model", directory)
    card = json.loads((directory / "model.json").read_text())
    card["reading"] = {"dates": "dmy", "decimal": "comma"}
    (directory / "model.json").write_text(json.dumps(card))
    yield directory
    configure_reading(None, None)


def _scores(model: predict.LoadedModel, payload: dict[str, Any]) -> np.ndarray:
    scored = score_payload(payload, model)
    assert scored.batch.error_items == []
    assert scored.scores is not None
    return scored.scores


def test_predict_reading_of_the_card_reads_european_requests_as_training_did(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config.ENV_DATE_ORDER, raising=False)
    monkeypatch.delenv(config.ENV_DECIMAL, raising=False)
    model = predict.load_model(model_dir, "sklearn")
    assert (model.reading.dates, model.reading.decimal) == ("dmy", "comma")
    european = _scores(model, _request(EUROPEAN, "1.131,98", "05/05/2017"))
    iso = _scores(model, _request(ISO, 1131.98, "2017-05-05"))
    np.testing.assert_array_equal(european, iso)
    configure_reading(None, None)  # the seed's reading: the same request reads otherwise
    unread = score_payload(_request(EUROPEAN, "1.131,98", "05/05/2017"), model)
    codes = {item["error"]["code"] for item in unread.batch.error_items}
    assert codes and codes <= {"invalid_date", "invalid_amount"}


def test_predict_reading_environment_wins_over_the_card(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.ENV_DATE_ORDER, "mdy")
    monkeypatch.setenv(config.ENV_DECIMAL, "point")
    model = predict.load_model(model_dir, "sklearn")
    assert (model.reading.dates, model.reading.decimal) == ("mdy", "point")
    scored = score_payload(_request(EUROPEAN, "1.131,98", "13/05/2017"), model)
    codes = {item["error"]["code"] for item in scored.batch.error_items}
    assert codes == {"invalid_date"}  # the 13th month under mdy


def test_predict_reading_that_is_no_order_makes_the_model_unavailable(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.ENV_DECIMAL, "dot")
    with pytest.raises(predict.ModelUnavailable, match="decimal 'dot'"):
        predict.load_model(model_dir, "sklearn")
