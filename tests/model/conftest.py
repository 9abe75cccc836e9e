"""Fixtures for the model lifecycle tests: a small synthetic dataset and a quickly trained model."""

from __future__ import annotations

from pathlib import Path

import pytest

from bem.model.dataset import Dataset, build_dataset, group_rows
from bem.model.train import TrainResult, TrainSettings, train, write_model
from bem.synth.users import SynthUser, user_rows


@pytest.fixture(scope="session")
def small_dataset(small_users: list[SynthUser]) -> Dataset:
    """The features and labels of the small users."""
    rows = [row for user in small_users for row in user_rows(user)]
    return build_dataset(group_rows(rows), n_rows=len(rows))


QUICK_SETTINGS = TrainSettings(
    folds=3, holdout=0.25, seed=3, candidates="quick", progress=False, threads=1
)


@pytest.fixture(scope="session")
def quick_settings() -> TrainSettings:
    """Settings of the quick model (3 folds, one small candidate)."""
    return QUICK_SETTINGS


@pytest.fixture(scope="session")
def quick_result(small_dataset: Dataset) -> TrainResult:
    """A model trained in seconds on the small dataset."""
    return train(small_dataset, QUICK_SETTINGS)


@pytest.fixture(scope="session")
def quick_model_dir(
    tmp_path_factory: pytest.TempPathFactory, quick_result: TrainResult, small_dataset: Dataset
) -> Path:
    """A model directory holding the quick model and its card."""
    directory = tmp_path_factory.mktemp("quick_model")
    write_model(
        quick_result, small_dataset, QUICK_SETTINGS, directory, {"source": "synthetic"}, "0.1.0"
    )
    return directory
