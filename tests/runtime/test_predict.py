"""The bundled model of record on the 2017 example, through the handler as shipped."""

from __future__ import annotations

from typing import Any

import lambda_handler
import predict


def test_seed_example_scores_below_threshold_with_bundled_model(seed_payload: dict) -> None:
    model = predict.load_model()
    result: list[dict[str, Any]] = lambda_handler.answer(seed_payload, None)
    assert len(result) == 1
    item = result[0]
    assert (item["budget_id"], item["itemization_id"]) == ("309366", "4659496")
    assert item["score"] is not None and item["score"] < model.threshold
    assert item["matched"] is False


def test_seed_flight_charge_scores_above_threshold_with_bundled_model(seed_payload: dict) -> None:
    model = predict.load_model()
    seed_payload["all_user_expense_lineitems"].append(
        {
            "itemization_id": "4659497",
            "expensed_amount_itemization": "131.98",
            "expense_type_name_itemization": "Airfare",
            "expense_category_itemization": "air",
            "transaction_date_itemization": "2017-04-09 00:00:00",
            "vendor_name_expense": "SOUTHWEST AIR 5262134519",
            "expense_type_name_expense": "Airfare",
            "expense_category_expense": "air",
        }
    )
    result = lambda_handler.answer(seed_payload, None)
    by_item = {item["itemization_id"]: item for item in result}
    assert by_item["4659497"]["score"] >= model.threshold
    assert by_item["4659496"]["score"] < model.threshold
