"""The function pool under awslambdaric, with a toy handler: what Lambda would do and report."""

from __future__ import annotations

import json
import re
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bem.deploy.spec import FunctionSpec
from bem.local.pool import FunctionPool, LocalFunction
from bem.local.task import MAX_UNZIPPED_BYTES, TaskSetupError, prepare_task_dir
from tests.local.conftest import TOY_HANDLER, make_zip

REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>[\d.]+) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<memory>\d+) MB\t"
    r"Max Memory Used: (?P<used>\d+) MB\t(Init Duration: (?P<init>[\d.]+) ms\t)?"
)


def test_pool_echoes_and_logs_like_lambda(toy_pool: FunctionPool) -> None:
    outcome = toy_pool.invoke(b'{"print": "hello from the toy"}')
    assert json.loads(outcome.payload) == {"echo": {"print": "hello from the toy"}}
    assert outcome.function_error is None
    lines = outcome.log.splitlines()
    assert lines[0].startswith("START RequestId: ") and lines[0].endswith("Version: $LATEST")
    assert "hello from the toy" in lines and "err:hello from the toy" in lines
    assert lines[-2].startswith("END RequestId: ")
    report = REPORT.match(lines[-1])
    assert report is not None and report["memory"] == "128"
    assert int(report["billed"]) >= float(report["duration"])
    assert 5 <= int(report["used"]) <= 128


def test_pool_reports_init_duration_only_on_a_sandbox_first_invoke(
    toy_zip: Path, toy_config: LocalFunction
) -> None:
    with FunctionPool.from_zip(toy_zip, toy_config, concurrency=1) as pool:
        first, second = pool.invoke(b"{}"), pool.invoke(b"{}")
    first_report, second_report = REPORT.match(first.report), REPORT.match(second.report)
    assert first_report is not None and first_report["init"] is not None
    assert second_report is not None and second_report["init"] is None
    assert first.init_ms is not None and first.init_ms > 0
    # Billed duration includes the init phase on a cold start (Lambda since August 2025).
    assert first.billed_ms >= int(first.init_ms)


