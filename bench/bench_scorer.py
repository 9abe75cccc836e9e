"""The scorer near the machine's limit: every figure of the compiled-trees work in one run.

    PYTHONPATH=. .venv/bin/python bench/bench_scorer.py [--zip deploy.zip] [--pairs 80000]

Prints, side by side on this machine (one core, one OpenMP thread; times are this process's CPU
time, the fastest of --repeats, since the machine is shared; the request also its wall time):
  1. tree evaluation alone on >= 10k held-out pairs: ns per (row x tree) of the compiled
     library (also each instruction-set variant it carries and the old nested-if scheme), the
     numpy evaluator, scikit-learn's predict_proba (and tl2cgen when installed), and the max
     |score - predict_proba| of each;
  2. one 80k-pair request of generated users, decode + handler + encode, with the built zip's model
     (the code is this checkout, which the zip was built from): compiled trees with result
     logging off and with the default side paths, the numpy evaluator, the scikit-learn form,
     and the naive per-pair path (extrapolated from a prefix);
  3. pairs per second per core; the seed example's warm p50; json against orjson on the answer;
  4. the result log modes: bytes and CPU per pair, cost per million pairs;
  5. the zip: sizes, cold start to first answer, peak RSS (the build's own verify), and
     whether two builds of HEAD give the same bytes (with --rebuild).
Without --zip the script builds one (./build) into a temporary directory.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from bench_core import NaiveScorer, batch_payload, percentile, time_seed  # noqa: E402
from bench_support import as_the_runtime_sends, quiet_stdout  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import lambda_handler  # noqa: E402
import predict  # noqa: E402
from bem.packaging.tree_compiler import VARIANTS, compile_library, variant_raw  # noqa: E402
from budget_matcher import side_paths  # noqa: E402
from budget_matcher.compiled_model import CompiledModel  # noqa: E402
from budget_matcher.lean_model import LeanModel  # noqa: E402
from budget_matcher.result_rows import rows_from_outcome  # noqa: E402
from budget_matcher.results_sink import ResultsSink  # noqa: E402

LAMBDA_PER_GB_SECOND = 0.0000166667  # USD, x86_64, us-west-2, 2026-11
LAMBDA_MEMORY_GB = 1769 / 1024  # one full vCPU (bem deploy's default)
CLOUDWATCH_INGEST_PER_GB = 0.50  # USD per GB of log events ingested (standard class)


def timed(run: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest of `repeats` runs. On a shared machine the CPU time
    of this process (time.process_time) is the work itself; wall time adds the waiting."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return min(walls), min(cpus)


def best(run: Callable[[], Any], repeats: int) -> float:
    """CPU seconds of the fastest of `repeats` runs."""
    return timed(run, repeats)[1]


def model_dir_from_zip(zip_path: Path, work: Path) -> Path:
    """The zip's model/ unpacked, plus the model of record's pickle (for the sklearn form)."""
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            if name.startswith("model/"):
                archive.extract(name, work)
    (work / "model" / predict.PICKLE_FILE).write_bytes((ROOT / "model/model.joblib").read_bytes())
    return work / "model"


def build_zip(work: Path) -> tuple[Path, dict[str, Any]]:
    """./build into `work`; returns the zip and the build report."""
    output = work / "deploy.zip"
    done = subprocess.run(
        [str(ROOT / "build"), "--output", str(output), "--staging", str(work / "staging")],
        cwd=ROOT,
        env={**os.environ, "BEM_BUILD_PYTHON": sys.executable},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"./build failed: {done.stderr[-3000:]}")
    report = next((work / "staging").glob("*/build-report.json"))
    return output, json.loads(report.read_text())


def tree_figures(model_dir: Path, rows: np.ndarray, repeats: int) -> None:
    """Section 1: tree evaluation alone, ns per (row x tree) and exactness."""
    import joblib

    lean_path = model_dir / predict.LEAN_FILE
    lean = LeanModel.load(lean_path)
    compiled = CompiledModel.load(lean_path, model_dir / predict.TREES_FILE)
    pipeline = joblib.load(model_dir / predict.PICKLE_FILE)
    n_trees = sum(int(m["n_trees"]) for m in lean.meta["members"])
    cells = rows.shape[0] * n_trees
    work = tempfile.TemporaryDirectory(prefix="bench-trees-")
    nested = CompiledModel.load(
        lean_path, compile_library(lean_path, Path(work.name) / "nested.so", scheme="nested")
    )
    with threadpool_limits(limits=1):
        expected = pipeline.predict_proba(rows)[:, 1]
        evaluators: dict[str, Callable[[], Any]] = {
            "compiled C (this build)": lambda: compiled.predict_proba_positive(rows),
            "compiled C, raw sums only": lambda: compiled.raw_scores(rows)[:, 0],
            **{
                f"  {variant} code, raw sums": (
                    lambda v=variant: variant_raw(compiled.library, v, rows, 1)  # type: ignore[misc]
                )
                for variant in VARIANTS
                if variant_raw(compiled.library, variant, rows[:1], 1) is not None
            },
            "  nested ifs (old), raw sums": lambda: nested.raw_scores(rows)[:, 0],
            "numpy evaluator": lambda: lean.predict_proba_positive(rows),
            "scikit-learn predict_proba": lambda: pipeline.predict_proba(rows)[:, 1],
        }
        print(f"\n1. tree evaluation alone: {rows.shape[0]} held-out pairs x {n_trees} trees")
        for name, run in evaluators.items():
            seconds = best(run, repeats)
            line = f"   {name:28s} {seconds * 1e9 / cells:7.2f} ns/(row x tree)"
            if "raw" not in name:
                diff = float(np.max(np.abs(run() - expected)))
                line += f"  {rows.shape[0] / seconds / 1e6:6.2f} M rows/s  max|diff| {diff:.3g}"
            print(line)
    size = (model_dir / predict.TREES_FILE).stat().st_size
    print(f"   library {size} bytes (nested ifs: {nested.library.stat().st_size} bytes)")
    work.cleanup()
    tl2cgen_figure(pipeline, rows, n_trees, repeats)


def tl2cgen_figure(pipeline: Any, rows: np.ndarray, n_trees: int, repeats: int) -> None:
    """tl2cgen's compiled library of the first member's trees (raw margins), when installed."""
    try:
        import tl2cgen
        import treelite
    except ImportError:
        print("   tl2cgen                      not installed (pip install tl2cgen treelite)")
        return
    from bem.model.lean_export import _members, _split_pipeline, _unwrap_frozen

    imputer, final = _split_pipeline(pipeline)
    hgb = _unwrap_frozen(_members(final)[0][0])
    X = imputer.transform(rows) if imputer is not None else rows
    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        model = treelite.sklearn.import_model(hgb)
        tl2cgen.export_lib(model, toolchain="gcc", libpath=f"{work}/tl.so", nthread=1)
        compile_s = time.perf_counter() - started
        predictor = tl2cgen.Predictor(f"{work}/tl.so", nthread=1)
        matrix = tl2cgen.DMatrix(np.ascontiguousarray(X), dtype="float64")
        seconds = best(lambda: predictor.predict(matrix, pred_margin=True), repeats)
        margin = np.asarray(predictor.predict(matrix, pred_margin=True)).reshape(-1)
    expected = hgb._raw_predict(X)[:, 0]
    trees = len(hgb._predictors)
    print(
        f"   {'tl2cgen 1.0 (member 0 margin)':28s} {seconds * 1e9 / (rows.shape[0] * trees):7.2f} "
        f"ns/(row x tree)  compile {compile_s:.1f} s  max|margin diff| "
        f"{float(np.max(np.abs(margin - expected))):.3g} on {int(np.sum(margin != expected))} rows"
    )


def handler_run(body: str) -> Callable[[], int]:
    """decode + handler + encode of one request, as the runtime does it; returns bytes out."""

    def run() -> int:
        return len(as_the_runtime_sends(lambda_handler.handler(json.loads(body), None)))

    return run


def serve_as(form: str, evaluator: str, results_log: str) -> predict.LoadedModel:
    """Reload the service's model and side paths under these settings."""
    os.environ["BEM_MODEL_FORM"] = form
    os.environ["BEM_TREE_EVALUATOR"] = evaluator
    os.environ["BEM_RESULTS_LOG"] = results_log
    predict.reset_model_cache()
    side_paths.configure()
    return predict.get_model()


