"""The README's main job: build deploy.zip, serve it on local endpoints, score the seed example.

Runs `./build`, starts `bem serve` on a free 127.0.0.1 port (the built zip under AWS's runtime
client), POSTs the 2017 example to the API Gateway route and invokes the function through
boto3's Lambda client (`endpoint_url`), printing both answers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from budget_matcher import SERVICE_NAME

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "events" / "seed_direct.json"
ROUTE = "/test/budget_expense_matcher/"


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(base_url: str, server: subprocess.Popen[bytes], seconds: float) -> None:
    """Poll GET on the route until it answers (the sandboxes start warm)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"bem serve exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(base_url + ROUTE, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"bem serve did not answer within {seconds:.0f} s")


def main() -> None:
    subprocess.run([str(ROOT / "build")], cwd=ROOT, check=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "bem", "serve", "--port", str(port), "--quiet"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        wait_until_serving(base_url, server, seconds=120)
        body = SEED.read_bytes()
        request = urllib.request.Request(
            base_url + ROUTE, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            print(f"POST {ROUTE} -> {answer.status}")
            print(json.dumps(json.loads(answer.read()), indent=2))
        client = boto3.client(
            "lambda",
            endpoint_url=base_url,
            region_name="us-west-2",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 0}),
        )
        response = client.invoke(FunctionName=SERVICE_NAME, Payload=body)
        print(f"boto3 invoke -> {response['StatusCode']}")
        print(json.dumps(json.loads(response["Payload"].read()), indent=2))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
