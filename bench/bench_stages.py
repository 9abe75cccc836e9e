"""The 80k request's stages, this checkout against another revision, alternating on one machine.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_stages.py --against REV [--rounds 3]
        [--pairs 80000]

On a shared machine a figure measured an hour ago is not comparable with one measured now: the
load changes what a CPU-second buys. This bench measures both codes in the same minutes. It
writes one request of generated users (`bench_core.batch_payload`, from this checkout), checks
out REV into a temporary git worktree, and runs one child process per round and code,
alternating (this, REV, this, REV, …). Each child imports only its own code, stages its own
model/ with compiled trees (`bem.packaging.tree_compiler.stage`: compiled and proved), and
times each stage alone and the whole request (decode + handler + encode, logging off): CPU
time, the fastest of 5 runs; and the seed example's warm call (the median CPU time of 2000
calls). The table gives the fastest of all rounds per stage and code, and
their ratio. The naive way is the other revision: it is what this code replaces.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5


def best_cpu_ms(run: Callable[[], Any]) -> float:
    """CPU milliseconds of the fastest of REPEATS runs."""
    fastest = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        run()
        fastest = min(fastest, time.process_time() - start)
    return fastest * 1e3


def child(root: Path, payload_path: Path, work: Path) -> dict[str, float]:
    """The stage figures of the code in `root` (imported from there only)."""
    sys.path[:0] = [str(root), str(root / "bench")]
    os.environ.update(OMP_NUM_THREADS="1", BEM_MODEL_FORM="lean", BEM_RESULTS_LOG="off")
    model_dir = work / "model"
    shutil.copytree(root / "model", model_dir)
    from bem.packaging.tree_compiler import host_arch, stage

    stage(model_dir, host_arch() or "x86_64")
    os.environ["BEM_MODEL_DIR"] = str(model_dir)

    from bench_support import as_the_runtime_sends, quiet_stdout

    import lambda_handler
    import predict
    from budget_matcher import encoding, responses
    from budget_matcher.decisions import decide
    from budget_matcher.features import compute_features
    from flattened_data_points import FlattenedDataPoints

    lambda_handler.ANSWER_BYTES = 1 << 62  # the whole request in one answer, as bench_scorer
    body = payload_path.read_text()
    decoded = json.loads(body)
    model = predict.get_model()
    assert model.evaluator == "compiled", model.evaluator
    batch = FlattenedDataPoints(decoded, answer_bytes=lambda_handler.ANSWER_BYTES).all()
    X = compute_features(batch.pairs)
    trees = model.score(X)
    rescorer = getattr(model, "rescorer", None)  # scoring's second stage, from model 1.9.0
    scores = trees if rescorer is None else rescorer.rescore(batch.pairs, trees)
    matched = decide(batch.pairs, scores, model.threshold)
    items = responses.scored_items(batch.pairs, scores, matched)

    def whole() -> int:
        return len(as_the_runtime_sends(lambda_handler.handler(json.loads(body), None)))

    seed_body = (root / "tests/events/seed_direct.json").read_text()

    def seed_call() -> float:
        start = time.process_time()
        as_the_runtime_sends(lambda_handler.handler(json.loads(seed_body), None))
        return time.process_time() - start

    with quiet_stdout():
        whole()
        return {
            "pairs": float(len(batch.pairs)),
            "JSON decode": best_cpu_ms(lambda: json.loads(body)),
            "flattening": best_cpu_ms(
                lambda: FlattenedDataPoints(decoded, answer_bytes=lambda_handler.ANSWER_BYTES).all()
            ),
            "features": best_cpu_ms(lambda: compute_features(batch.pairs)),
            "trees + calibration": best_cpu_ms(lambda: model.score(X)),
            "rescorer": 0.0
            if rescorer is None
            else best_cpu_ms(lambda: rescorer.rescore(batch.pairs, trees)),
            "decisions": best_cpu_ms(lambda: decide(batch.pairs, scores, model.threshold)),
            "response items": best_cpu_ms(
                lambda: responses.scored_items(batch.pairs, scores, matched)
            ),
            "encode": best_cpu_ms(lambda: encoding.dumps(items)),
            "whole request": best_cpu_ms(whole),
            "seed example, p50 of 2000": _seed_p50_ms(seed_call),
        }


def _seed_p50_ms(call: Callable[[], float]) -> float:
    """The median CPU milliseconds of 2000 warm calls (after 200 warm-up calls)."""
    for _ in range(200):
        call()
    return statistics.median(call() for _ in range(2000)) * 1e3


def run_child(root: Path, payload: Path) -> dict[str, float]:
    """One child process on the code in `root`; its figures."""
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as work:
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(root), str(payload), work],
            cwd=root,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise SystemExit(f"stages of {root} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a git revision to compare with (required)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=80_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        root, payload, work = (Path(p) for p in args.child)
        print(json.dumps(child(root, payload, work)))
        return
    if not args.against:
        parser.error("--against REV is required")
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    from bench_core import batch_payload

    with tempfile.TemporaryDirectory(prefix="bench-stages-") as scratch:
        payload = Path(scratch) / "request.json"
        payload.write_text(json.dumps(batch_payload(args.pairs)))
        other = Path(scratch) / "other"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(other), args.against],
            cwd=ROOT,
            check=True,
        )
        try:
            rounds: dict[str, list[dict[str, float]]] = {"this": [], args.against: []}
            for number in range(args.rounds):
                for name, root in (("this", ROOT), (args.against, other)):
                    rounds[name].append(run_child(root, payload))
                    load = os.getloadavg()[0]
                    print(f"round {number + 1} {name}: done (load {load:.1f})", file=sys.stderr)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT)
    report(rounds, args.against)


def report(rounds: dict[str, list[dict[str, float]]], against: str) -> None:
    """The fastest figure of every round per stage and code, and this code's share of REV's."""
    this, other = rounds["this"], rounds[against]
    print(f"{int(this[0]['pairs'])} pairs; {time.strftime('%Y-%m-%d %H:%M')}; CPU ms, fastest")
    print(f"{'stage':26s} {'this':>9s} {against[:12]:>12s} {'ratio':>7s}")
    for stage in this[0]:
        if stage == "pairs":
            continue
        mine = min(r[stage] for r in this)
        theirs = min((r[stage] for r in other if stage in r), default=0.0)
        ratio = f"{mine / theirs:7.2f}" if theirs > 0 else f"{'–':>7s}"  # a stage REV lacks
        print(f"{stage:26s} {mine:9.3f} {theirs:12.3f} {ratio}")


if __name__ == "__main__":
    main()
