"""`bem model rescorer`: the second stage fitted for a trained model, listed and verified by its
card, served by the Lambda's path, and refused when its file is not the card's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import lambda_handler
import predict
from bem.cli import main
from bem.model.evaluate import synthetic_dataset
from bem.synth.knobs import SynthConfig
from bem.synth.users import generate_users
from budget_matcher.rescoring import RESCORER_FILE
from tests.conftest import SMALL_USERS


@pytest.fixture(scope="module")
def rescored_dir(tmp_path_factory: pytest.TempPathFactory, quick_model_dir: Path) -> Path:
    directory = tmp_path_factory.mktemp("rescored") / "model"
    shutil.copytree(quick_model_dir, directory)
    result = CliRunner().invoke(
        main,
        [
            *("model", "rescorer", str(directory), "--users", "40", "--harsh-users", "10"),
            *("--threshold-users", "40", "--seed", "11", "--version", "0.2.0"),
        ],
    )
    assert result.exit_code == 0, result.output
    return directory


def test_the_card_lists_the_rescorer_and_its_threshold(
    rescored_dir: Path, quick_model_dir: Path
) -> None:
    before = json.loads((quick_model_dir / "model.json").read_text())
    card = json.loads((rescored_dir / "model.json").read_text())
    listed = card["artifacts"][RESCORER_FILE]
    assert listed["sha256"] == predict.sha256_of(rescored_dir / RESCORER_FILE)
    assert card["version"] == "0.2.0"
    assert card["rescorer"]["first_threshold"] == before["threshold"]
    assert card["threshold"] == card["threshold_rule"]["threshold"]
    assert card["threshold_rule"]["scores"].startswith("rescored")
    assert set(card["rescorer"]["figures"]) == {"trees", "rescored"}


def test_the_served_scores_are_rescored_and_the_trees_keep_their_threshold(
    rescored_dir: Path,
) -> None:
    served = predict.load_model(rescored_dir)
    trees = predict.load_model(rescored_dir, rescored=False)
    assert served.rescorer is not None and trees.rescorer is None
    assert trees.threshold == served.card["rescorer"]["first_threshold"]
    data, _ = synthetic_dataset(8, seed=99, noise=1.0)
    alone = trees.score_pairs(data.pairs, data.features)
    np.testing.assert_array_equal(alone, trees.score(data.features))
    again = served.score_pairs(data.pairs, data.features)
    assert not np.allclose(again, alone)
    assert served.rescorer.rescore(data.pairs, alone) == pytest.approx(again)


def test_the_lambda_answers_with_the_rescored_model(
    rescored_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEM_MODEL_DIR", str(rescored_dir))
    predict.reset_model_cache()
    data, _ = synthetic_dataset(3, seed=98, noise=1.0)
    model = predict.load_model(rescored_dir)
    scores = model.score_pairs(data.pairs, data.features)
    keys = zip(data.budget_ids, data.itemization_ids, strict=True)
    expected = dict(zip(keys, scores, strict=True))
    user = generate_users(SynthConfig(users=3, seed=98))[0]  # one user alone, as a request
    payload = {"budgets": user.budgets, "all_user_expense_lineitems": user.items}
    for item in lambda_handler.answer(payload, None):
        key = (item["budget_id"], item["itemization_id"])
        assert item["score"] == pytest.approx(expected[key], abs=1e-6), key


def test_a_rescorer_that_is_not_the_cards_is_refused(rescored_dir: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "model"
    shutil.copytree(rescored_dir, tampered)
    path = tampered / RESCORER_FILE
    fields = json.loads(path.read_text())
    fields["intercept"] += 1.0
    path.write_text(json.dumps(fields))
    with pytest.raises(predict.ModelUnavailable) as refused:
        predict.load_model(tampered)
    assert refused.value.code == "model_hash_mismatch"
    explained = CliRunner().invoke(main, ["explain", "--json", "--model-dir", str(tampered)])
    assert explained.exit_code == 1 and "model_hash_mismatch" in explained.stderr


def _card_of_generated_users(directory: Path, digest: str) -> None:
    """The quick model's card, told its users came from the generator (as `bem train` writes)."""
    from bem.synth.knobs import knobs_from_options

    card_path = directory / "model.json"
    card = json.loads(card_path.read_text())
    config = SynthConfig(users=SMALL_USERS, seed=5, knobs=knobs_from_options(1.0, ()))
    card["training_data"] |= {"digest": digest, "generator": config.card()}
    card_path.write_text(json.dumps(card))


def test_the_held_out_users_are_scored_again_with_the_rescorer(
    rescored_dir: Path, small_dataset: Any, tmp_path: Path
) -> None:
    from bem.model.rescorer import served_reports

    directory = tmp_path / "model"
    shutil.copytree(rescored_dir, directory)
    _card_of_generated_users(directory, small_dataset.digest)
    trees = json.loads((directory / "model.json").read_text())["metrics"]["held_out"]
    reports = served_reports(directory, lambda _: None)
    assert [name for name, *_ in reports] == ["held_out"]
    metrics = json.loads((directory / "model.json").read_text())["metrics"]
    assert metrics["held_out_trees"] == trees
    assert metrics["held_out"] == reports[0][1]["model"]
    assert metrics["held_out"]["threshold"] == predict.load_model(directory).threshold


def test_held_out_users_that_are_not_the_cards_are_refused(
    rescored_dir: Path, tmp_path: Path
) -> None:
    from bem.model.rescorer import served_reports

    directory = tmp_path / "model"
    shutil.copytree(rescored_dir, directory)
    _card_of_generated_users(directory, "0" * 64)
    with pytest.raises(ValueError, match="digest"):
        served_reports(directory, lambda _: None)
