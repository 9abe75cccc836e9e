"""Helpers shared by the emulator's tests and benchmarks: zips, boto3 clients, `bem serve`
as a subprocess. Tooling only (imports boto3); never shipped.
"""

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
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]


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
