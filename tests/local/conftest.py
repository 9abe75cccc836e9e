"""Fixtures for the emulator: a toy zip, the real handler's zip, pools, servers, boto3 clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bem.deploy.spec import FunctionSpec
from bem.local.devzip import ensure_deploy_zip
from bem.local.invoke_api import InvokeApiServer
from bem.local.pool import FunctionPool, LocalFunction
from bem.local.testing import REPO_ROOT, ServeProcess, lambda_client, make_zip

HERE = Path(__file__).resolve().parent
TOY_HANDLER = "toy_handler.handler"


@pytest.fixture(scope="session")
def toy_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy.zip of the toy handler."""
    directory = tmp_path_factory.mktemp("toy")
    return make_zip(
        directory / "toy.zip", {"toy_handler.py": (HERE / "toy_handler.py").read_text()}
    )


@pytest.fixture(scope="session")
def toy_config() -> LocalFunction:
    """The toy function: 128 MB, 2 s timeout."""
    return LocalFunction(FunctionSpec(handler=TOY_HANDLER, memory_mb=128, timeout_s=2.0))


@pytest.fixture(scope="module")
def toy_pool(toy_zip: Path, toy_config: LocalFunction) -> Iterator[FunctionPool]:
    """Two warm sandboxes of the toy function."""
    with FunctionPool.from_zip(toy_zip, toy_config, concurrency=2) as pool:
        pool.warm()
        yield pool


@pytest.fixture(scope="module")
def toy_server(toy_pool: FunctionPool) -> Iterator[InvokeApiServer]:
    """The Invoke API and API route over the toy pool, on a free port; alias live -> 1."""
    server = InvokeApiServer(toy_pool, port=0, aliases={"live": "1"})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def toy_client(toy_server: InvokeApiServer) -> Any:
    """boto3 against the toy server."""
    return lambda_client(toy_server.url)


@pytest.fixture(scope="session")
def real_zip() -> Path:
    """The real handler's zip: ./build's deploy.zip when there is one, else a development zip."""
    return ensure_deploy_zip(REPO_ROOT)


@pytest.fixture(scope="module")
def real_serve(real_zip: Path) -> Iterator[ServeProcess]:
    """`bem serve` with the real handler: two warm sandboxes."""
    serve = ServeProcess(real_zip, "--concurrency", "2")  # `live` is served by default
    yield serve
    serve.stop()


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS credentials anywhere: environment, files or instance metadata."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
