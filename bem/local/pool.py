"""Run deploy.zip as Lambda would, without Docker: a pool of sandboxes under awslambdaric.

    pool = FunctionPool.from_zip(Path("deploy.zip"), LocalFunction(FunctionSpec(memory_mb=1024)))
    outcome = pool.invoke(b'{"budgets": [], "all_user_expense_lineitems": []}')
    print(outcome.payload, outcome.report)

Invocations wait in one queue; a sandbox takes the next one when its runtime asks for it
(`GET /runtime/invocation/next`), so the pool balances itself. A new sandbox starts when more
invocations wait than sandboxes are free, up to `concurrency` (Lambda's scaling, in small).
A sandbox that dies (killed, timed out, out of memory, 413 on its response) is reported as
Lambda reports it and replaced on demand.
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bem.deploy.spec import FunctionSpec
from bem.local.invocation import Invocation, InvocationOutcome, platform_error_body
from bem.local.sandbox import INIT_PHASE_S, Sandbox, SandboxSpec
from bem.local.task import (
    ensure_runtime_dir,
    find_interpreter,
    prepare_task_dir,
)

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"
WATCH_INTERVAL_S = 0.02


@dataclass(frozen=True)
class LocalFunction:
    """The deployed function (`FunctionSpec`, the same one `bem deploy` deploys), placed where
    the emulator pretends it runs: region, account and published version."""

    spec: FunctionSpec = field(default_factory=FunctionSpec)
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    version: str = "$LATEST"
    init_phase_s: float = INIT_PHASE_S  # then init is retried within the spec's timeout

    @property
    def function_name(self) -> str:
        return self.spec.name

    def arn(self, qualifier: str | None = None) -> str:
        """arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]."""
        base = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.spec.name}"
        return f"{base}:{qualifier}" if qualifier else base


def lambda_environment(config: LocalFunction, task_dir: Path, runtime_dir: Path) -> dict[str, str]:
    """The variables Lambda sets for a function (AWS_LAMBDA_RUNTIME_API added per sandbox).

    Credentials are dummies: code under emulation must not reach a real account by accident.
    """
    stream = f"{datetime.now(UTC):%Y/%m/%d}/[{config.version}]{secrets.token_hex(16)}"
    environment = {
        "AWS_LAMBDA_FUNCTION_NAME": config.spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": config.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.spec.runtime}",
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "AWS_ACCESS_KEY_ID": "ASIAEMULATEDLOCAL000",
        "AWS_SECRET_ACCESS_KEY": "emulated-local-secret",
        "AWS_SESSION_TOKEN": "emulated-local-session",
        "_HANDLER": config.spec.handler,
        "LAMBDA_TASK_ROOT": str(task_dir),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "PYTHONPATH": f"{task_dir}:{runtime_dir}",
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only on Lambda
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LD_LIBRARY_PATH": f"{task_dir}/lib:{task_dir}:{runtime_dir}",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
    }
    environment.update(config.spec.environment)
    return environment


def stderr_log_sink(text: str) -> None:
    """Write an invocation's log to stderr, as `sam local` shows it."""
    sys.stderr.write(text)
    sys.stderr.flush()