def request_figures(payload: dict[str, Any], repeats: int, naive_pairs: int) -> float:
    """Section 2: the 80k request end to end under each evaluator; returns the best time."""
    body = json.dumps(payload)
    n_pairs = sum(
        len(u["budgets"]) * len(u["all_user_expense_lineitems"]) for u in payload["users"]
    )
    print(
        f"\n2. one request: {len(payload['users'])} users, {n_pairs} pairs, "
        f"{len(body) / 1e6:.2f} MB in; decode + handler + encode (fastest of {repeats})"
    )
    runs = [
        ("compiled, result logging off", "lean", "auto", "off"),
        ("compiled, default side paths", "lean", "auto", "auto"),
        ("numpy evaluator, logging off", "lean", "numpy", "off"),
        ("scikit-learn form, logging off", "sklearn", "auto", "off"),
        ("compiled, log lines gzip", "lean", "auto", "gzip"),
        ("compiled, log lines full", "lean", "auto", "full"),
    ]
    figures: dict[str, float] = {}
    with quiet_stdout(), threadpool_limits(limits=1):
        for name, form, evaluator, results_log in runs:
            model = serve_as(form, evaluator, results_log)
            run = handler_run(body)
            run()
            figures[name + " wall"], figures[name] = timed(run, repeats)
            figures[name + " evaluator"] = model.evaluator  # type: ignore[assignment]
    for name, *_ in runs:
        seconds = figures[name]
        print(
            f"   {name:32s} {seconds:6.3f} s CPU ({figures[name + ' wall']:6.3f} s wall)  "
            f"{n_pairs / seconds / 1e3:4.0f} k pairs/s per core "
            f"(evaluator {figures[name + ' evaluator']})"
        )
    model = serve_as("sklearn", "auto", "off")
    naive = NaiveScorer(model)
    start = time.process_time()
    scored = naive.score(payload, naive_pairs)
    per_pair = (time.process_time() - start) / scored
    print(
        f"   {'naive per-pair path':32s} {per_pair * n_pairs:6.1f} s  "
        f"(extrapolated from {scored} pairs, {per_pair * 1e3:.2f} ms/pair)"
    )
    return figures["compiled, result logging off"]


