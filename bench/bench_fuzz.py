"""Fuzzing the handler: generated hostile payloads and AWS-shaped events, in several processes,
then the worst cases of ≤ 6 MB, each in a fresh process; against the old parsers' regular
expressions in the same run.

    .venv/bin/python bench/bench_fuzz.py [--cases 100000] [--processes 2] [--skip-worst]

Prints, for the generated cases (bench/fuzz_payloads.py, reproducible by number): unhandled
exceptions, internal errors caught by the handler's last guard, answers that are not strict
UTF-8 JSON, lost pairs (a pair of the request with no item in the answer, its user not refused
as a whole), extra pairs, the slowest case and each process's peak RSS. Then, per worst case
(payload size, seconds, peak RSS of a fresh process that imports the handler and answers it
once), and the old quadratic patterns on growing inputs next to the new parsers. Exit status 1
when a generated case raised, answered non-strict JSON or lost a pair.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import re
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

REFUSED_WHOLE = ("too_many_pairs", "answer_too_large")


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _quiet_handler() -> Any:
    """The handler with its side paths writing nowhere (no database, no log lines)."""
    os.environ["BEM_RESULTS_LOG"] = "0"
    os.environ["BEM_EMF_ENABLED"] = "0"
    import lambda_handler
    from budget_matcher import side_paths
    from budget_matcher.live_metrics import LiveMetrics
    from budget_matcher.request_log import logger
    from budget_matcher.results_sink import ResultsSink

    side_paths.configure(ResultsSink(db_url="", log_lines=False), LiveMetrics(emf_enabled=False))
    logger.setLevel("CRITICAL")
    return lambda_handler


def _no_constants(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def answer_items(answer: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The items of an answer (the handler's bytes, or a Python value) and, when it is not
    strict UTF-8 JSON, why."""
    try:
        if isinstance(answer, bytes):
            answer = json.loads(answer.decode("utf-8"), parse_constant=_no_constants)
        json.dumps(answer, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, UnicodeError) as error:
        return [], f"answer: {type(error).__name__}: {str(error)[:80]}"
    document = answer
    if isinstance(answer, dict) and "statusCode" in answer:
        try:
            document = json.loads(answer["body"], parse_constant=_no_constants)
            answer["body"].encode("utf-8")
        except (ValueError, TypeError, UnicodeEncodeError) as error:
            return [], f"body: {type(error).__name__}: {str(error)[:80]}"
    if isinstance(document, dict) and isinstance(document.get("results"), list):
        document = document["results"]
    return (document if isinstance(document, list) else []), None


def check(case: Any, answer: Any) -> dict[str, Any]:
    """Problems of one answer: non-strict JSON, lost and extra pairs, internal errors."""
    items, problem = answer_items(answer)
    found: dict[str, Any] = {"bad_json": problem, "lost": 0, "extra": 0, "internal": 0}
    found["internal"] = sum(
        1 for item in items if isinstance(item, dict) and _code(item) == "internal_error"
    )
    if case.expected is None or problem is not None:
        return found
    answered: Counter[tuple[Any, Any, Any]] = Counter()
    refused = set()
    for item in items:
        if item.get("budget_id") is not None and item.get("itemization_id") is not None:
            answered[(item.get("user_id"), item["budget_id"], item["itemization_id"])] += 1
        elif _code(item) in REFUSED_WHOLE:
            refused.add(item.get("user_id"))
    for key, count in case.expected.items():
        if key[0] not in refused:
            found["lost"] += max(0, count - answered[key])
    found["extra"] = sum(max(0, n - case.expected[key]) for key, n in answered.items())
    return found


def _code(item: dict[str, Any]) -> str | None:
    error = item.get("error")
    return error.get("code") if isinstance(error, dict) else None


def run_cases(numbers: range) -> dict[str, Any]:
    """Worker: generate and answer the cases `numbers`; the tallies."""
    import warnings

    from fuzz_payloads import case as make_case

    # Amounts near 1e308 overflow the window sums to NaN (a missing feature): expected here.
    warnings.simplefilter("ignore", RuntimeWarning)
    handler = _quiet_handler().handler
    handler(make_case(0).event, None)  # warm: imports, model, stopwords
    tally: dict[str, Any] = {
        "cases": 0,
        "kinds": Counter(),
        "raised": [],
        "bad_json": [],
        "lost": 0,
        "lost_cases": [],
        "extra": 0,
        "internal": 0,
        "slowest": (0.0, -1, ""),
    }
    for number in numbers:
        case = make_case(number)
        tally["cases"] += 1
        tally["kinds"][case.kind] += 1
        started = time.perf_counter()
        try:
            answer = handler(case.event, None)
        except BaseException as error:  # what the fuzzing is looking for
            tally["raised"].append((number, f"{type(error).__name__}: {str(error)[:100]}"))
            continue
        elapsed = time.perf_counter() - started
        if elapsed > tally["slowest"][0]:
            tally["slowest"] = (elapsed, number, case.kind)
        found = check(case, answer)
        if found["bad_json"]:
            tally["bad_json"].append((number, found["bad_json"]))
        if found["lost"]:
            tally["lost_cases"].append(number)
        tally["lost"] += found["lost"]
        tally["extra"] += found["extra"]
        tally["internal"] += found["internal"]
    tally["max_rss_mib"] = peak_rss_mib()
    tally["pid"] = os.getpid()
    return tally


