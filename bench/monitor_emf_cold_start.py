"""Cold-start cost of the live-metrics EMF line: Powertools `Metrics` vs a hand-written line.

Every variant runs in a fresh interpreter (no .pyc writing) and times, with perf_counter, the
import of its metrics code plus the emission of one answer's EMF document to /dev/null. The
"after Logger" variants first import Powertools' Logger, as the handler does at cold start.
Prints the median over N runs per variant.

    PYTHONPATH=$PWD /work/main/.venv/bin/python bench/monitor_emf_cold_start.py [runs]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LOGGER = """
from aws_lambda_powertools import Logger
Logger(service="bench")
"""

START = """
import sys, time
sink = open("/dev/null", "w")
started = time.perf_counter()
"""

POWERTOOLS = """
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
metrics = Metrics(namespace="BudgetExpenseMatcher", service="budget-expense-matcher")
metrics.add_dimension(name="model_version", value="2026.1")
metrics.add_metric(name="PairsScored", unit=MetricUnit.Count, value=12)
metrics.add_metric(name="MatchRate", unit=MetricUnit.NoUnit, value=0.25)
metrics.add_metric(name="ErrorItems", unit=MetricUnit.Count, value=0)
metrics.add_metric(name="LatencyMs", unit=MetricUnit.Milliseconds, value=3.2)
stdout, sys.stdout = sys.stdout, sink
metrics.flush_metrics()
sys.stdout = stdout
"""

HAND_WRITTEN = """
import json
names = {"PairsScored": "Count", "MatchRate": "None", "ErrorItems": "Count",
         "LatencyMs": "Milliseconds"}
values = {"PairsScored": 12, "MatchRate": 0.25, "ErrorItems": 0, "LatencyMs": 3.2}
document = {"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
    "Namespace": "BudgetExpenseMatcher", "Dimensions": [["service", "model_version"]],
    "Metrics": [{"Name": n, "Unit": u} for n, u in names.items()]}]},
    "service": "budget-expense-matcher", "model_version": "2026.1", **values}
sink.write(json.dumps(document) + "\\n")
"""

SHIPPED = """
from types import SimpleNamespace
from budget_matcher.live_metrics import LiveMetrics
items = [{"score": 0.9, "matched": True}] * 3 + [{"score": 0.1, "matched": False}] * 9
outcome = SimpleNamespace(items=items, model_version="2026.1", duration_ms=3.2)
LiveMetrics(stream=sink, dogstatsd="").emit(outcome)
"""

END = """
print((time.perf_counter() - started) * 1000)
"""

VARIANTS = {
    "cold, Powertools Metrics": START + POWERTOOLS,
    "cold, hand-written json line": START + HAND_WRITTEN,
    "after Logger, Powertools Metrics": LOGGER + START + POWERTOOLS,
    "after Logger, hand-written json line": LOGGER + START + HAND_WRITTEN,
    "after Logger, budget_matcher.live_metrics": LOGGER + START + SHIPPED,
}


def run(code: str, runs: int) -> float:
    """Median milliseconds of the timed part of `code` in fresh interpreters."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code + END],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    print(f"median of {runs} fresh interpreters: metrics import + one EMF document")
    for name, code in VARIANTS.items():
        print(f"  {name:45s} {run(code, runs):8.2f} ms")


if __name__ == "__main__":
    main()
