"""`bem serve --reload`: a rebuilt zip is served without restarting, a broken one is not."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bem.deploy.spec import FunctionSpec
from bem.local.invoke_api import InvokeApiServer
from bem.local.pool import FunctionPool, LocalFunction
from bem.local.reloader import ZipReloader
from tests.local.conftest import lambda_client, make_zip

FUNCTION = "budget-expense-matcher"


def version_zip(path: Path, version: str) -> Path:
    """A zip whose handler answers `version`."""
    return make_zip(path, {"app.py": f"def handler(event, context):\n    return {version!r}\n"})


def answer(client: Any) -> str:
    """What the function answers now."""
    response = client.invoke(FunctionName=FUNCTION, Payload=b"{}")
    return str(json.loads(response["Payload"].read()))


def wait_for(predicate: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    """True once `predicate()` is, False after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_reloader_serves_a_rebuilt_zip_and_keeps_serving_after_a_broken_one(
    tmp_path: Path,
) -> None:
    zip_path = version_zip(tmp_path / "deploy.zip", "A")
    config = LocalFunction(FunctionSpec(handler="app.handler", memory_mb=128, timeout_s=5))

    def make_pool(path: Path) -> FunctionPool:
        return FunctionPool.from_zip(path, config, concurrency=1)

    first = make_pool(zip_path)
    server = InvokeApiServer(first, port=0)
    server.start()
    messages: list[str] = []
    reloader = ZipReloader(zip_path, server, make_pool, interval_s=0.1, report=messages.append)
    reloader.start()
    try:
        client = lambda_client(server.url)
        assert answer(client) == "A"
        version_zip(tmp_path / "next.zip", "B").replace(zip_path)
        assert wait_for(lambda: answer(client) == "B")
        assert reloader.reloads == 1 and server.pool is not first
        assert wait_for(lambda: not first.sandboxes())  # the old pool is retired
        zip_path.write_bytes(b"not a zip")
        assert wait_for(lambda: any("failed" in m for m in messages))
        assert answer(client) == "B"
    finally:
        reloader.stop()
        server.stop()
        server.pool.close()