def stage_figures(payload: dict[str, Any], repeats: int) -> None:
    """Section 2b: each stage of the compiled request alone (CPU ms, fastest of `repeats`)."""
    from budget_matcher import encoding, responses
    from budget_matcher.decisions import decide
    from budget_matcher.features import compute_features
    from flattened_data_points import FlattenedDataPoints

    model = serve_as("lean", "auto", "off")
    body = json.dumps(payload)
    decoded = json.loads(body)
    batch = FlattenedDataPoints(decoded, answer_bytes=lambda_handler.ANSWER_BYTES).all()
    X = compute_features(batch.pairs)
    trees = model.score(X)
    scores = model.score_pairs(batch.pairs, X)
    matched = decide(batch.pairs, scores, model.threshold)
    items = responses.scored_items(batch.pairs, scores, matched)
    rescorer = model.rescorer
    stages = {
        "JSON decode": lambda: json.loads(body),
        "flattening": lambda: FlattenedDataPoints(
            decoded, answer_bytes=lambda_handler.ANSWER_BYTES
        ).all(),
        "features": lambda: compute_features(batch.pairs),
        "trees + calibration": lambda: model.score(X),
        "rescorer": (lambda: rescorer.rescore(batch.pairs, trees)) if rescorer else lambda: None,
        "decisions": lambda: decide(batch.pairs, scores, model.threshold),
        "response items": lambda: responses.scored_items(batch.pairs, scores, matched),
        "encode (orjson)": lambda: encoding.dumps(items),
    }
    figures = {name: best(run, repeats) * 1e3 for name, run in stages.items()}
    print("   stages alone, CPU ms: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()))


def lift_answer_bound(payload: dict[str, Any]) -> None:
    """Score every pair of the batch in one call: an answer this big is over Lambda's 6 MB
    response limit, so the service refuses the users past it (`answer_too_large`); the
    bench lifts that bound (for this process only) and says how many pairs one call serves."""
    import flattened_data_points

    served = len(flattened_data_points.FlattenedDataPoints(payload).all().pairs)
    lambda_handler.ANSWER_BYTES = 1 << 62
    print(
        f"\n   (as served, one call answers {served} of these pairs within the 6 MB response "
        "limit and refuses the later users with answer_too_large; lifted below)"
    )


def encoder_figures(payload: dict[str, Any], repeats: int) -> None:
    """The 80k answer encoded by the standard library, by the runtime's own encoder (what it
    does to a Python value) and by orjson (what the handler ships), and orjson's bytes."""
    import orjson
    from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

    serve_as("lean", "auto", "off")
    with quiet_stdout():
        answer = lambda_handler.answer(payload, None)
    json_s = best(lambda: json.dumps(answer, separators=(",", ":")), repeats)
    marshaller = LambdaMarshaller()
    runtime_s = best(lambda: marshaller.marshal_response(answer), repeats)
    orjson_s = best(lambda: orjson.dumps(answer), repeats)
    package = Path(orjson.__file__).parent
    size = sum(p.stat().st_size for p in package.rglob("*") if p.is_file())
    print(
        f"   encode the answer: json {json_s * 1e3:.1f} ms, the runtime's encoder "
        f"{runtime_s * 1e3:.1f} ms, orjson {orjson_s * 1e3:.1f} ms (shipped); orjson weighs "
        f"{size / 1e3:.0f} kB unzipped ({sys.version_info.major}.{sys.version_info.minor} wheel)"
    )


def log_mode_figures(payload: dict[str, Any], repeats: int) -> None:
    """Section 4: what each result-log mode prints and costs per million pairs."""
    model = serve_as("lean", "auto", "off")
    with quiet_stdout():
        lambda_handler.handler(payload, None)
    from budget_matcher.outcome import ScoringOutcome

    captured: list[ScoringOutcome] = []
    original = side_paths.publish
    side_paths.publish = lambda outcome: captured.append(outcome)  # type: ignore[assignment,return-value]
    try:
        with quiet_stdout():
            lambda_handler.handler(payload, None)
    finally:
        side_paths.publish = original
    outcome = captured[0]
    n = len(outcome.items)
    print(f"\n4. result log lines per mode ({n} pairs, model {model.version}; prices us-west-2)")
    for mode in ("off", "auto", "gzip", "full"):
        stream = io.StringIO()
        sink = ResultsSink(db_url="", log_lines=mode, stream=stream)

        def write(sink: ResultsSink = sink) -> None:
            if sink.keeps_rows:
                sink.write(rows_from_outcome(outcome))

        seconds = best(write, repeats)
        stream.seek(0)
        stream.truncate()
        write()
        size = len(stream.getvalue().encode())
        ingest = size / n * 1e6 / 1e9 * CLOUDWATCH_INGEST_PER_GB
        compute = seconds / n * 1e6 * LAMBDA_MEMORY_GB * LAMBDA_PER_GB_SECOND
        print(
            f"   {mode:5s} {size / n:6.1f} B/pair  {seconds / n * 1e6:5.2f} µs/pair   per million "
            f"pairs: CloudWatch ${ingest:.4f} + Lambda CPU ${compute:.5f}"
        )


def zip_figures(zip_path: Path, report: dict[str, Any] | None, rebuild: bool) -> None:
    """Section 5: sizes, cold start, peak RSS, reproducibility of the zip."""
    from bem.packaging import targets
    from bem.packaging.verify import verify

    with zipfile.ZipFile(zip_path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    zipped = zip_path.stat().st_size
    print(f"\n5. {zip_path.name}: {zipped / 1e6:.2f} MB zipped, {unzipped / 1e6:.2f} MB unzipped")
    interpreter = targets.find_interpreter("3.12")
    import resource

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    firsts, cpus, rss = [], [], []
    with tempfile.TemporaryDirectory() as work:
        for run in range(5):
            before = children_cpu()
            verified = verify(zip_path, interpreter, Path(work) / str(run), "lean")
            cpus.append(children_cpu() - before)
            firsts.append(verified.first_response_seconds)
            rss.append(verified.maxrss_kb / 1024)
    print(
        f"   cold start to first answer (python3.12 -I -S -B, median of 5): "
        f"{statistics.median(firsts):.3f} s wall, {statistics.median(cpus):.3f} s CPU of the "
        f"whole process (to its exit); peak RSS {max(rss):.1f} MiB"
    )
    if rebuild:  # two builds of HEAD in this run (a zip's timestamps are its commit's time)
        with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
            first, _ = build_zip(Path(one))
            second, _ = build_zip(Path(two))
            same = first.read_bytes() == second.read_bytes()
            digest = hashlib.sha256(first.read_bytes()).hexdigest()[:16]
        print(f"   two ./build runs of HEAD byte-identical: {same} (sha256 {digest}…)")
    if report:
        print(f"   build took {report['seconds']:.1f} s; warnings: {report['warnings'] or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", type=Path, help="a built deploy.zip (default: build one)")
    parser.add_argument("--pairs", type=int, default=80_000)
    parser.add_argument("--naive-pairs", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="build HEAD twice, compare bytes")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-scorer-") as work_dir:
        work = Path(work_dir)
        report = None
        zip_path = args.zip
        if zip_path is None:
            zip_path, report = build_zip(work)
        os.environ["BEM_MODEL_DIR"] = str(model_dir_from_zip(zip_path, work))
        model_dir = Path(os.environ["BEM_MODEL_DIR"])
        card = json.loads((model_dir / predict.CARD_FILE).read_text())
        print(
            f"model {card['version']} from {zip_path}; {time.strftime('%Y-%m-%d')}, load ", end=""
        )
        print(f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        from bem.packaging.heldout import heldout_features

        rows = heldout_features(card, 20_000)
        assert rows is not None
        tree_figures(model_dir, np.ascontiguousarray(rows), args.repeats)

        payload = batch_payload(args.pairs)
        lift_answer_bound(payload)
        best_s = request_figures(payload, args.repeats, args.naive_pairs)
        stage_figures(payload, args.repeats)
        print(f"\n3. {args.pairs / best_s / 1e3:.0f} k pairs per second per core, whole request")
        serve_as("lean", "auto", "auto")
        with quiet_stdout():
            seed = time_seed(2000)
        print(f"   seed example, warm handler: p50 {percentile(seed, 50):.3f} ms, ", end="")
        print(f"p99 {percentile(seed, 99):.3f} ms over 2000 calls")
        encoder_figures(payload, args.repeats)
        log_mode_figures(payload, args.repeats)
        zip_figures(zip_path, report, args.rebuild)


if __name__ == "__main__":
    main()
