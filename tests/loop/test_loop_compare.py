"""Champion and challenger: the same window for both, never data either trained on, paired
intervals by user; `bem model promote --require-win` promotes a winner only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bem.cli import main
from bem.local.devzip import write_placeholder_model
from bem.loop.compare import (
    OverlapError,
    Scored,
    check_unseen,
    compare_scores,
    paired_bootstrap,
    text_lines,
    user_digest,
)
from bem.model.dataset import Dataset

WINDOW = ["--synth-users", "12", "--seed", "1001", "--rounds", "60"]


def _dataset(users: list[str], digest: str = "d") -> Dataset:
    return Dataset(np.zeros((len(users), 1)), np.ones(len(users), dtype=np.int64),
                   np.asarray(users, dtype=object), ["b"] * len(users), ["i"] * len(users),
                   digest, len(users), len(set(users)))  # fmt: skip


def test_check_unseen_refuses_a_digest_or_a_user_the_card_trained_on() -> None:
    card = {"training_data": {"digest": "abc", "user_digests": [user_digest("alice")]}}
    check_unseen(card, "m", _dataset(["bob", "carol"]))
    with pytest.raises(OverlapError, match="trained on this very data"):
        check_unseen(card, "m", _dataset(["bob"], digest="abc"))
    with pytest.raises(OverlapError, match="trained on 1 of the window's 2 users"):
        check_unseen(card, "m", _dataset(["alice", "bob"]))
    synthetic = {"training_data": {"source": "synthetic", "generator": {"seed": 5, "users": 3}}}
    check_unseen(synthetic, "m", _dataset(["u5-00003", "u6-00000"]))
    with pytest.raises(OverlapError):
        check_unseen(synthetic, "m", _dataset(["u5-00002"]))


def test_paired_bootstrap_draws_whole_users() -> None:
    users = np.asarray(["a", "a", "b", "b"], dtype=object)
    labels = np.asarray([1, 0, 1, 0])
    sizes: list[float] = []

    def measure(index: np.ndarray) -> dict[str, float]:
        sizes.append(float(len(index)))
        return {"pairs": float(len(index))}

    interval = paired_bootstrap(labels, users, measure, rounds=50, seed=1)
    assert set(sizes) == {4.0} and interval["pairs"] == (4.0, 4.0)


def test_a_better_ranking_with_a_careless_threshold_does_not_win() -> None:
    rng = np.random.default_rng(3)
    users = np.repeat([f"u{k}" for k in range(40)], 10)
    labels = np.tile([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], 40)
    window = _dataset(list(users))
    window.labels = labels
    # The champion ranks imperfectly; the challenger perfectly (every match above every other).
    champion = Scored(
        "a", "1.0.0", np.where(labels == 1, 0.9, rng.uniform(0.5, 1.0, labels.size)), 0.85
    )
    perfect = np.where(labels == 1, 0.6, 0.3)
    careless = compare_scores(window, champion, Scored("b", "1.1.0", perfect, 0.1), rounds=100)
    assert careless["checks"] == {"pr_auc_better": True, "precision_not_worse": False}
    assert not careless["challenger_wins"]
    assert "precision at its threshold is worse" in "\n".join(text_lines(careless))
    careful = compare_scores(window, champion, Scored("b", "1.1.0", perfect, 0.5), rounds=100)
    assert careful["challenger_wins"] and "challenger wins" in text_lines(careful)


@pytest.mark.slow
def test_compare_reports_differences_with_intervals_by_user(
    synthetic_model: Path, history_model: Path
) -> None:
    result = CliRunner().invoke(
        main, ["model", "compare", str(synthetic_model), str(history_model), *WINDOW, "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["window"]["users"] == 12 and report["bootstrap"]["by"] == "user"
    assert report["champion"]["version"] == "1.0.0" and report["challenger"]["version"] == "1.1.0"
    for key in ("pr_auc", "precision", "recall"):
        entry = report["difference"][key]
        expected = report["challenger"][key] - report["champion"][key]
        assert entry["value"] == pytest.approx(expected, abs=2e-4)
        low, high = entry["interval"]
        assert low <= high
    precision_high = report["difference"]["precision"]["interval"][1]
    assert report["checks"] == {
        "pr_auc_better": report["difference"]["pr_auc"]["interval"][0] > 0,
        "precision_not_worse": precision_high >= 0,
    }
    assert report["challenger_wins"] == all(report["checks"].values())


@pytest.mark.slow
def test_compare_refuses_data_either_model_trained_on(
    synthetic_model: Path, history_model: Path, history_file: Path
) -> None:
    trained_users = CliRunner().invoke(
        main, ["model", "compare", str(synthetic_model), str(history_model),
               "--synth-users", "4", "--seed", "5"],
    )  # fmt: skip
    assert trained_users.exit_code == 1
    assert "(1.0.0) trained on 4 of the window's 4 users" in trained_users.output
    trained_history = CliRunner().invoke(
        main, ["model", "compare", str(synthetic_model), str(history_model),
               "--data", str(history_file)],
    )  # fmt: skip
    assert trained_history.exit_code == 1
    assert "(1.1.0) trained on" in trained_history.output


@pytest.mark.slow
def test_promote_require_win_promotes_a_winner_only(tmp_path: Path, synthetic_model: Path) -> None:
    record = write_placeholder_model(tmp_path / "model", "0.9.0")
    loser = write_placeholder_model(tmp_path / "models" / "0.9.1", "0.9.1")
    environment = {"BEM_MODEL_DIR": str(record)}
    refused = CliRunner().invoke(
        main, ["model", "promote", str(loser), "--require-win", *WINDOW], env=environment
    )
    assert refused.exit_code == 1, refused.output
    assert "does not beat the model of record on this window; not promoted" in refused.output
    assert json.loads((record / "model.json").read_text())["version"] == "0.9.0"
    winner = shutil.copytree(synthetic_model, tmp_path / "models" / "1.0.0")
    promoted = CliRunner().invoke(
        main, ["model", "promote", str(winner), "--require-win", *WINDOW], env=environment
    )
    assert promoted.exit_code == 0, promoted.output
    assert "challenger wins" in promoted.stderr
    assert json.loads((record / "model.json").read_text())["version"] == "1.0.0"
