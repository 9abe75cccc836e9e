"""`bem serve` with the real handler: boto3, HTTP and newman clients; faults; load."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bem.deploy.spec import FunctionSpec
from bem.local.invoke_api import InvokeApiServer
from bem.local.pool import FunctionPool, LocalFunction
from bem.local.sandbox import Sandbox
from tests.conftest import load_event
from tests.local.conftest import REPO_ROOT, ServeProcess, lambda_client

FUNCTION = "budget-expense-matcher"
COLLECTION = REPO_ROOT / "postman" / "budget_expense_matcher.postman_collection.json"


def post(url: str, body: bytes) -> tuple[int, bytes]:
    """Status and body of a POST."""
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_serve_scores_the_seed_payload_through_boto3(real_serve: ServeProcess) -> None:
    client = lambda_client(real_serve.url)
    response = client.invoke(
        FunctionName=FUNCTION,
        Qualifier="live",
        Payload=json.dumps(load_event("seed_direct.json")).encode(),
    )
    items = json.loads(response["Payload"].read())
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert len(items) == 1
    assert items[0]["budget_id"] == "309366" and items[0]["itemization_id"] == "4659496"
    assert 0.0 <= items[0]["score"] <= 1.0


def test_serve_answers_the_api_route_like_api_gateway(real_serve: ServeProcess) -> None:
    url = f"{real_serve.url}/test/budget_expense_matcher/"
    status, body = post(url, json.dumps(load_event("seed_direct.json")).encode())
    assert status == 200 and json.loads(body)[0]["budget_id"] == "309366"
    status, body = post(url, b'{"budgets": [')
    assert status == 400 and json.loads(body)["error"]["code"]
    with urllib.request.urlopen(url, timeout=60) as response:
        info = json.loads(response.read())
    assert info["service"] == FUNCTION and "model_version" in info


@pytest.mark.skipif(shutil.which("npx") is None, reason="npx (node) is not installed")
@pytest.mark.slow
def test_serve_passes_the_postman_collection_under_newman(
    real_serve: ServeProcess, tmp_path: Path
) -> None:
    if not (REPO_ROOT / "node_modules" / ".bin" / "newman").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=REPO_ROOT, check=True, capture_output=True
        )
    report = tmp_path / "newman.json"
    done = subprocess.run(
        ["npx", "--no-install", "newman", "run", str(COLLECTION), "--color", "off",
         "--env-var", f"baseUrl={real_serve.url}", "--env-var", "stage=test",
         "--env-var", "apiKey=local-test-key",
         "--reporters", "cli,json", "--reporter-json-export", str(report)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    stats = json.loads(report.read_text())["run"]["stats"]
    assert stats["requests"] == {"total": 6, "pending": 0, "failed": 0}
    assert stats["assertions"]["failed"] == 0 and stats["assertions"]["total"] >= 16
    executions = json.loads(report.read_text())["run"]["executions"]
    sent = [{h["key"].lower(): h["value"] for h in e["request"]["header"]} for e in executions]
    assert [headers.get("x-api-key") for headers in sent] == ["local-test-key"] * 6
    names = [e["item"]["name"] for e in executions]
    assert "POST the seed example, columns form" in names
    assert "DELETE is not a method of the API" in names


def _many_pairs_payload(n_budgets: int, n_items: int) -> dict[str, Any]:
    seed = load_event("seed_direct.json")
    budgets = []
    for k in range(n_budgets):
        budget = copy.deepcopy(seed["budgets"][0])
        budget["budget_id"] = f"b{k}"
        budgets.append(budget)
    items = []
    for k in range(n_items):
        item = copy.deepcopy(seed["all_user_expense_lineitems"][0])
        item["itemization_id"] = f"i{k}"
        items.append(item)
    return {"budgets": budgets, "all_user_expense_lineitems": items}


def test_worker_killed_mid_request_gives_an_error_answer_then_recovers(real_zip: Path) -> None:
    pool = FunctionPool.from_zip(real_zip, LocalFunction(FunctionSpec(timeout_s=60)), concurrency=1)
    server = InvokeApiServer(pool, port=0)
    server.start()
    try:
        client = lambda_client(server.url)
        seed = json.dumps(load_event("seed_direct.json")).encode()
        assert "FunctionError" not in client.invoke(FunctionName=FUNCTION, Payload=seed)
        slow = json.dumps(_many_pairs_payload(200, 200)).encode()  # 40,000 pairs, under the caps
        answers: list[dict[str, Any]] = []
        caller = threading.Thread(
            target=lambda: answers.append(client.invoke(FunctionName=FUNCTION, Payload=slow))
        )
        caller.start()
        deadline = time.monotonic() + 30
        busy: list[Sandbox] = []
        while not busy and time.monotonic() < deadline:
            busy = [s for s in pool.sandboxes() if s.state == "busy"]
            time.sleep(0.005)
        assert busy, "the slow request never reached a worker"
        assert busy[0].process is not None
        os.kill(busy[0].process.pid, signal.SIGKILL)
        caller.join(timeout=60)
        answer = answers[0]
        error = json.loads(answer["Payload"].read())
        assert answer["StatusCode"] == 200 and answer["FunctionError"] == "Unhandled"
        assert error["errorType"] == "Runtime.ExitError"
        assert error["errorMessage"].endswith("Runtime exited with error: signal: killed")
        after = client.invoke(FunctionName=FUNCTION, Payload=seed)
        assert "FunctionError" not in after
        assert json.loads(after["Payload"].read())[0]["budget_id"] == "309366"
        assert pool.started_count == 2
    finally:
        server.stop()
        pool.close()


@pytest.mark.slow
def test_serve_load_8_clients_by_1000_requests_loses_nothing(real_serve: ServeProcess) -> None:
    seed = load_event("seed_direct.json")
    reference = json.loads(
        lambda_client(real_serve.url)
        .invoke(FunctionName=FUNCTION, Payload=json.dumps(seed).encode())["Payload"]
        .read()
    )[0]["score"]
    n_clients, n_requests = 8, 1000

    def run_client(number: int) -> list[str]:
        client = lambda_client(real_serve.url)
        problems = []
        for k in range(n_requests):
            payload = copy.deepcopy(seed)
            budget_id, item_id = f"c{number}-b{k}", f"c{number}-i{k}"
            payload["budgets"][0]["budget_id"] = budget_id
            payload["all_user_expense_lineitems"][0]["itemization_id"] = item_id
            response = client.invoke(FunctionName=FUNCTION, Payload=json.dumps(payload).encode())
            items = json.loads(response["Payload"].read())
            expected = [budget_id, item_id, reference]
            if response.get("FunctionError") or len(items) != 1:
                problems.append(f"{budget_id}: {items}")
            elif [items[0]["budget_id"], items[0]["itemization_id"], items[0]["score"]] != expected:
                problems.append(f"{budget_id}: wrong answer {items[0]}")
        return problems

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=n_clients) as executor:
        results = list(executor.map(run_client, range(n_clients)))
    elapsed = time.monotonic() - started
    problems = [problem for result in results for problem in result]
    assert problems == [], problems[:5]
    assert elapsed < 300
