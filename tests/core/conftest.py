"""Fixtures for the scoring core: a small, fully verified model directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bem.devzip import write_placeholder_model


@pytest.fixture
def tiny_model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BEM_MODEL_DIR pointing at a fresh tiny model."""
    directory = write_placeholder_model(tmp_path / "model", version="0.0.0-test")
    monkeypatch.setenv("BEM_MODEL_DIR", str(directory))
    return directory
