"""One Lambda execution environment: a runtime process under awslambdaric and its Runtime API.

The process runs the *target* interpreter with `-S` (no site-packages of its own), cwd = the
task dir, PYTHONPATH = task dir + runtime dir only, and the environment Lambda sets. Its
stdout/stderr go to a log file; each invocation's slice of it becomes the invocation's log.
The sandbox reports what Lambda reports: Duration, Billed Duration, Memory Size, Max Memory
Used, Init Duration, and for a kill, `Task timed out after N seconds` or
`Runtime exited with error: signal: killed` (Runtime.OutOfMemory when over the memory size).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from bem.local.invocation import Invocation, InvocationOutcome, platform_error_body
from bem.local.runtime_api import MAX_RESPONSE_BYTES, RuntimeApiServer

INIT_PHASE_S = 10.0  # Lambda's limit on the init phase of an on-demand sandbox
MAX_LOG_FILE_BYTES = 16 * 1024 * 1024  # a sandbox's log file is emptied past this size


@dataclass(frozen=True)
class SandboxSpec:
    """What every sandbox of one function runs."""

    interpreter: Path
    task_dir: Path
    runtime_dir: Path
    handler: str
    memory_mb: int
    timeout_s: float
    version: str
    environment: dict[str, str]  # Lambda's variables plus the function's own
    init_phase_s: float = INIT_PHASE_S


class SandboxHost(Protocol):
    """The pool a sandbox belongs to."""

    def take_invocation(self, timeout: float) -> Invocation | None:
        """The next queued invocation, or None after `timeout` seconds."""
        ...

    def requeue(self, invocation: Invocation) -> None:
        """Give back an invocation this sandbox could not start."""
        ...

    def sandbox_idle(self, sandbox: Sandbox) -> None:
        """The sandbox waits for work (init done or previous invocation finished)."""
        ...

    def sandbox_exited(self, sandbox: Sandbox, init_failure: InvocationOutcome | None) -> None:
        """The process is gone; `init_failure` when it never got to its first invocation."""
        ...

    def emit_log(self, text: str) -> None:
        """One invocation's log (START .. REPORT)."""
        ...


def read_memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB; (0, 0) once it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return 0, 0
    return rss, hwm


