"""The answer's forms compared: pairs per 6 MB call and encode time per pair, list vs columns.

    PYTHONPATH=. .venv/bin/python bench/bench_answer.py [--pairs 80000] [--repeats 5]

On the 80k-pair request of generated users (bench_core.batch_payload) and the model of record
(model/, or BEM_MODEL_DIR), prints for the list form (the seed's) and the columns form
(`"format": "columns"`):

1. one call as served (direct invoke, the handler's answer bound): users and pairs answered,
   answer bytes, bytes per pair, and the pairs one 6 MB call holds at that rate; for the columns
   form also a request twice as large, to show the pairs one call really admits;
2. encode time per pair: the answer value built from the scores and encoded to bytes (what the
   handler does after scoring), for both forms, and the naive way (the list form through the
   standard library's json.dumps);
3. how tight the answer estimate is: real bytes / estimated bytes of the admitted users.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_core import batch_payload  # noqa: E402
from bench_support import quiet_stdout  # noqa: E402

import lambda_handler  # noqa: E402
import predict  # noqa: E402
from budget_matcher import contract as c  # noqa: E402
from budget_matcher import encoding  # noqa: E402
from budget_matcher.answer_size import AnswerShape  # noqa: E402
from budget_matcher.scoring import ScoredPayload, score_payload  # noqa: E402
from flattened_data_points import DEFAULT_ANSWER_BYTES, UNBOUNDED, FlattenedDataPoints  # noqa: E402

FORMS = ("list", c.COLUMNS_FORMAT)


def best(run: Any, repeats: int) -> float:
    """The fastest of `repeats` runs, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def one_call(payload: dict[str, Any], form: str) -> tuple[int, int, int, int]:
    """(users answered, pairs answered, answer bytes, estimated bytes) of one direct call."""
    with quiet_stdout():
        body = lambda_handler.handler({**payload, c.FORMAT_KEY: form}, None)
    data = body if isinstance(body, bytes) else encoding.dumps(body)
    document = json.loads(data)
    if form == "list":
        pairs = sum(1 for item in document if "error" not in item)
        users = len({item.get("user_id") for item in document if "error" not in item})
    else:
        pairs = sum(len(entry["score"]) for entry in document["users"])
        users = len(document["users"])
    flattener = FlattenedDataPoints(
        payload,
        answer_bytes=DEFAULT_ANSWER_BYTES,
        max_pairs_per_call=lambda_handler.MAX_PAIRS_PER_CALL,
        shape=AnswerShape(form),
    )
    flattener.all()
    return users, pairs, len(data), flattener.admitted_bytes


def encode_times(scored: ScoredPayload, repeats: int) -> dict[str, float]:
    """Seconds to build and encode the whole answer: each form, and the naive list."""

    def as_list() -> bytes:
        scored.__dict__.pop("items", None)  # built again each time, as per request
        return encoding.dumps(scored.items)

    def naive() -> bytes:
        scored.__dict__.pop("items", None)
        return json.dumps(scored.items, separators=(",", ":")).encode()

    return {
        "list (orjson)": best(as_list, repeats),
        "columns (orjson)": best(lambda: encoding.dumps(scored.columns()), repeats),
        "naive: list (json.dumps)": best(naive, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=80_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model = predict.get_model()
    print(
        f"model {model.version} ({model.form}, {model.evaluator}); {time.strftime('%Y-%m-%d')}; "
        f"answer bound {DEFAULT_ANSWER_BYTES:,} bytes"
    )
    payload = batch_payload(args.pairs)
    n_pairs = sum(
        len(u["budgets"]) * len(u["all_user_expense_lineitems"]) for u in payload["users"]
    )
    print(f"request: {len(payload['users'])} generated users, {n_pairs:,} pairs")
    print("\n1. one call as served (direct invoke)")
    rate: dict[str, float] = {}
    for form in FORMS:
        users, pairs, size, estimate = one_call(payload, form)
        rate[form] = size / pairs
        holds = int(DEFAULT_ANSWER_BYTES / rate[form])
        print(
            f"   {form:8s}: {users} users, {pairs:,} pairs answered, {size:,} bytes "
            f"({rate[form]:.1f} bytes a pair; a 6 MB call holds ~{holds:,} pairs); "
            f"real / estimated bytes {size / estimate:.3f}"
        )
    double = batch_payload(4 * args.pairs, seed=11)
    users, pairs, size, estimate = one_call(double, c.COLUMNS_FORMAT)
    print(
        f"   columns, a request of {len(double['users'])} users: {pairs:,} pairs answered in one "
        f"call, {size:,} bytes; real / estimated {size / estimate:.3f}"
    )
    print(f"   pairs per call, columns / list: {rate['list'] / rate[c.COLUMNS_FORMAT]:.2f}×")

    print(f"\n2. build + encode the whole answer of all {n_pairs:,} pairs, best of {args.repeats}")
    scored = score_payload(payload, model, answer_bytes=UNBOUNDED)
    for name, seconds in encode_times(scored, args.repeats).items():
        print(f"   {name:26s} {seconds * 1e3:7.1f} ms = {seconds / n_pairs * 1e9:6.0f} ns a pair")


if __name__ == "__main__":
    main()
