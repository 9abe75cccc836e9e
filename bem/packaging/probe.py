"""Run the handler in a fresh, isolated target interpreter (runtime_probe.py) and read back.

`python -I -S -B`: no environment variables of Python's, no site-packages, no user site, no
bytecode writes; sys.path is the standard library plus exactly the given directories.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from budget_matcher.contract import SEED_EXAMPLE

PROBE_SCRIPT = Path(__file__).with_name("runtime_probe.py")


# Environment of a Lambda sandbox the handler may read (no credentials, no network use).
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "budget-expense-matcher",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "BudgetExpenseMatcher",
    "LANG": "en_US.UTF-8",
}


class ProbeFailed(RuntimeError):
    """The handler could not be imported or did not answer in the target interpreter."""


@dataclass(frozen=True)
class ProbeResult:
    """What one isolated run reported."""

    response: Any
    modules: dict[str, str | None]
    first_response_seconds: float
    wall_seconds: float
    maxrss_kb: int
    python: str
    sys_path: list[str]


def run_probe(
    interpreter: Path,
    paths: list[Path],
    event: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    imports: list[str] | None = None,
    timeout: float = 120.0,
    cwd: Path | None = None,
) -> ProbeResult:
    """Import lambda_handler from `paths` in a fresh interpreter and score `event`."""
    with tempfile.TemporaryDirectory(prefix="bem-probe-") as scratch:
        event_path = Path(scratch) / "event.json"
        result_path = Path(scratch) / "result.json"
        event_path.write_text(json.dumps(SEED_EXAMPLE if event is None else event))
        spec = {
            "paths": [str(p) for p in paths],
            "event": str(event_path),
            "env": env or {},
            "imports": imports or [],
            "result": str(result_path),
        }
        child_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONDONTWRITEBYTECODE": "1",
            **LAMBDA_ENV,
        }
        command = [str(interpreter), "-I", "-S", "-B", str(PROBE_SCRIPT), json.dumps(spec)]
        started = time.time()
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env,
            cwd=str(cwd or scratch),
        )
        if done.returncode != 0 or not result_path.exists():
            tail = "\n".join((done.stderr or done.stdout).splitlines()[-15:])
            raise ProbeFailed(f"{interpreter} exited {done.returncode}:\n{tail}")
        data = json.loads(result_path.read_text())
    return ProbeResult(
        response=data["response"],
        modules=data["modules"],
        first_response_seconds=float(data["answered_at"]) - started,
        wall_seconds=time.time() - started,
        maxrss_kb=int(data["maxrss_kb"]),
        python=data["python"],
        sys_path=list(data["sys_path"]),
    )