def test_sandbox_runs_target_interpreter_isolated_with_lambda_environment(
    toy_pool: FunctionPool,
) -> None:
    seen = json.loads(
        toy_pool.invoke(b'{"context": 1}', client_context='{"custom": {"k": "v"}}').payload
    )
    environment = seen["env"]
    task_dir = str(toy_pool.task_dir)
    assert seen["executable"].endswith("python3.12")
    assert environment["LAMBDA_TASK_ROOT"] == task_dir
    assert environment["_HANDLER"] == TOY_HANDLER
    assert environment["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert environment["TZ"] == ":UTC"
    assert "AWS_LAMBDA_MAX_CONCURRENCY" not in environment
    assert "VIRTUAL_ENV" not in environment
    # sys.path: the task dir, the runtime dir and the interpreter's stdlib — no site-packages.
    assert not any("site-packages" in entry for entry in seen["sys_path"])
    assert not any(".venv" in entry for entry in seen["sys_path"])
    assert seen["sys_path"][0] == task_dir
    assert seen["function_name"] == toy_pool.config.function_name
    assert seen["memory_limit_in_mb"] == "128"
    assert 0 < seen["remaining_ms"] <= 2000
    assert seen["client_context"] == {"k": "v"}
    assert seen["invoked_function_arn"] == toy_pool.config.arn()


def test_pool_returns_a_raised_exception_as_an_unhandled_function_error(
    toy_pool: FunctionPool,
) -> None:
    outcome = toy_pool.invoke(b'{"raise": "the sky is falling!"}')
    error = json.loads(outcome.payload)
    assert outcome.function_error == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "the sky is falling!"
    assert error["stackTrace"]
    after = toy_pool.invoke(b'{"n": 1}')
    assert json.loads(after.payload) == {"echo": {"n": 1}}


def test_pool_times_out_kills_and_recovers(toy_pool: FunctionPool) -> None:
    started = time.monotonic()
    outcome = toy_pool.invoke(b'{"sleep": 30}')
    assert time.monotonic() - started < 10
    error = json.loads(outcome.payload)
    assert outcome.function_error == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 2.00 seconds")
    assert "Status: timeout" in outcome.report
    assert "Task timed out after 2.00 seconds" in outcome.log
    assert json.loads(toy_pool.invoke(b'{"n": 2}').payload) == {"echo": {"n": 2}}


def test_pool_kills_a_sandbox_over_its_memory_size(toy_pool: FunctionPool) -> None:
    outcome = toy_pool.invoke(b'{"alloc_mb": 400}')
    error = json.loads(outcome.payload)
    assert error["errorType"] == "Runtime.OutOfMemory"
    assert error["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert "Error Type: Runtime.OutOfMemory" in outcome.report
    assert "Max Memory Used: 128 MB" in outcome.report
    assert json.loads(toy_pool.invoke(b'{"n": 3}').payload) == {"echo": {"n": 3}}


def test_pool_reports_a_runtime_exit_and_replaces_the_sandbox(toy_pool: FunctionPool) -> None:
    outcome = toy_pool.invoke(b'{"exit": 3}')
    error = json.loads(outcome.payload)
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert json.loads(toy_pool.invoke(b'{"n": 4}').payload) == {"echo": {"n": 4}}


def test_pool_answers_response_size_too_large_over_6_mb(toy_pool: FunctionPool) -> None:
    outcome = toy_pool.invoke(json.dumps({"big": 6_300_000}).encode())
    error = json.loads(outcome.payload)
    assert outcome.function_error == "Unhandled"
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert "6291556 bytes" in error["errorMessage"]
    just_under = toy_pool.invoke(json.dumps({"big": 6_000_000}).encode())
    assert just_under.function_error is None and len(just_under.payload) == 6_000_002


def test_pool_runs_invocations_in_parallel_sandboxes(
    toy_pool: FunctionPool, tmp_path: Path
) -> None:
    # An earlier test's timeout killed a sandbox: both must be warm before the two calls.
    assert toy_pool.warm() == 2
    results: list[dict[str, Any]] = []
    event = json.dumps({"rendezvous": str(tmp_path)}).encode()

    def call() -> None:
        results.append(json.loads(toy_pool.invoke(event).payload))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each call waits for the other's mark: run one after the other, neither would meet.
    assert [result["met"] for result in results] == [True, True]
    assert len({result["pid"] for result in results}) == 2


def test_pool_answers_an_init_error_to_the_waiting_invocation(tmp_path: Path) -> None:
    broken = make_zip(
        tmp_path / "broken.zip",
        {"broken.py": "import not_shipped_dependency\n\ndef handler(e, c):\n    return 1\n"},
    )
    config = LocalFunction(FunctionSpec(handler="broken.handler", memory_mb=128, timeout_s=5))
    with FunctionPool.from_zip(broken, config, concurrency=1) as pool:
        outcome = pool.invoke(b"{}")
        again = pool.invoke(b"{}")
    error = json.loads(outcome.payload)
    assert outcome.function_error == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "not_shipped_dependency" in error["errorMessage"]
    assert "INIT_REPORT" in outcome.log
    assert json.loads(again.payload)["errorType"] == "Runtime.ImportModuleError"


def test_pool_times_out_an_init_that_never_ends(tmp_path: Path) -> None:
    stuck = make_zip(
        tmp_path / "stuck.zip",
        {"stuck.py": "import time\ntime.sleep(120)\n\ndef handler(e, c):\n    return 1\n"},
    )
    config = LocalFunction(
        FunctionSpec(handler="stuck.handler", memory_mb=128, timeout_s=1), init_phase_s=0.5
    )
    started = time.monotonic()
    with FunctionPool.from_zip(stuck, config, concurrency=1) as pool:
        outcome = pool.invoke(b"{}")
    assert time.monotonic() - started < 10
    error = json.loads(outcome.payload)
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 1.00 seconds")


def test_task_dir_is_reused_for_the_same_zip(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"tool.sh": "#!/bin/sh\n", "m.py": "x = 1\n"})
    first = prepare_task_dir(archive, cache=tmp_path / "cache")
    second = prepare_task_dir(archive, cache=tmp_path / "cache")
    assert first == second and (first / "m.py").read_text() == "x = 1\n"


def test_task_dir_refuses_a_zip_over_the_unzipped_limit(tmp_path: Path) -> None:
    archive = tmp_path / "huge.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("zeros.bin", b"\0" * (MAX_UNZIPPED_BYTES + 1))
    with pytest.raises(TaskSetupError, match="over Lambda"):
        prepare_task_dir(archive, cache=tmp_path / "cache")


def test_pool_answers_a_request_sent_just_after_an_idle_sandbox_died(
    toy_zip: Path, toy_config: LocalFunction
) -> None:
    """The event must not go to the dead runtime (Runtime.ExitError): another sandbox runs it."""
    import os
    import signal

    with FunctionPool.from_zip(toy_zip, toy_config, concurrency=1) as pool:
        for attempt in range(4):  # bounded: the race is hit in the first tries
            assert pool.warm(wait_s=60) == 1
            (sandbox,) = pool.sandboxes()
            assert sandbox.process is not None
            os.killpg(sandbox.process.pid, signal.SIGKILL)  # dies while idle
            outcome = pool.invoke(json.dumps({"n": attempt}).encode())
            assert outcome.error_type is None, outcome.payload[:200]
            assert json.loads(outcome.payload) == {"echo": {"n": attempt}}
