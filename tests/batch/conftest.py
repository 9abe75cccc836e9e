"""One local SparkSession for every batch test (it takes 5–20 s to start), with the code zip."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from bem.batch import jobs
from bem.batch.session import get_session


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """local[2], UI off, 127.0.0.1, this interpreter on the workers, the code zip shipped."""
    warnings.filterwarnings("ignore", message=".*Pandas4Warning.*")
    session = get_session("local[2]")
    jobs.ship_code(session)
    yield session
    session.stop()
