"""Batch scoring on Spark (local mode) against the single-process scorer, in one run.

    .venv/bin/python bench/bench_batch.py [--pairs 1000000] [--master local[2]] [--buckets N]
        [--model-dir model] [--form sklearn|lean]

`--form lean` serves the compiled trees when the model directory holds them (compile them with
`python -m bem.packaging.tree_compiler DIR/model_lean.npz`), as the Lambda does.

Generates users until their candidate pairs reach --pairs, writes them as budgets/items
Parquet and as request lines (one user's payload per JSON line), then times: (1) the
single-process scorer — `budget_matcher.scoring.score_payload` over all users in one call, one
core; (2) `bem batch score` of the tables in local mode, cold (first job: workers start and
load the model) and warm (the same job again), with and without the pairs' inputs
(`--inputs`); (3) the request lines, warm, scored where they are read (no shuffle), with and
without inputs; (4) the naive grouping, one `applyInPandas` group per user, warm. Prints
pairs/s, pairs per CPU-second against the scorer, and the peak resident memory of the whole
job (driver, JVM and Python workers, sampled every 0.1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

# One OpenMP/BLAS thread, as in the Lambda and in the Spark workers (session.BASE_SETTINGS).
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import predict  # noqa: E402
from bem.batch import jobs, worker  # noqa: E402
from bem.batch.session import get_session  # noqa: E402
from bem.batch.testing import user_payloads, user_tables, write_tables  # noqa: E402
from bem.synth.knobs import SynthConfig  # noqa: E402
from bem.synth.users import SynthUser, generate_users  # noqa: E402
from budget_matcher.scoring import score_payload  # noqa: E402


def users_for(pairs: int, seed: int = 21) -> list[SynthUser]:
    """Generated users, in blocks of 200, until their pairs reach `pairs`."""
    users: list[SynthUser] = []
    total, block = 0, 0
    while total < pairs:
        for user in generate_users(SynthConfig(users=200, seed=seed + block)):
            user.user_id = f"{user.user_id}-b{block}"
            users.append(user)
            total += len(user.budgets) * len(user.items)
            if total >= pairs:
                break
        block += 1
    return users


def _tree(root: int) -> list[list[str]]:
    """The /proc stat fields of `root` and all its descendants: [comm, state, ppid, ...]."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                head, tail = handle.read().rsplit(")", 1)
            fields = [head.split("(", 1)[1], *tail.split()]
        except OSError:
            continue
        children.setdefault(int(fields[2]), []).append(int(entry))
        stats[int(entry)] = fields
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid in stats:
            found.append(stats[pid])
        stack.extend(children.get(pid, []))
    return found


def _tree_rss(root: int) -> int:
    """Resident bytes of the descendants of `root` (the JVM and the Python workers)."""
    descendants = _tree(root)[1:]  # _tree lists root first
    return sum(int(fields[22]) for fields in descendants) * os.sysconf("SC_PAGE_SIZE")


def _tree_cpu(root: int) -> dict[str, float]:
    """CPU seconds (user + system, with reaped children) of `root` and its descendants, by
    kind: "jvm" (java), "python" (this driver and the Python workers)."""
    used = {"jvm": 0.0, "python": 0.0}
    for fields in _tree(root):
        kind = "jvm" if fields[0] == "java" else "python"
        used[kind] += sum(int(f) for f in fields[12:16]) / os.sysconf("SC_CLK_TCK")
    return used


