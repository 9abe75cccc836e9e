"""The bundled model of record on the 2017 example, through the handler as shipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import lambda_handler
import predict
from tests.conftest import REPO_ROOT


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


def _refusal(model_dir: Path, **kwargs: Any) -> predict.ModelUnavailable:
    with pytest.raises(predict.ModelUnavailable) as refused:
        predict.load_model(model_dir, **kwargs)
    return refused.value


def test_predict_deeply_nested_card_is_answered_model_unavailable_from_import(
    tmp_path: Path,
) -> None:
    """A card nested past the parser's recursion limit: the handler imports, and every
    request is answered "model unavailable" (not an init crash)."""
    directory = tmp_path / "model"
    directory.mkdir()
    deep = '{"features": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (directory / predict.CARD_FILE).write_text(deep)
    assert _refusal(directory).code == "model_card_invalid"
    script = (
        "import json, lambda_handler\n"
        "from budget_matcher import contract\n"
        "print(json.dumps(lambda_handler.answer(contract.SEED_EXAMPLE, None)))\n"
    )
    environment = {**os.environ, "BEM_MODEL_DIR": str(directory), "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=environment, cwd=REPO_ROOT, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert [item["error"]["code"] for item in answer] == ["model_card_invalid"]


def test_predict_artifacts_must_be_regular_files_of_bounded_size(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pickle = tiny_model_dir / predict.PICKLE_FILE
    kept = pickle.read_bytes()
    pickle.unlink()
    pickle.symlink_to("/dev/zero")
    refused = _refusal(tiny_model_dir, form="sklearn")
    assert refused.code == "model_missing" and "not a regular file" in refused.message
    pickle.unlink()
    pickle.write_bytes(kept)
    assert predict.load_model(tiny_model_dir, form="sklearn").form == "sklearn"
    monkeypatch.setattr(predict, "MAX_ARTIFACT_BYTES", len(kept) - 1)
    assert "over" in _refusal(tiny_model_dir, form="sklearn").message
    card = tiny_model_dir / predict.CARD_FILE
    card.unlink()
    card.symlink_to("/dev/zero")
    assert _refusal(tiny_model_dir).code == "model_card_invalid"