class FunctionPool:
    """Warm sandboxes of one function, started on demand up to `concurrency`."""

    def __init__(
        self,
        task_dir: Path,
        config: LocalFunction | None = None,
        *,
        concurrency: int = 1,
        interpreter: Path | None = None,
        runtime_dir: Path | None = None,
        log_dir: Path | None = None,
        log_sink: Callable[[str], None] | None = None,
        cache: Path | None = None,
    ) -> None:
        self.config = config or LocalFunction()
        self.task_dir = Path(task_dir)
        self.concurrency = max(1, concurrency)
        interpreter = interpreter or find_interpreter(self.config.spec.runtime)
        runtime_dir = runtime_dir or ensure_runtime_dir(
            interpreter, self.config.spec.runtime, cache
        )
        self._own_log_dir = log_dir is None
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="bem-sandbox-logs-"))
        self.spec = SandboxSpec(
            interpreter=interpreter,
            task_dir=self.task_dir,
            runtime_dir=runtime_dir,
            handler=self.config.spec.handler,
            memory_mb=self.config.spec.memory_mb,
            timeout_s=self.config.spec.timeout_s,
            version=self.config.version,
            environment=lambda_environment(self.config, self.task_dir, runtime_dir),
            init_phase_s=self.config.init_phase_s,
        )
        self._log_sink = log_sink
        self._queue: queue.Queue[Invocation] = queue.Queue()
        self._sandboxes: list[Sandbox] = []
        self._started = 0
        self._closed = False
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._watcher = threading.Thread(target=self._watch, name="pool-watch", daemon=True)
        self._watcher.start()

    @classmethod
    def from_zip(
        cls,
        zip_path: Path,
        config: LocalFunction | None = None,
        *,
        cache: Path | None = None,
        **options: Any,
    ) -> FunctionPool:
        """A pool running `zip_path`, unpacked into a cached task dir."""
        return cls(prepare_task_dir(Path(zip_path), cache), config, cache=cache, **options)

    # -- public -------------------------------------------------------------------------------

    def warm(self, count: int | None = None, wait_s: float = 120.0) -> int:
        """Start sandboxes (default: `concurrency`) and wait until they are ready; ready count."""
        wanted = min(self.concurrency, count if count is not None else self.concurrency)
        with self._lock:
            while len(self._live()) < wanted:
                self._spawn_locked()
        deadline = time.monotonic() + wait_s
        with self._ready:
            while time.monotonic() < deadline:
                ready = sum(1 for s in self._sandboxes if s.state == "idle")
                if ready >= wanted or not self._live():
                    break
                self._ready.wait(timeout=0.1)
            return sum(1 for s in self._sandboxes if s.state == "idle")

    def submit(
        self,
        payload: bytes,
        *,
        client_context: str | None = None,
        qualifier: str | None = None,
    ) -> Invocation:
        """Queue an invocation and return it at once (wait on `.done`)."""
        if self._closed:
            raise RuntimeError("pool is closed")
        invocation = Invocation(
            payload=payload,
            function_arn=self.config.arn(qualifier),
            client_context=client_context,
        )
        self._queue.put(invocation)
        self._scale()
        return invocation

    def invoke(
        self,
        payload: bytes,
        *,
        client_context: str | None = None,
        qualifier: str | None = None,
    ) -> InvocationOutcome:
        """Run one invocation to its end (success, function error, timeout or crash)."""
        invocation = self.submit(payload, client_context=client_context, qualifier=qualifier)
        while not invocation.done.wait(timeout=0.5):
            if self._closed:
                invocation.finish(self._shutdown_outcome())
        assert invocation.outcome is not None
        return invocation.outcome

    def sandboxes(self) -> list[Sandbox]:
        """The sandboxes alive now."""
        with self._lock:
            return list(self._live())

    def in_flight(self) -> int:
        """Invocations queued or running now."""
        with self._lock:
            busy = sum(1 for s in self._sandboxes if s.state == "busy")
        return busy + self._queue.qsize()

    @property
    def started_count(self) -> int:
        """How many sandboxes were started (cold starts) so far."""
        return self._started

    def close(self) -> None:
        """Kill every sandbox and fail what is still queued."""
        self._closed = True
        with self._lock:
            sandboxes = list(self._sandboxes)
        for sandbox in sandboxes:
            sandbox.kill("shutdown")
        for sandbox in sandboxes:
            if sandbox.process is not None:
                with contextlib.suppress(Exception):
                    sandbox.process.wait(timeout=5)
        while True:
            try:
                self._queue.get_nowait().finish(self._shutdown_outcome())
            except queue.Empty:
                break
        if self._own_log_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self) -> FunctionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- SandboxHost --------------------------------------------------------------------------

    def take_invocation(self, timeout: float) -> Invocation | None:
        """The next queued invocation for a free runtime."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def requeue(self, invocation: Invocation) -> None:
        """Put back an invocation a dying sandbox took."""
        self._queue.put(invocation)
        self._scale()

    def sandbox_idle(self, sandbox: Sandbox) -> None:
        """Wake `warm()` waiters."""
        with self._ready:
            self._ready.notify_all()

    def sandbox_exited(self, sandbox: Sandbox, init_failure: InvocationOutcome | None) -> None:
        """Forget the sandbox; an init failure answers one waiting invocation (as on Lambda)."""
        with self._ready:
            if sandbox in self._sandboxes:
                self._sandboxes.remove(sandbox)
            self._ready.notify_all()
        if init_failure is not None and not self._closed:
            try:
                invocation = self._queue.get_nowait()
            except queue.Empty:
                invocation = None
            if invocation is not None:
                payload = init_failure.payload.replace(
                    b"RequestId: Error:", f"RequestId: {invocation.request_id} Error:".encode()
                )
                self.emit_log(init_failure.log)
                invocation.finish(
                    InvocationOutcome(
                        payload=payload,
                        error_type=init_failure.error_type,
                        function_error="Unhandled",
                        status="error",
                        log=init_failure.log,
                        init_ms=init_failure.init_ms,
                        executed_version=init_failure.executed_version,
                    )
                )
        if not self._closed:
            self._scale()

    def emit_log(self, text: str) -> None:
        """Hand an invocation's log to the sink."""
        if self._log_sink is not None and text:
            self._log_sink(text)

    # -- internals ----------------------------------------------------------------------------

    def _live(self) -> list[Sandbox]:
        return [s for s in self._sandboxes if s.state != "dead"]

    def _spawn_locked(self) -> None:
        self._started += 1
        name = f"sandbox-{self._started}"
        sandbox = Sandbox(self, self.spec, name, self.log_dir / f"{name}.log")
        self._sandboxes.append(sandbox)
        sandbox.start()

    def _scale(self) -> None:
        if self._closed:
            return
        with self._lock:
            live = self._live()
            free = sum(1 for s in live if s.state in ("starting", "idle"))
            waiting = self._queue.qsize()
            while waiting > free and len(live) < self.concurrency:
                self._spawn_locked()
                live = self._live()
                free += 1

    def _watch(self) -> None:
        while not self._closed:
            now = time.monotonic()
            with self._lock:
                sandboxes = list(self._sandboxes)
            for sandbox in sandboxes:
                sandbox.watch(now)
            time.sleep(WATCH_INTERVAL_S)

    def _shutdown_outcome(self) -> InvocationOutcome:
        body = platform_error_body("ServiceException", "The emulator is shutting down.")
        return InvocationOutcome(
            payload=body, error_type="ServiceException", function_error="Unhandled", status="error"
        )
