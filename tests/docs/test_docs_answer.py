"""Text in the README and docs/contract.md that depends on the model of record — its version,
the seed example's answer, the headline figures — is computed from `model/` here, so it cannot
go stale; and the pages say what the service does for `matched` and other methods."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import lambda_handler
import predict
from budget_matcher import contract as c

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
CONTRACT = REPO_ROOT / "docs" / "contract.md"
PAGES = (README, CONTRACT)
VERSION_MENTION = re.compile(r"(?:model of record|committed model|model) \(?(\d+\.\d+\.\d+)\b")


@pytest.fixture
def model_of_record(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The card of `model/`, served by the handler for this test."""
    monkeypatch.setenv("BEM_MODEL_DIR", str(REPO_ROOT / "model"))
    predict.reset_model_cache()
    return dict(json.loads((REPO_ROOT / "model" / predict.CARD_FILE).read_text()))


def test_docs_answer_shows_the_seed_answer_of_the_model_of_record(
    model_of_record: dict[str, Any],
) -> None:
    answer = lambda_handler.answer(c.SEED_EXAMPLE, None)
    line = json.dumps(answer)  # as the pages write it: ", " and ": "
    for page in PAGES:
        assert line in page.read_text(), f"{page.name} does not show {line}"
    sentence = re.search(
        r"model of record \((\S+)\) the seed example scores ([0-9.e-]+)", CONTRACT.read_text()
    )
    assert sentence is not None
    assert sentence.group(1) == model_of_record["version"]
    assert float(sentence.group(2)) == answer[0]["score"]


def test_docs_answer_names_only_the_model_of_records_version(
    model_of_record: dict[str, Any],
) -> None:
    for page in PAGES:
        versions = set(VERSION_MENTION.findall(page.read_text()))
        assert versions == {model_of_record["version"]}, f"{page.name}: {sorted(versions)}"


def test_docs_answer_readme_headline_figures_are_the_cards(
    model_of_record: dict[str, Any],
) -> None:
    metrics = model_of_record["metrics"]
    expected = [
        metrics["held_out"]["pr_auc"],
        metrics["held_out"]["precision_at_recall_0.90"],
        metrics["baseline_held_out"]["pr_auc"],
        metrics["baseline_held_out"]["precision_at_recall_0.90"],
    ]
    found = re.search(
        r"PR-AUC ([0-9.]+) and precision\s+([0-9.]+) at recall ≥ 0\.90, against ([0-9.]+) and "
        r"([0-9.]+) for the rule baseline",
        README.read_text(),
    )
    assert found is not None
    assert [float(value) for value in found.groups()] == pytest.approx(expected, abs=6e-4)


def test_docs_answer_matched_is_decided_per_user_on_every_page() -> None:
    for page in PAGES:
        text = " ".join(page.read_text().split())
        assert "`matched` is decided per user" in text, page.name
        assert "`matched` is `score >= threshold`" not in text, page.name


def test_docs_answer_other_methods_are_api_gateways_403() -> None:
    for page in PAGES:
        text = " ".join(page.read_text().split())
        assert "403" in text and "Missing Authentication Token" in text, page.name
        assert "405 for other methods" not in text, page.name
