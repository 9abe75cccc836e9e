"""Shared fixtures: the seed payload, events, and a small model directory for isolated tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import predict

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
