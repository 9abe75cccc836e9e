"""Peak memory of checking a large history: `bem data check` against the naive way.

    PYTHONPATH=. .venv/bin/python bench/bench_history_check.py [--rows 1000000] [--keep FILE]

Writes a pairs-shaped history of --rows rows (generated users, renumbered until the rows are
there; about 170 bytes a row), then runs, each in its own process: `bem data check` (two
streaming passes, ids kept, fields not) and the naive way (the whole file decoded, every row
kept as a dict, then every value read — what the check did before it streamed). Prints each
one's peak RSS (ru_maxrss of the child) and wall time.
"""

from __future__ import annotations

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAIVE = """
import csv, io, sys
from pathlib import Path
from budget_matcher import contract
from budget_matcher.values import ValueProblem, parse_amount, parse_datetime, parse_text
text = Path(sys.argv[1]).read_bytes().decode("utf-8-sig")
reader = csv.reader(io.StringIO(text, newline=""))
header = next(reader)
rows = [{n: (c or None) for n, c in zip(header, record)} for record in reader]
users = {}
for row in rows:
    try:
        for name in contract.AMOUNT_FIELDS:
            parse_amount(row.get(name))
        for name in contract.DATE_FIELDS:
            parse_datetime(row.get(name))
        parse_text(row.get(contract.ITEM_VENDOR))
    except ValueProblem:
        continue
    user = users.setdefault(row["user_id"], (set(), set()))
    user[0].add(row["budget_id"]); user[1].add(row["itemization_id"])
print(len(rows), "rows,", sum(len(b) * len(i) for b, i in users.values()), "pairs")
"""


def write_history(path: Path, n_rows: int) -> None:
    """A pairs-shaped history of `n_rows` rows: generated users, copied under new ids."""
    from bem.synth.knobs import NoiseKnobs, SynthConfig
    from bem.synth.users import generate_users, user_rows

    knobs = replace(NoiseKnobs(), formats=0.0)
    users = generate_users(SynthConfig(users=200, seed=3, knobs=knobs))
    rows = [row for user in users for row in user_rows(user)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        written, copy = 0, 0
        while written < n_rows:
            for row in rows:
                if written == n_rows:
                    break
                out = dict(row)
                for key in ("user_id", "budget_id", "itemization_id"):
                    out[key] = f"{row[key]}-{copy}"
                writer.writerow(out)
                written += 1
            copy += 1


def measure(command: list[str]) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds, last output line) of one child process."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if run.returncode != 0:
        raise SystemExit(f"{command[:4]} failed: {run.stderr[-2000:]}")
    last = (run.stdout.strip() or run.stderr.strip()).splitlines()[-1]
    return max(peak, before) / 1024, seconds, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="Write the history here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = args.keep or Path(directory) / "history.csv"
        started = time.perf_counter()
        write_history(path, args.rows)
        size = path.stat().st_size / 1e6
        print(f"history: {args.rows:,} rows, {size:.0f} MB ({time.perf_counter() - started:.0f} s)")
        # The naive way first: ru_maxrss of children is a maximum over all of them so far.
        runs = [
            ("naive (whole file, rows as dicts)", [sys.executable, "-c", NAIVE, str(path)]),
            (
                "bem data check (streamed)",
                [sys.executable, "-m", "bem", "data", "check", str(path)],
            ),
        ]
        results = []
        for name, command in reversed(runs):  # the smaller first, so each maximum is its own
            results.append((name, *measure(command)))
        for name, peak, seconds, last in results:
            print(f"{name:<36} peak RSS {peak:>7.0f} MB  {seconds:>6.1f} s  ({last})")


if __name__ == "__main__":
    main()
