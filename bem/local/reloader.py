"""`bem serve --reload`: pick up a rebuilt deploy.zip without restarting the server.

A thread looks at the zip's size and mtime every `interval_s`; when they change and then stay
still for one more look (so a zip being written is never read half-way), it starts a new pool
from the new zip (warm when asked), swaps it into the server, and retires the old pool once its
running invocations are done (at most the function timeout later).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from bem.local.pool import FunctionPool


class PoolHolder(Protocol):
    """The server side: whoever routes invocations to a pool."""

    pool: FunctionPool


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_size, status.st_mtime_ns


class ZipReloader:
    """Watches `zip_path` and swaps a fresh pool into `holder` when the zip changes."""

    def __init__(
        self,
        zip_path: Path,
        holder: PoolHolder,
        make_pool: Callable[[Path], FunctionPool],
        *,
        warm: bool = True,
        interval_s: float = 1.0,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.zip_path = Path(zip_path)
        self.holder = holder
        self.make_pool = make_pool
        self.warm = warm
        self.interval_s = interval_s
        self.report = report or (lambda message: None)
        self.reloads = 0
        self._seen = _signature(self.zip_path)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zip-reloader", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (the current pool stays the holder's)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        pending: tuple[int, int] | None = None
        while not self._stop.wait(self.interval_s):
            current = _signature(self.zip_path)
            if current is None or current == self._seen:
                pending = None
                continue
            if current != pending:  # changed: wait one more look for it to settle
                pending = current
                continue
            self._seen, pending = current, None
            self._reload()

    def _reload(self) -> None:
        try:
            fresh = self.make_pool(self.zip_path)
        except Exception as error:  # a broken zip must not stop the server
            self.report(
                f"reload of {self.zip_path} failed, still serving the previous one: {error}"
            )
            return
        if self.warm:
            fresh.warm()
        old, self.holder.pool = self.holder.pool, fresh
        self.reloads += 1
        self.report(f"reloaded {self.zip_path} into {fresh.task_dir}")
        threading.Thread(target=_retire, args=(old,), daemon=True).start()


def _retire(pool: FunctionPool) -> None:
    """Close `pool` once nothing runs in it any more (or its timeout has passed)."""
    deadline = time.monotonic() + pool.config.spec.timeout_s + 1
    while time.monotonic() < deadline and pool.in_flight():
        time.sleep(0.05)
    pool.close()
