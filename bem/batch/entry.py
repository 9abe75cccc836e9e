"""The driver script a cluster runs (spark-submit / EMR `entryPoint`): score or features.

    spark-submit --py-files bem_batch_code.zip entry.py score \\
        --budgets s3://b/budgets/ --items s3://b/items/ --model s3://b/model/ --out s3://b/scores/

Standard library argparse only: the cluster's driver needs nothing beyond the code zip and
the dependency archive.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime

from bem.batch import BATCH_MAX_PAIRS_PER_USER, jobs, tables, worker
from bem.batch.session import get_session


def default_run_id(now: datetime | None = None) -> str:
    """`batch-YYYYmmddTHHMMSSZ`: the request id the run's rows carry in the results store."""
    return "batch-" + (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def parser() -> argparse.ArgumentParser:
    """The arguments of both jobs."""
    top = argparse.ArgumentParser(prog="bem-batch-entry")
    sub = top.add_subparsers(dest="job", required=True)
    score = sub.add_parser("score")
    score.add_argument("--budgets")
    score.add_argument("--items")
    score.add_argument("--requests")
    score.add_argument("--model", required=True)
    score.add_argument("--out", required=True)
    score.add_argument("--run-id", default=None)
    score.add_argument("--scored-at-item-date", action="store_true")
    score.add_argument("--max-pairs-per-user", type=int, default=BATCH_MAX_PAIRS_PER_USER)
    score.add_argument("--form", choices=["lean", "sklearn"], default=None)
    score.add_argument(
        "--inputs", dest="with_inputs", action=argparse.BooleanOptionalAction, default=False
    )
    features = sub.add_parser("features")
    features.add_argument("--rows", required=True)
    features.add_argument("--out", required=True)
    for job in (score, features):
        job.add_argument("--format", choices=tables.FORMATS, default=None)
        job.add_argument("--buckets", type=int, default=None)
        job.add_argument("--master", default="cluster")
    return top


def main(argv: list[str] | None = None) -> int:
    """Run one job on the cluster's session; print its report as JSON."""
    args = parser().parse_args(argv)
    spark = get_session(args.master)
    if args.job == "score":
        inputs = jobs.JobInputs(args.budgets, args.items, args.requests, fmt=args.format)
        run = worker.ScoreRun(
            args.run_id or default_run_id(),
            args.model,
            scored_at_item_date=args.scored_at_item_date,
            form=args.form,
            max_pairs_per_user=args.max_pairs_per_user,
            with_inputs=args.with_inputs,
        )
        report = jobs.run_score(spark, inputs, args.model, args.out, run, args.buckets)
    else:
        inputs = jobs.JobInputs(rows=args.rows, fmt=args.format)
        report = jobs.run_features(spark, inputs, args.out, args.buckets or jobs.DEFAULT_BUCKETS)
    print(json.dumps(asdict(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
