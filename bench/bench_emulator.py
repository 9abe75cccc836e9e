"""Local Lambda emulation: warm round trip through boto3 vs a fresh process per request.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_emulator.py [--zip deploy.zip] [--requests 500]

Figures printed:
- warm: `bem serve` (one warm sandbox, its own process) called by boto3 with `endpoint_url`,
  seed payload, p50/p90/p99 over N requests (after 20 warm-up calls);
- the same through the API Gateway route with urllib;
- the emulator's own share: the same boto3 loop against an echo handler (no scoring work);
- naive: a fresh runtime per request, the way `docker run lambci/lambda` or `sam local invoke`
  work — `bem invoke` run as a new process each time (cold start + init + one invoke), wall
  time median of 5; this is also `bem invoke`'s cold wall time.
Without ./build's deploy.zip it uses the development zip (bem/local/devzip.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bem.local.devzip import ensure_deploy_zip  # noqa: E402
from bem.local.testing import ServeProcess, lambda_client  # noqa: E402


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"p50 {statistics.median(ordered):.2f} ms  p90 {at(0.9):.2f} ms  p99 {at(0.99):.2f} ms"


def warm_boto3(url: str, payload: bytes, n: int) -> list[float]:
    client = lambda_client(url)
    for _ in range(20):
        client.invoke(FunctionName="budget-expense-matcher", Payload=payload)["Payload"].read()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        answer = client.invoke(FunctionName="budget-expense-matcher", Payload=payload)
        answer["Payload"].read()
        samples.append((time.perf_counter() - started) * 1000)
        assert "FunctionError" not in answer
    return samples


def warm_http(url: str, payload: bytes, n: int) -> list[float]:
    route = f"{url}/test/budget_expense_matcher/"
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(route, data=payload)) as response:
            response.read()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def echo_zip(directory: Path) -> Path:
    """A zip whose handler returns the event: what is left is the emulator and boto3."""
    path = directory / "echo.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("echo.py", "def handler(event, context):\n    return [event]\n")
    return path


def cold_invoke(zip_path: Path, payload: bytes, n: int) -> list[float]:
    samples = []
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    for _ in range(n):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bem", "invoke", "--zip", str(zip_path), payload.decode()],
            cwd=REPO_ROOT, env=environment, capture_output=True, check=True,
        )  # fmt: skip
        samples.append((time.perf_counter() - started) * 1000)
        assert json.loads(done.stdout)[0]["budget_id"] == "309366"
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--zip", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--cold", type=int, default=5)
    arguments = parser.parse_args()
    zip_path = ensure_deploy_zip(REPO_ROOT, arguments.zip)
    payload = (REPO_ROOT / "tests" / "events" / "seed_direct.json").read_bytes()
    print(f"zip: {zip_path} ({zip_path.stat().st_size / 1e6:.1f} MB)")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    serve = ServeProcess(zip_path, "--concurrency", "1")
    try:
        boto_ms = warm_boto3(serve.url, payload, arguments.requests)
        http_ms = warm_http(serve.url, payload, arguments.requests)
    finally:
        serve.stop()
    with tempfile.TemporaryDirectory() as scratch:
        echo = ServeProcess(
            echo_zip(Path(scratch)), "--concurrency", "1", "--handler", "echo.handler"
        )
        try:
            echo_ms = warm_boto3(echo.url, payload, arguments.requests)
        finally:
            echo.stop()
    cold_ms = cold_invoke(zip_path, payload, arguments.cold)

    warm_p50 = statistics.median(boto_ms)
    cold_p50 = statistics.median(cold_ms)
    print(f"warm boto3 invoke via bem serve, n={arguments.requests}: {percentiles(boto_ms)}")
    print(f"warm API route (urllib) via bem serve, n={arguments.requests}: {percentiles(http_ms)}")
    print(f"warm boto3 invoke of an echo handler (emulator + boto3 only): {percentiles(echo_ms)}")
    spread = f"min {min(cold_ms):.0f} ms  max {max(cold_ms):.0f} ms"
    print(f"naive: fresh runtime per request (bem invoke, cold), n={arguments.cold}: "
          f"median {cold_p50:.0f} ms  {spread}")  # fmt: skip
    verdict = "met" if warm_p50 <= 5 else "NOT met"
    print(f"warm p50 goal <= 5 ms: {verdict}; warm is {cold_p50 / warm_p50:.0f}x faster "
          "than a fresh process per request")  # fmt: skip


if __name__ == "__main__":
    main()
