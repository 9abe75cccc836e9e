"""Fixtures of the deployment tests: a real moto server process, boto3 clients pointed at it,
and small (or one big) deploy zips."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from deploy_helpers import DUMMY_CREDENTIALS, RecordingClients, write_zip

from bem.deploy.aws import ClientFactory, boto3_client_factory


@pytest.fixture
def moto(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The moto endpoint, emptied for this test, with dummy credentials in the environment."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    for key, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_server


@pytest.fixture
def clients(moto: str) -> ClientFactory:
    """boto3 clients (any service, any region) talking to the moto server."""
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", aws_session_token="testing"
    )
    return boto3_client_factory(session=session, endpoint_url=moto)


@pytest.fixture
def make_zip(tmp_path: Path) -> Callable[..., Path]:
    """make_zip("v2") -> a small zip whose code differs from every other call's."""
    counter = {"n": 0}

    def make(model_version: str = "2026.11.24-1") -> Path:
        counter["n"] += 1
        return write_zip(
            tmp_path / f"deploy-{counter['n']}.zip", model_version, marker=f"build {counter['n']}"
        )

    return make


@pytest.fixture(scope="session")
def big_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A zip just over the 50 MB direct-upload limit, of random (incompressible) bytes."""
    path = tmp_path_factory.mktemp("big") / "deploy-big.zip"
    return write_zip(path, "big-1", marker="big", blob=os.urandom(50_500_000))


@pytest.fixture
def recording(clients: ClientFactory) -> RecordingClients:
    return RecordingClients(clients)
