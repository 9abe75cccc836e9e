"""What a call costs on Lambda + API Gateway, batched (many users per payload) against the naive
way (one call per user), from the handler's measured warm duration on this machine.

    PYTHONPATH=. .venv/bin/python bench/bench_deploy_cost.py [--users 1000] [--model-dir model]

Prints: warm handler CPU time (JSON decode + handler + JSON encode, in-process, median) for one
user per call and for batches of 100 / 1,000 users / the largest batch under Lambda's 6 MB
request limit; then the cost of scoring one million users each way at several memory sizes.
Projection to Lambda: this machine's core counts as one vCPU (1,769 MB); below that Lambda
gives a proportional CPU share, so a CPU-bound duration scales by 1,769 / memory; above it a
single-threaded handler gets no faster. Without a model in --model-dir a throwaway
HistGradientBoosting model of 200 trees is trained so the timing has the same shape.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# As deployed (deploy/template.yaml, bem deploy): one OpenMP thread on one vCPU. Without it the
# scikit-learn form's OpenMP threads spin on every small predict.
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_support import as_the_runtime_sends, quiet_stdout  # noqa: E402

from budget_matcher import config  # noqa: E402
from budget_matcher.features import FEATURE_NAMES  # noqa: E402

# Public on-demand prices, us-west-2 (Oregon), x86_64, as of 2026-11 (USD).
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_PER_GB_SECOND = 0.0000166667
APIGW_REST_PER_REQUEST = 3.50 / 1_000_000  # first 333 M requests a month
APIGW_HTTP_PER_REQUEST = 1.00 / 1_000_000  # for comparison (HTTP API, first 300 M)
ONE_VCPU_MB = 1769
REQUEST_LIMIT_BYTES = 6_000_000

VENDORS = [
    "Southwest Airlines",
    "Delta Air Lines",
    "Hilton Hotels",
    "Marriott",
    "Hertz",
    "Avis",
    "Amtrak",
    "United Airlines",
    "Uber",
    "Lyft",
    "Starbucks",
    "taxi",
]
TYPES = [
    ("flight", "Airfare", "air"),
    ("hotel", "Hotel", "lodging"),
    ("car", "Car Rental", "car"),
    ("rail", "Train", "rail"),
    ("flight", "Taxi", "taxi"),
    ("hotel", "Meals", "meals"),
]


def synthetic_user(rng: random.Random, user_id: int) -> dict[str, Any]:
    """One user: 1–4 budgets, 5–30 line items, in the seed's all-strings format."""
    budgets, items = [], []
    for b in range(rng.randint(1, 4)):
        kind, _, _ = rng.choice(TYPES)
        vendor = rng.choice(VENDORS)
        price = rng.uniform(80, 900)
        day = rng.randint(1, 25)
        budgets.append(
            {
                "budget_id": f"{user_id}-{b}",
                "budget_type_budget": kind,
                "budget_price_budget": f"{price:.2f}",
                "actual_cost_budget": f"{price * 0.95:.2f}",
                "travel_vendor_receipts": vendor,
                "purchase_vendor_receipts": vendor,
                "start_datetime_trips": f"2026-04-{day:02d} 04:00:00",
                "end_datetime_trips": f"2026-04-{day + 2:02d} 04:00:00",
                "generated_at_budget": "2026-03-30 14:55:39",
            }
        )
    for i in range(rng.randint(5, 30)):
        _, type_name, category = rng.choice(TYPES)
        items.append(
            {
                "itemization_id": f"{user_id}-i{i}",
                "expensed_amount_itemization": f"{rng.uniform(5, 900):.2f}",
                "expense_type_name_itemization": type_name,
                "expense_category_itemization": category,
                "transaction_date_itemization": f"2026-04-{rng.randint(1, 28):02d} 00:00:00",
                "vendor_name_expense": rng.choice(VENDORS).upper() + f" #{rng.randint(1, 999)}",
                "expense_type_name_expense": type_name,
                "expense_category_expense": category,
            }
        )
    return {"user_id": f"user-{user_id}", "budgets": budgets, "all_user_expense_lineitems": items}


def throwaway_model(directory: Path) -> None:
    """A 200-tree SimpleImputer + HistGradientBoosting Pipeline with a valid model card."""
    import joblib
    import numpy as np
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(0)
    features = rng.normal(size=(20_000, len(FEATURE_NAMES)))
    labels = (features[:, 0] + rng.normal(scale=0.5, size=len(features)) > 1).astype(int)
    model = make_pipeline(
        SimpleImputer(), HistGradientBoostingClassifier(max_iter=200, early_stopping=False)
    )
    model.fit(features, labels)
    joblib.dump(model, directory / "model.joblib")
    digest = hashlib.sha256((directory / "model.joblib").read_bytes()).hexdigest()
    card = {
        "name": "throwaway",
        "version": "bench-throwaway",
        "threshold": 0.5,
        "features": list(FEATURE_NAMES),
        "artifacts": {"model.joblib": {"sha256": digest}},
        "library_versions": {"scikit-learn": sklearn.__version__},
    }
    (directory / "model.json").write_text(json.dumps(card))