class PeakSampler:
    """Samples the process tree's resident memory in a thread; `.peak` is the maximum."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.peak = interval, 0
        self.cpu = 0.0  # CPU seconds the sampling thread used (not the job's: subtracted)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(os.getpid()))
            self.cpu = time.thread_time()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--buckets", type=int, default=None, help="Default: the job's.")
    parser.add_argument("--skip-per-user", action="store_true", help="Skip the naive grouping.")
    parser.add_argument(
        "--model-dir", default="model", help="Model directory (compile its trees for `lean`)."
    )
    parser.add_argument("--form", choices=["sklearn", "lean"], default=None, help="Model form.")
    args = parser.parse_args()
    cores = int(args.master.split("[")[1].rstrip("]")) if "[" in args.master else os.cpu_count()
    cores = cores or 1

    started = time.perf_counter()
    users = users_for(args.pairs)
    budgets, items = user_tables(users)
    n_pairs = sum(len(u.budgets) * len(u.items) for u in users)
    print(
        f"data: {len(users)} users, {len(budgets)} budgets, {len(items)} line items, "
        f"{n_pairs} candidate pairs (generated in {time.perf_counter() - started:.1f} s)"
    )

    model = predict.load_model(Path(args.model_dir), args.form)
    payload = user_payloads(budgets, items)
    score_payload({"users": payload["users"][:5]}, model)  # warm caches and imports
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started, cpu = time.perf_counter(), time.process_time()
    # The batch's bounds, not a Lambda call's (whose 6 MB answer would refuse most users).
    single = score_payload(payload, model, answer_bytes=worker.NO_ANSWER_BOUND)
    single_s, single_cpu = time.perf_counter() - started, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    single_rate = n_pairs / single_cpu
    print(
        f"single process, scorer only (score_payload, model {model.version} {model.form}, "
        f"evaluator {model.evaluator}): "
        f"{single_s:.1f} s wall, {single_cpu:.1f} s CPU = {single_rate:,.0f} pairs per "
        f"CPU-second; peak RSS {after / 1e6:,.0f} MB (+{(after - before) / 1e6:,.0f} MB)"
    )
    expected_items = len(single.items)
    del single
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        b_path, i_path = write_tables(budgets, items, Path(tmp), files=4)
        requests = Path(tmp) / "requests.jsonl"
        requests.write_text("".join(json.dumps(user) + "\n" for user in payload["users"]))
        del payload
        started, cpu = time.perf_counter(), time.process_time()
        job_rows = single_process_job(
            b_path, i_path, Path(tmp) / "single.parquet", args.model_dir, args.form
        )
        job_s, job_cpu = time.perf_counter() - started, time.process_time() - cpu
        assert job_rows == expected_items, (job_rows, expected_items)
        job_rate = n_pairs / job_cpu
        print(
            f"single process, the whole job (read Parquet, score, result rows, write Parquet): "
            f"{job_s:.1f} s wall, {job_cpu:.1f} s CPU = {job_rate:,.0f} pairs per CPU-second"
        )
        tables = jobs.JobInputs(budgets=str(b_path), items=str(i_path))
        lines = jobs.JobInputs(requests=str(requests))
        with PeakSampler() as sampler:
            started = time.perf_counter()
            spark = get_session(args.master)
            jobs.ship_code(spark)
            print(
                f"spark {spark.version} {args.master}: session in "
                f"{time.perf_counter() - started:.1f} s"
            )
            runs = [
                ("tables cold", tables, args.buckets, False),
                ("tables warm", tables, args.buckets, False),
                ("tables warm, --inputs", tables, args.buckets, True),
                ("request lines warm", lines, 0, False),
                ("request lines warm, --inputs", lines, 0, True),
            ]
            if not args.skip_per_user:
                runs.append(("tables warm, one group per user", tables, 0, False))
            for label, inputs, buckets, with_inputs in runs:
                run = worker.ScoreRun(
                    f"bench-{label}", args.model_dir, form=args.form, with_inputs=with_inputs
                )
                started, cpu_at = time.perf_counter(), _tree_cpu(os.getpid())
                sampling_at = sampler.cpu
                report = jobs.run_score(spark, inputs, args.model_dir, f"{tmp}/out", run, buckets)
                seconds = time.perf_counter() - started
                cpu_now = _tree_cpu(os.getpid())
                jvm, python = (cpu_now[k] - cpu_at[k] for k in ("jvm", "python"))
                python -= sampler.cpu - sampling_at  # the memory sampler's own CPU
                used = jvm + python
                assert report.rows == expected_items, (report.rows, expected_items)
                per_cpu = report.scored / used
                groups = (
                    "no shuffle"
                    if inputs.requests
                    else f"{buckets or 'default'} buckets"
                    if buckets != 0
                    else f"{len(users)} groups"
                )
                print(
                    f"spark {label} ({groups}): {seconds:.1f} s wall = "
                    f"{report.scored / seconds:,.0f} pairs/s on {cores} cores; {used:.1f} s CPU "
                    f"(JVM {jvm:.1f}, Python {python:.1f}) = {per_cpu:,.0f} pairs per CPU-second = "
                    f"{per_cpu / single_rate:.2f} x the scorer, {per_cpu / job_rate:.2f} x the "
                    f"single-process job"
                )
            spark.stop()
        driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(
            f"peak RSS of the Spark job: JVM + Python workers {sampler.peak / 1e6:,.0f} MB "
            f"(sampled every 0.1 s); this driver process {driver / 1e6:,.0f} MB (it also held "
            f"the single-process runs)"
        )


def single_process_job(
    budgets: Path, items: Path, out: Path, model_dir: str, form: str | None
) -> int:
    """The same job without Spark: both tables into one process, one call, one Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from budget_matcher import contract as c

    records = []
    for kind, path in (("budget", budgets), ("item", items)):
        table = pq.read_table(path)
        fields = [f for f in table.column_names if f not in ("user_id", "seq")]
        for row in table.to_pylist():
            record = {f: row[f] for f in fields if row[f] is not None}
            records.append((row[c.USER_ID_KEY], kind, row["seq"], json.dumps(record)))
    frame = pa.table(list(zip(*records, strict=True)), names=list(worker.RECORD_COLUMNS))
    result = worker.score_records(frame, worker.ScoreRun("bench-single", model_dir, form=form))
    pq.write_table(result, out)
    return result.num_rows


if __name__ == "__main__":
    main()