def fuzz(n_cases: int, processes: int) -> bool:
    """Run the generated cases over `processes` workers; print the figures; True when clean."""
    step = -(-n_cases // (processes * 8))
    chunks = [range(start, min(start + step, n_cases)) for start in range(0, n_cases, step)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        tallies = pool.map(run_cases, chunks, chunksize=1)
    elapsed = time.perf_counter() - started
    kinds: Counter[str] = sum((t["kinds"] for t in tallies), Counter())
    raised = [entry for t in tallies for entry in t["raised"]]
    bad_json = [entry for t in tallies for entry in t["bad_json"]]
    lost_cases = [n for t in tallies for n in t["lost_cases"]]
    slowest = max(t["slowest"] for t in tallies)
    print(
        f"generated cases: {sum(t['cases'] for t in tallies):,} in {elapsed:.1f} s, "
        f"{processes} processes"
    )
    print("  by kind: " + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))
    print(f"  unhandled exceptions:        {len(raised)}  {raised[:3]}")
    print(f"  internal errors (guarded):   {sum(t['internal'] for t in tallies)}")
    print(f"  non-strict UTF-8 JSON:       {len(bad_json)}  {bad_json[:3]}")
    print(
        f"  lost pairs:                  {sum(t['lost'] for t in tallies)}  cases {lost_cases[:5]}"
    )
    print(f"  extra pairs:                 {sum(t['extra'] for t in tallies)}")
    print(
        f"  slowest case:                {slowest[0] * 1000:.1f} ms (case {slowest[1]}, "
        f"{slowest[2]})"
    )
    peaks: dict[int, float] = {}
    for t in tallies:
        peaks[t["pid"]] = max(peaks.get(t["pid"], 0.0), t["max_rss_mib"])
    print("  peak RSS per process (MiB):  " + ", ".join(f"{v:.0f}" for v in peaks.values()))
    return not raised and not bad_json and not lost_cases


def worst_case(name: str) -> tuple[str, int, float, float, int]:
    """Worker (fresh process): answer one crafted payload; (name, bytes, s, peak MiB, items)."""
    from fuzz_worst import worst_payload

    from budget_matcher.contract import SEED_EXAMPLE

    handler = _quiet_handler().handler
    handler(SEED_EXAMPLE, None)  # warm (stopwords, caches): the figure is a warm answer
    text = worst_payload(name)
    event = {"httpMethod": "POST", "requestContext": {}, "body": text}
    started = time.perf_counter()
    answer = handler(event, None)
    elapsed = time.perf_counter() - started
    items, problem = answer_items(answer)
    assert problem is None, problem
    peak = peak_rss_mib()
    return name, len(text.encode()), elapsed, peak, len(items)


def worst(names: list[str]) -> None:
    """Each crafted payload in a fresh process: size, time, peak RSS."""
    print("worst cases (fresh process each; the handler's time; RSS includes imports + model):")
    context = multiprocessing.get_context("spawn")
    for name in names:
        with context.Pool(1, maxtasksperchild=1) as pool:
            label, size, seconds, peak, n_items = pool.apply(worst_case, (name,))
        print(
            f"  {label:<34} {size / 1e6:5.2f} MB  {seconds:6.3f} s  {peak:6.0f} MiB  "
            f"{n_items:,} items"
        )


def regex_against_old() -> None:
    """The old amount pattern (quadratic) against the new parser, on growing inputs."""
    from budget_matcher.values import ValueProblem, parse_amount, parse_datetime

    old_currency = re.compile(r"^(?:[A-Z]{3}\s*)?[$€£¥]?\s*|\s*(?:[$€£¥]|[A-Z]{3})?$")
    old_zone = re.compile(r"^(?P<stamp>.+?)\s+(?P<zone>[A-Za-z_]+(?:/[A-Za-z_+\-0-9]+)+|UTC|GMT)$")
    print("old patterns (naive) against the new parsers, '1' + n spaces + 'x':")
    for n in (1_000, 2_000, 4_000, 8_000):
        text = "1" + " " * n + "x"
        started = time.perf_counter()
        old_currency.sub("", text)
        old_amount = time.perf_counter() - started
        started = time.perf_counter()
        old_zone.match("a" + " " * n + "!")
        old_date = time.perf_counter() - started
        started = time.perf_counter()
        for parse in (parse_amount, parse_datetime):
            with contextlib.suppress(ValueProblem):
                parse(text + str(n))
        new = time.perf_counter() - started
        print(
            f"  n={n:>6,}: old amount {old_amount * 1000:9.1f} ms, old date "
            f"{old_date * 1000:8.1f} ms; new both {new * 1000:.3f} ms"
        )


def lean_model_dir(directory: Path) -> Path:
    """The model of record as deploy.zip serves it, in `directory`: the lean form and its trees
    compiled for this machine (proved as ./build proves them; without a compiler, numpy)."""
    import shutil

    from bem.model.lean_export import export_model_dir
    from bem.packaging import tree_compiler

    for name in ("model.json", "model.joblib"):
        shutil.copy2(ROOT / "model" / name, directory / name)
    export_model_dir(directory)
    arch = tree_compiler.host_arch()
    try:
        print(f"compiled trees: {tree_compiler.stage(directory, arch or 'x86_64')}")
    except tree_compiler.CompileFailed as error:
        print(f"compiled trees unavailable ({error}): the numpy evaluator serves")
    return directory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--skip-worst", action="store_true")
    args = parser.parse_args()
    print(f"bench_fuzz {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    import tempfile

    temporary = tempfile.TemporaryDirectory(prefix="bem-fuzz-")
    os.environ["BEM_MODEL_DIR"] = str(lean_model_dir(Path(temporary.name)))
    os.environ["BEM_MODEL_FORM"] = "lean"  # the workers inherit both
    clean = fuzz(args.cases, args.processes)
    if not args.skip_worst:
        from fuzz_worst import WORST_CASES

        worst(list(WORST_CASES))
        regex_against_old()
    temporary.cleanup()
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