def timed_call(handler: Any, body: str) -> tuple[float, int]:
    """CPU seconds for decode → handler → encode of one direct-invoke request; pairs answered.

    CPU time, not wall time: it is what a one-vCPU Lambda spends on CPU-bound work, and it
    does not move when other processes share this machine's cores.
    """
    start = time.process_time()
    sent = as_the_runtime_sends(handler(json.loads(body), None))
    elapsed = time.process_time() - start
    return elapsed, len(json.loads(sent))


def largest_batch(users: list[dict[str, Any]]) -> int:
    """How many of `users` fit in one request under the 6 MB limit."""
    size, count = len('{"users": []}'), 0
    for user in users:
        size += len(json.dumps(user)) + 2
        if size > REQUEST_LIMIT_BYTES:
            break
        count += 1
    return count


def lambda_seconds(local_seconds: float, memory_mb: int) -> float:
    """Projected billed duration: CPU-bound work slows in proportion below one vCPU."""
    return local_seconds * max(1.0, ONE_VCPU_MB / memory_mb)


def cost_per_million_users(
    seconds_per_call: float, users_per_call: int, memory_mb: int, api_per_request: float
) -> float:
    """USD for one million users: requests (Lambda + API Gateway) plus GB-seconds."""
    calls = 1_000_000 / users_per_call
    gb_seconds = calls * lambda_seconds(seconds_per_call, memory_mb) * memory_mb / 1024
    return calls * (LAMBDA_PER_REQUEST + api_per_request) + gb_seconds * LAMBDA_PER_GB_SECOND


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000, help="users for the per-user timing")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "model")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    scratch = tempfile.TemporaryDirectory()
    model_dir = args.model_dir
    if not (model_dir / "model.json").is_file():
        model_dir = Path(scratch.name)
        throwaway_model(model_dir)
    os.environ[config.ENV_MODEL_DIR] = str(model_dir)
    os.environ.setdefault(config.ENV_EMF_ENABLED, "0")
    import lambda_handler
    import predict

    model = predict.get_model()
    print(f"model {model.version} ({model.form} form) from {model_dir}")
    rng = random.Random(7)
    population = [synthetic_user(rng, n) for n in range(max(args.users, 1500))]
    fit = largest_batch(population)
    with quiet_stdout():
        timed_call(lambda_handler.handler, json.dumps(population[0]))  # warm up
        singles = [
            timed_call(lambda_handler.handler, json.dumps(u)) for u in population[: args.users]
        ]
        batches: dict[int, tuple[float, int, int]] = {}
        for size in (10, 100, fit):
            body = json.dumps({"users": population[:size]})
            runs = [timed_call(lambda_handler.handler, body) for _ in range(args.repeats)]
            batches[size] = (statistics.median(t for t, _ in runs), runs[0][1], len(body))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_user = statistics.median(t for t, _ in singles)
    pairs = statistics.mean(p for _, p in singles)
    print(
        f"one user per call: median {per_user * 1000:.2f} ms ({pairs:.0f} pairs on average) "
        f"over {len(singles)} calls"
    )
    for size, (seconds, n_pairs, n_bytes) in batches.items():
        print(
            f"{size} users per call ({n_pairs} pairs, request {n_bytes / 1e6:.2f} MB): "
            f"{seconds * 1000:.1f} ms = {seconds / size * 1000:.3f} ms per user"
        )

    print(f"peak RSS of this process (all of the above): {peak_mib:.0f} MiB")
    print(
        "\nUSD per million users, Lambda x86_64 us-west-2 + API Gateway REST "
        "(projected durations; batch = largest under 6 MB):"
    )
    header = f"{'memory MB':>9} | {'per-user ms':>11} | {'batch ms':>9} | {'1/call':>8} | "
    print(header + f"{'batched':>8} | {'saving':>7}")
    batch_seconds = batches[fit][0]
    for memory in (128, 512, 1024, ONE_VCPU_MB, 3008):
        naive = cost_per_million_users(per_user, 1, memory, APIGW_REST_PER_REQUEST)
        batched = cost_per_million_users(batch_seconds, fit, memory, APIGW_REST_PER_REQUEST)
        print(
            f"{memory:>9} | {lambda_seconds(per_user, memory) * 1000:>11.1f} | "
            f"{lambda_seconds(batch_seconds, memory) * 1000:>9.0f} | {naive:>8.2f} | "
            f"{batched:>8.2f} | {naive / batched:>6.1f}x"
        )
    direct = cost_per_million_users(per_user, 1, ONE_VCPU_MB, 0.0)
    http = cost_per_million_users(per_user, 1, ONE_VCPU_MB, APIGW_HTTP_PER_REQUEST)
    print(
        f"\nat {ONE_VCPU_MB} MB, one user per call: boto3 invoke (no API Gateway) "
        f"${direct:.2f}, HTTP API ${http:.2f} per million users"
    )
    scratch.cleanup()


if __name__ == "__main__":
    main()
