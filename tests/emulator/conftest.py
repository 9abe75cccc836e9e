"""Fixtures for the emulator: a toy zip, the real handler's zip, pools, servers, boto3 clients."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bem.devzip import ensure_deploy_zip
from bem.emulator import FunctionConfig, FunctionPool
from bem.invoke_api import InvokeApiServer

REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TOY_HANDLER = "toy_handler.handler"


def make_zip(path: Path, files: dict[str, str]) -> Path:
    """A zip holding `files` (name -> text)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def lambda_client(endpoint_url: str, region: str = "us-east-1") -> Any:
    """A real boto3 Lambda client for a local endpoint: dummy credentials, retries off."""
    return boto3.client(
        "lambda",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=120),
    )


@pytest.fixture(scope="session")
def toy_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy.zip of the toy handler."""
    directory = tmp_path_factory.mktemp("toy")
    return make_zip(
        directory / "toy.zip", {"toy_handler.py": (HERE / "toy_handler.py").read_text()}
    )


@pytest.fixture(scope="session")
def toy_config() -> FunctionConfig:
    """The toy function: 128 MB, 2 s timeout."""
    return FunctionConfig(handler=TOY_HANDLER, memory_mb=128, timeout_s=2.0)


@pytest.fixture(scope="module")
def toy_pool(toy_zip: Path, toy_config: FunctionConfig) -> Iterator[FunctionPool]:
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


class ServeProcess:
    """`bem serve` running as a subprocess on a free port."""

    def __init__(self, zip_path: Path, *extra: str) -> None:
        command = [sys.executable, "-m", "bem", "serve", "--zip", str(zip_path), "--port", "0",
                   "--quiet", *extra]  # fmt: skip
        environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=environment, stderr=subprocess.PIPE, text=True
        )
        self.url = self._wait_for_url(timeout_s=180)

    def _wait_for_url(self, timeout_s: float) -> str:
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:  # keeps reading, so a chatty server never blocks on a full pipe
            assert self.process.stderr is not None
            for line in self.process.stderr:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout_s
        seen = []
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            seen.append(line)
            found = re.search(r"endpoint_url=(http://\S+)", line)
            if found:
                return found.group(1)
        self.stop()
        raise RuntimeError("bem serve did not start:\n" + "".join(seen))

    def stop(self) -> None:
        """SIGTERM, then wait."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def real_serve(real_zip: Path) -> Iterator[ServeProcess]:
    """`bem serve` with the real handler: two warm sandboxes."""
    serve = ServeProcess(real_zip, "--concurrency", "2", "--alias", "live")
    yield serve
    serve.stop()