def _error_type_of(body: bytes) -> str | None:
    """The errorType of a runtime's error document, if it has one."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    value = document.get("errorType") if isinstance(document, dict) else None
    return value if isinstance(value, str) and value else None


def _exit_text(returncode: int) -> str:
    if returncode < 0:
        name = signal.Signals(-returncode).name.removeprefix("SIG").lower()
        return f"signal: {'killed' if name == 'kill' else name}"
    return f"exit status {returncode}"


class Sandbox:
    """A runtime process, its Runtime API server and the invocation it is running."""

    def __init__(self, host: SandboxHost, spec: SandboxSpec, name: str, log_path: Path) -> None:
        self.host = host
        self.spec = spec
        self.name = name
        self.log_path = log_path
        self.state = "starting"  # starting | idle | busy | dead
        self.current: Invocation | None = None
        self.init_ms: float | None = None
        self.peak_kib = 0
        self._init_reported = False
        self._init_error: tuple[str, bytes] | None = None
        self._kill_reason: str | None = None
        self._handed_at = 0.0
        self._log_offset = 0
        self._lock = threading.Lock()
        self._server = RuntimeApiServer(self)
        self._started_at = time.monotonic()
        self.process: subprocess.Popen[bytes] | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the Runtime API server and the runtime process."""
        self._server.start()
        environment = dict(self.spec.environment)
        environment["AWS_LAMBDA_RUNTIME_API"] = self._server.address
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log_file:
            self._started_at = time.monotonic()
            self.process = subprocess.Popen(
                [str(self.spec.interpreter), "-S", "-m", "awslambdaric", self.spec.handler],
                cwd=self.spec.task_dir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        threading.Thread(target=self._wait_for_exit, name=f"{self.name}-wait", daemon=True).start()

    def kill(self, reason: str) -> None:
        """SIGKILL the process group; `reason` (timeout | oom | shutdown) shapes the report."""
        with self._lock:
            if self._kill_reason is None:
                self._kill_reason = reason
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def watch(self, now: float) -> None:
        """Called often by the pool: enforce the timeout and the memory size."""
        if self.process is None or self.state in ("idle", "dead"):
            return
        rss, hwm = read_memory_kib(self.process.pid)
        self.peak_kib = max(self.peak_kib, hwm)
        busy_too_long = self.state == "busy" and now - self._handed_at > self.spec.timeout_s
        init_too_long = self.state == "starting" and now - self._started_at > self.init_limit_s
        if rss > self.spec.memory_mb * 1024:
            self.kill("oom")
        elif busy_too_long or init_too_long:
            self.kill("timeout")

    @property
    def init_limit_s(self) -> float:
        """Lambda gives init 10 s, then retries it within the invocation's own timeout."""
        return self.spec.init_phase_s + self.spec.timeout_s

    # -- Runtime API backend ------------------------------------------------------------------

    def next_invocation(self) -> Invocation | None:
        """Block until the pool hands this runtime an event."""
        with self._lock:
            if self.init_ms is None:
                self.init_ms = (time.monotonic() - self._started_at) * 1000
            self.state = "idle"
        self.host.sandbox_idle(self)
        while self.state != "dead" and not self._runtime_gone():
            invocation = self.host.take_invocation(timeout=0.25)
            if invocation is None:
                continue
            with self._lock:
                if self.state == "dead" or self._runtime_gone():
                    self.state = "dead"  # an idle runtime died: its event goes elsewhere
                    self.host.requeue(invocation)
                    return None
                self.current = invocation
                self.state = "busy"
                self._handed_at = time.monotonic()
                invocation.deadline_ms = int(time.time() * 1000 + self.spec.timeout_s * 1000)
                self._log_offset = self._log_size()
            return invocation
        return None

    def post_response(self, request_id: str, body: bytes) -> bool:
        """The function's result."""
        return self._complete(request_id, InvocationOutcome(payload=body))

    def post_error(self, request_id: str, error_type: str, body: bytes) -> bool:
        """The function raised: its error document goes back with FunctionError Unhandled."""
        if error_type == "Runtime.Unknown":
            error_type = _error_type_of(body) or error_type
        outcome = InvocationOutcome(
            payload=body,
            error_type=error_type,
            function_error="Unhandled",
            status="error",
            platform_error=False,
        )
        return self._complete(request_id, outcome)

    def invocation_undelivered(self, request_id: str) -> None:
        """The runtime's connection broke as the event was handed over: it never ran it, so
        it is queued again for another sandbox (not answered Runtime.ExitError)."""
        with self._lock:
            invocation = self.current
            if invocation is None or invocation.request_id != request_id:
                return
            self.current = None
            self.state = "dead"
        self.host.requeue(invocation)

    def response_too_large(self, request_id: str, size: int) -> bool:
        """Lambda's answer to a response over 6 MB; the runtime exits after the 413."""
        message = (
            f"Response payload size exceeded maximum allowed payload size "
            f"({MAX_RESPONSE_BYTES} bytes)."
        )
        outcome = InvocationOutcome(
            payload=platform_error_body("Function.ResponseSizeTooLarge", message),
            error_type="Function.ResponseSizeTooLarge",
            function_error="Unhandled",
            status="error",
        )
        return self._complete(request_id, outcome)

    def post_init_error(self, error_type: str, body: bytes) -> None:
        """Keep the init error for the invocation that is waiting for this sandbox."""
        self._init_error = (error_type, body)

    # -- internals ----------------------------------------------------------------------------

    def _runtime_gone(self) -> bool:
        """The runtime process has exited, is exiting, or has a SIGKILL pending: a killed
        process lives on for a moment, and an event handed to it then would be lost."""
        if self.process is None:
            return False
        if self.process.returncode is not None:
            return True
        try:
            with open(f"/proc/{self.process.pid}/status", "rb") as status:
                fields = dict(
                    line.split(b":", 1) for line in status.read().splitlines() if b":" in line
                )
        except OSError:
            return True
        if fields.get(b"State", b"").strip()[:1] in (b"Z", b"X"):
            return True
        kill_bit = 1 << (signal.SIGKILL - 1)
        return any(int(fields.get(name, b"0"), 16) & kill_bit for name in (b"SigPnd", b"ShdPnd"))

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _read_log(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as log_file:
                log_file.seek(offset)
                return log_file.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _complete(self, request_id: str, outcome: InvocationOutcome, dead: bool = False) -> bool:
        with self._lock:
            invocation = self.current
            if invocation is None or invocation.request_id != request_id:
                return False
            self.current = None
            if not dead:
                self.state = "idle"
            duration_ms = (time.monotonic() - self._handed_at) * 1000
            init_ms = None if self._init_reported else self.init_ms
            self._init_reported = True
            offset = self._log_offset
        if self.process is not None and not dead:
            self.peak_kib = max(self.peak_kib, read_memory_kib(self.process.pid)[1])
        if outcome.status == "timeout":
            duration_ms = self.spec.timeout_s * 1000
        billed = math.ceil(duration_ms) + (math.ceil(init_ms) if init_ms is not None else 0)
        max_memory_mb = min(math.ceil(self.peak_kib / 1024), self.spec.memory_mb)
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {billed} ms\tMemory Size: {self.spec.memory_mb} MB\t"
            f"Max Memory Used: {max_memory_mb} MB\t"
        )
        if init_ms is not None:
            report += f"Init Duration: {init_ms:.2f} ms\t"
        if outcome.status != "success" and outcome.platform_error:
            report += f"Status: {outcome.status}\t"
            if outcome.status == "error":
                report += f"Error Type: {outcome.error_type}\t"
        output = self._read_log(offset)
        if offset + len(output) > MAX_LOG_FILE_BYTES:
            # the runtime appends (O_APPEND), so emptying the file between invocations is safe
            with contextlib.suppress(OSError):
                os.truncate(self.log_path, 0)
        if output and not output.endswith("\n"):
            output += "\n"
        if outcome.status == "timeout":
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            output += f"{stamp}Z {request_id} {self._timeout_text()}\n"
        log = (
            f"START RequestId: {request_id} Version: {self.spec.version}\n{output}"
            f"END RequestId: {request_id}\n{report}\n"
        )
        full = InvocationOutcome(
            payload=outcome.payload,
            error_type=outcome.error_type,
            function_error=outcome.function_error,
            status=outcome.status,
            platform_error=outcome.platform_error,
            log=log,
            report=report,
            duration_ms=duration_ms,
            billed_ms=billed,
            init_ms=init_ms,
            max_memory_mb=max_memory_mb,
            executed_version=self.spec.version,
        )
        self.host.emit_log(log)
        invocation.finish(full)
        if not dead:
            self.host.sandbox_idle(self)
        return True

    def _timeout_text(self) -> str:
        return f"Task timed out after {self.spec.timeout_s:.2f} seconds"

    def _wait_for_exit(self) -> None:
        assert self.process is not None
        returncode = self.process.wait()
        with self._lock:
            self.state = "dead"
            invocation = self.current
            reason = self._kill_reason
            never_ran = self.init_ms is None
        init_failure: InvocationOutcome | None = None
        if invocation is not None:
            rid = invocation.request_id
            if reason == "timeout":
                error_type, status = "Sandbox.Timedout", "timeout"
                message = f"RequestId: {rid} Error: {self._timeout_text()}"
            else:
                error_type = "Runtime.OutOfMemory" if reason == "oom" else "Runtime.ExitError"
                status = "error"
                exit_text = _exit_text(returncode)
                message = f"RequestId: {rid} Error: Runtime exited with error: {exit_text}"
            outcome = InvocationOutcome(
                payload=platform_error_body(error_type, message),
                error_type=error_type,
                function_error="Unhandled",
                status=status,
            )
            self._complete(rid, outcome, dead=True)
        elif never_ran and reason != "shutdown":
            if self._init_error is not None:
                error_type, body = self._init_error
            elif reason == "timeout":
                error_type = "Sandbox.Timedout"
                body = platform_error_body(error_type, f"RequestId: Error: {self._timeout_text()}")
            else:
                error_type = "Runtime.OutOfMemory" if reason == "oom" else "Runtime.ExitError"
                message = f"RequestId: Error: Runtime exited with error: {_exit_text(returncode)}"
                body = platform_error_body(error_type, message)
            init_ms = (time.monotonic() - self._started_at) * 1000
            init_log = self._read_log(0)
            if init_log and not init_log.endswith("\n"):
                init_log += "\n"
            init_log += (
                f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: error\t"
                f"Error Type: {error_type}\n"
            )
            init_failure = InvocationOutcome(
                payload=body,
                error_type=error_type,
                function_error="Unhandled",
                status="error",
                log=init_log,
                init_ms=init_ms,
                executed_version=self.spec.version,
            )
        self.host.sandbox_exited(self, init_failure)
        self._server.stop()
