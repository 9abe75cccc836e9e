"""Shared fixtures: the seed payload, events, and a small model directory for isolated tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import predict
from bem.local.devzip import write_placeholder_model
from bem.synth.knobs import SynthConfig
from bem.synth.users import SynthUser, generate_users

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = Path(__file__).resolve().parent / "events"


def load_event(name: str) -> Any:
    """A JSON fixture from tests/events/."""
    return json.loads((EVENTS_DIR / name).read_text())


@pytest.fixture
def seed_payload() -> dict[str, Any]:
    """The 2017 field report's example request (a deep copy per test)."""
    return copy.deepcopy(load_event("seed_direct.json"))


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    """Each test starts with no model loaded, so environment changes take effect."""
    predict.reset_model_cache()
    yield
    predict.reset_model_cache()


SMALL_USERS = 120


@pytest.fixture(scope="session")
def small_users() -> list[SynthUser]:
    """120 generated users (seed 5)."""
    return generate_users(SynthConfig(users=SMALL_USERS, seed=5))


@pytest.fixture
def tiny_model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BEM_MODEL_DIR pointing at a fresh tiny model."""
    directory = write_placeholder_model(tmp_path / "model", version="0.0.0-test")
    monkeypatch.setenv("BEM_MODEL_DIR", str(directory))
    return directory
