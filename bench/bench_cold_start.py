"""Cold start of the built zip, this checkout's HEAD against another revision, alternating.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_cold_start.py --against REV [--runs 10]
        [--python 3.12]

Builds `deploy.zip` twice with `./build` (HEAD, and `./build --revision REV`: the same build
code, the other revision's code and model), unzips each into its own task directory as Lambda
does, then starts fresh isolated interpreters (`python -I -S -B`, the build's verify probe:
`bem.packaging.probe.run_probe`) on the seed example, alternating (HEAD, REV, HEAD, REV, …)
so that both see the same load. Per package: zip size, the first answer's wall time from the
spawn (median and fastest of the runs), the child's CPU time (user + system, median: what the
process itself spent, steadier than wall time on a shared machine) and peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bem.packaging import targets  # noqa: E402
from bem.packaging.assemble import extract_zip  # noqa: E402
from bem.packaging.probe import run_probe  # noqa: E402
from bem.packaging.verify import check_response  # noqa: E402


def build(output: Path, staging: Path, python: str, revision: str | None) -> float:
    """`./build` into `output`; its wall seconds."""
    command = [str(ROOT / "build"), "--python", python, "--output", str(output)]
    command += ["--staging", str(staging)]
    if revision:
        command += ["--revision", revision]
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    return time.perf_counter() - started


def child_cpu() -> float:
    """CPU seconds (user + system) of every child waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def probe(interpreter: Path, task: Path) -> tuple[float, float, float]:
    """One cold start of the package in `task`: wall s to the first answer, CPU s, RSS MiB."""
    before = child_cpu()
    result = run_probe(interpreter, [task], cwd=task)
    check_response(result.response)
    return result.first_response_seconds, child_cpu() - before, result.maxrss_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="a git revision to compare with")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--python", default="3.12")
    args = parser.parse_args()
    interpreter = targets.find_interpreter(args.python)
    names = ("HEAD", args.against)
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        work = Path(scratch)
        tasks = {}
        for name in names:
            output = work / f"{name}.zip"
            revision = None if name == "HEAD" else args.against
            seconds = build(output, work / f"staging-{name}", args.python, revision)
            sizes[name] = output.stat().st_size
            tasks[name] = work / f"task-{name}"
            extract_zip(output, tasks[name])
            print(f"built {name} in {seconds:.1f} s", file=sys.stderr)
        for name in names:  # one unmeasured start each: the page cache holds both trees
            probe(interpreter, tasks[name])
        for _ in range(args.runs):
            for name in names:
                figures[name].append(probe(interpreter, tasks[name]))
    load = os.getloadavg()
    print(
        f"python {args.python}; {args.runs} cold starts each, alternating; "
        f"{time.strftime('%Y-%m-%d %H:%M')}; load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"{'package':14s} {'zip MB':>7s} {'wall median':>12s} {'wall min':>9s} "
        f"{'CPU median':>11s} {'peak RSS MiB':>13s}"
    )
    for name in names:
        walls, cpus, rss = zip(*figures[name], strict=True)
        print(
            f"{name[:14]:14s} {sizes[name] / 1e6:7.2f} {statistics.median(walls):11.3f}s "
            f"{min(walls):8.3f}s {statistics.median(cpus):10.3f}s {max(rss):13.1f}"
        )


if __name__ == "__main__":
    main()
