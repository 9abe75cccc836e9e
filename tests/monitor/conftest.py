"""Fixtures for monitoring: outcomes, a model, a moto server (S3 sink, deployment rollback);
the store on SQLite and on the local PostgreSQL (`db_url`) is shared, in tests/conftest.py."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from monitor_helpers import load_event

import predict
from bem.local.devzip import write_placeholder_model


@pytest.fixture
def batch_payload() -> Any:
    """Three users' budgets and line items in one request."""
    return load_event("batch_three_users.json")


@pytest.fixture
def tiny_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BEM_MODEL_DIR pointing at a quickly trained model with a correct card."""
    directory = write_placeholder_model(tmp_path / "model", "9.9.9-monitor", "monitor-test-model")
    monkeypatch.setenv("BEM_MODEL_DIR", str(directory))
    predict.reset_model_cache()
    return directory


@pytest.fixture(autouse=True)
def _fresh_side_paths() -> Iterator[None]:
    """Side-path writers are rebuilt from the environment in every test."""
    from budget_matcher import side_paths

    side_paths.configure(None, None)
    yield
    side_paths.configure(None, None)


DUMMY_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_DEFAULT_REGION": "us-west-2",
}


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The moto endpoint, emptied, with dummy credentials and AWS_ENDPOINT_URL set."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    for key, value in DUMMY_AWS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_server
