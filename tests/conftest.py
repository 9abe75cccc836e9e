"""Shared fixtures: the seed payload, events, and a small model directory for isolated tests."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
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


MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 for the session (a separate process, real HTTP, like AWS)."""
    port = _free_port()
    env = {**os.environ, **MOTO_CREDENTIALS}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session, dropped afterwards."""
    name = f"bem_monitor_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is required for these tests: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store: a SQLite file, or a fresh schema in the session's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    database = request.getfixturevalue("pg_database")
    schema = f"s_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        f"host=127.0.0.1 port=5432 user=postgres dbname={database}", autocommit=True
    ) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    return (
        f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}?options=-csearch_path%3D{schema}"
    )
