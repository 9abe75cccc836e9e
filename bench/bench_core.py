"""Warm in-process latency of the scoring path, against the naive per-pair way, in one run.

    .venv/bin/python bench/bench_core.py [--pairs 80000] [--naive-pairs 1500]

Prints: the seed example's warm handler latency (p50/p99 over 2,000 calls), a large batch
(~80k pairs, ~6 MB response) timed end to end — JSON decoding, the handler, JSON encoding —
and the naive path (a pandas row per pair, py_stringmatching per pair, predict_proba per pair)
on a prefix of the same batch, extrapolated linearly to the whole batch (it is linear per pair).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import py_stringmatching as sm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_support import as_the_runtime_sends, quiet_stdout  # noqa: E402

import lambda_handler  # noqa: E402
import predict  # noqa: E402
from bem.synth.knobs import SynthConfig  # noqa: E402
from bem.synth.users import generate_users  # noqa: E402
from budget_matcher import contract as c  # noqa: E402
from budget_matcher.context_features import AGENCY_TOKENS, DETAIL_KINDS  # noqa: E402
from budget_matcher.features import (  # noqa: E402
    FEATURE_NAMES,
    TYPE_GROUPS,
    compute_features,
    rank_within,
)
from budget_matcher.feed_features import FEED_FEATURE_NAMES  # noqa: E402
from budget_matcher.text import normalise, tokens  # noqa: E402
from flattened_data_points import FlattenedDataPoints  # noqa: E402


def batch_payload(target_pairs: int, seed: int = 7) -> dict[str, Any]:
    """Generated users appended until their pairs reach `target_pairs`."""
    users: list[dict[str, Any]] = []
    pairs = 0
    for user in generate_users(SynthConfig(users=max(target_pairs // 40, 10), seed=seed)):
        if pairs >= target_pairs:
            break
        users.append(
            {
                "user_id": user.user_id,
                "budgets": user.budgets,
                "all_user_expense_lineitems": user.items,
            }
        )
        pairs += len(user.budgets) * len(user.items)
    return {"users": users}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile of `values`."""
    return float(np.percentile(np.asarray(values), q))


def time_seed(calls: int) -> list[float]:
    """Per-call milliseconds of the handler on the seed example, warm."""
    seed = json.loads((ROOT / "tests/events/seed_direct.json").read_text())
    lambda_handler.handler(seed, None)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        lambda_handler.handler(seed, None)
        times.append((time.perf_counter() - start) * 1000)
    return times


def time_batch(body: str, repeats: int) -> tuple[list[float], int, int]:
    """Seconds for decode → handler → encode of one big request; pairs and response bytes."""
    times, n_pairs, size = [], 0, 0
    for _ in range(repeats):
        start = time.perf_counter()
        encoded = as_the_runtime_sends(lambda_handler.handler(json.loads(body), None))
        times.append(time.perf_counter() - start)
        n_pairs, size = len(json.loads(encoded)), len(encoded)
    return times, n_pairs, size


class NaiveScorer:
    """The per-pair way: a pandas row, py_stringmatching calls and one predict per pair."""

    def __init__(self, model: predict.LoadedModel) -> None:
        self.model = model
        self.jaro_winkler = sm.JaroWinkler()
        self.levenshtein = sm.Levenshtein()
        self.jaccard = sm.Jaccard()
        self.monge_elkan = sm.MongeElkan(sim_func=sm.JaroWinkler().get_raw_score)

    def vendor(self, budget_vendors: list[Any], item_vendor: Any) -> list[float]:
        best = [np.nan] * 4
        right = normalise(item_vendor) if isinstance(item_vendor, str) else None
        for raw in budget_vendors:
            left = normalise(raw) if isinstance(raw, str) else None
            if left is None or right is None:
                continue
            scores = [
                self.jaro_winkler.get_sim_score(left, right),
                self.levenshtein.get_sim_score(left, right),
                self.jaccard.get_sim_score(left.split(), right.split()),
                self.monge_elkan.get_raw_score(left.split(), right.split()),
            ]
            best = [float(np.fmax(a, b)) for a, b in zip(best, scores, strict=True)]
        return best

    @staticmethod
    def group(text: Any) -> float:
        if not isinstance(text, str) or not tokens(text):
            return np.nan
        for code, keywords in enumerate(TYPE_GROUPS.values()):
            if set(tokens(text)) & keywords:
                return float(code)
        return float(len(TYPE_GROUPS))

    def row_features(self, row: pd.Series) -> list[float]:
        def amount(name: str) -> float:
            value = pd.to_numeric(
                str(row.get(name) or "").replace("$", "").replace(",", ""), errors="coerce"
            )
            return float(value)

        def when(name: str) -> float:
            stamp = pd.to_datetime(row.get(name), errors="coerce", utc=True)
            return np.nan if pd.isna(stamp) else stamp.timestamp()

        a, actual, budgeted = (
            amount(c.ITEM_AMOUNT),
            amount(c.BUDGET_ACTUAL_COST),
            amount(c.BUDGET_PRICE),
        )
        date, start, end = when(c.ITEM_DATE), when(c.BUDGET_TRIP_START), when(c.BUDGET_TRIP_END)
        created = when(c.BUDGET_GENERATED_AT)
        day = 86400.0
        outside = np.nan
        if not (np.isnan(date) or np.isnan(start) or np.isnan(end)):
            outside = (
                min(0.0, (date - start) / day) if date < start else max(0.0, (date - end) / day)
            )
        bg = self.group(row.get(c.BUDGET_TYPE))
        eg = self.group(row.get(c.ITEM_TYPE_NAME))
        return [
            *self.vendor(
                [row.get(c.BUDGET_TRAVEL_VENDOR), row.get(c.BUDGET_PURCHASE_VENDOR)],
                row.get(c.ITEM_VENDOR),
            ),
            abs(a - actual) / max(abs(actual), 1.0),
            np.log1p(abs(a)) - np.log1p(abs(actual)),
            abs(a - budgeted) / max(abs(budgeted), 1.0),
            np.log1p(abs(a)) - np.log1p(abs(budgeted)),
            float(a < 0),
            outside,
            (date - start) / day,
            (date - end) / day,
            (date - created) / day,
            (end - start) / day,
            float(bg == eg) if not (np.isnan(bg) or np.isnan(eg)) else np.nan,
            bg,
            eg,
        ]

    def window_sum(self, row: pd.Series, items: list[dict[str, Any]]) -> float:
        """Per pair, a scan of the user's items: same-vendor charges in the budget's window."""

        def when(record: Any, name: str) -> float:
            stamp = pd.to_datetime(record.get(name), errors="coerce", utc=True)
            return np.nan if pd.isna(stamp) else stamp.timestamp()

        vendor = (
            normalise(row.get(c.ITEM_VENDOR)) if isinstance(row.get(c.ITEM_VENDOR), str) else None
        )
        day = 86400.0
        low = np.fmin(when(row, c.BUDGET_GENERATED_AT), when(row, c.BUDGET_TRIP_START)) - 2 * day
        high = when(row, c.BUDGET_TRIP_END) + 5 * day
        reference = pd.to_numeric(row.get(c.BUDGET_ACTUAL_COST), errors="coerce")
        if pd.isna(reference):
            reference = pd.to_numeric(row.get(c.BUDGET_PRICE), errors="coerce")
        if vendor is None or np.isnan(when(row, c.ITEM_DATE)) or np.isnan(low + high):
            return np.nan
        total = 0.0
        for item in items:
            other = item.get(c.ITEM_VENDOR)
            same = isinstance(other, str) and normalise(other) == vendor
            if same and low <= when(item, c.ITEM_DATE) <= high:
                value = pd.to_numeric(item.get(c.ITEM_AMOUNT), errors="coerce")
                total += 0.0 if pd.isna(value) else float(value)
        return float(np.log1p(abs(total)) - np.log1p(abs(float(reference))))

    def context(
        self, k: int, rows: list[pd.Series], features: np.ndarray, items: list[dict[str, Any]]
    ) -> list[float]:
        """Per pair, scans of its competitors: the context features, one loop each."""
        row, f = rows[k], features[k]

        def timing(g: np.ndarray) -> float:
            return float(np.fmin(abs(g[9]), abs(g[12])))

        def least(values: list[float]) -> float:
            return float(np.fmin.reduce(np.asarray(values, dtype=np.float64)))  # NaN ignored

        def same(a: float, b: float) -> bool:
            return (np.isnan(a) and np.isnan(b)) or a == b

        item_rivals = [
            features[j]
            for j in range(len(rows))
            if rows[j][c.ITEM_ID] == row[c.ITEM_ID] and same(features[j][15], f[15])
        ]
        budget_rivals = [
            features[j]
            for j in range(len(rows))
            if rows[j][c.BUDGET_ID] == row[c.BUDGET_ID] and same(features[j][16], f[16])
        ]
        texts = [row.get(name) for name in (c.ITEM_TYPE_NAME, c.ITEM_CATEGORY, c.ITEM_VENDOR)]
        words = {w for t in texts if isinstance(t, str) for w in tokens(t)}
        detail = np.nan if not words else 0.0
        for code, keywords in DETAIL_KINDS:
            if words & keywords:
                detail = code
                break
        vendor = row.get(c.ITEM_VENDOR)
        agency = np.nan
        if isinstance(vendor, str):
            squashed = {w.replace(".", "") for w in vendor.lower().split()}
            agency = float(bool((set(tokens(vendor)) | squashed) & AGENCY_TOKENS))
        amount = pd.to_numeric(row.get(c.ITEM_AMOUNT), errors="coerce")
        opposite = np.nan
        if isinstance(vendor, str) and not pd.isna(amount) and amount != 0:
            opposite = float(
                any(
                    isinstance(other.get(c.ITEM_VENDOR), str)
                    and tokens(other[c.ITEM_VENDOR]) == tokens(vendor)
                    and round(-100 * float(pd.to_numeric(other.get(c.ITEM_AMOUNT), "coerce")))
                    == round(100 * float(amount))
                    for other in items
                    if not pd.isna(pd.to_numeric(other.get(c.ITEM_AMOUNT), errors="coerce"))
                )
            )
        return [
            timing(f) - least([timing(g) for g in item_rivals]),
            abs(f[12]) - least([abs(g[12]) for g in item_rivals]),
            abs(f[5]) - least([abs(g[5]) for g in item_rivals]),
            timing(f) - least([timing(g) for g in budget_rivals]),
            detail,
            agency,
            opposite,
        ]

    @staticmethod
    def feed(user: dict[str, Any]) -> dict[tuple[str, str], np.ndarray]:
        """The three columns of budget_matcher.feed_features per (budget id, item id), from the
        vectorised code (no per-pair version of them exists: the naive path is the rest)."""
        pairs = FlattenedDataPoints(user).all().pairs
        columns = compute_features(pairs)[:, -len(FEED_FEATURE_NAMES) :]
        keys = zip(pairs.budget_ids, pairs.itemization_ids, strict=True)
        return {key: columns[k] for k, key in enumerate(keys)}

    def score(self, payload: dict[str, Any], limit: int) -> int:
        """Score up to `limit` pairs one at a time; returns how many were scored."""
        done = 0
        for user in payload["users"]:
            rows = [
                pd.Series({**budget, **item})
                for budget in user["budgets"]
                for item in user["all_user_expense_lineitems"]
            ][: limit - done]
            features = np.array([self.row_features(row) for row in rows])
            budget_of = np.array([hash(row[c.BUDGET_ID]) for row in rows], dtype=np.float64)
            item_of = np.array([hash(row[c.ITEM_ID]) for row in rows], dtype=np.float64)
            closeness = np.abs(features[:, 5])
            ranks = [
                rank_within(budget_of, closeness),
                rank_within(budget_of, -features[:, 3]),
                rank_within(item_of, closeness),
            ]
            items = user["all_user_expense_lineitems"]
            feed = self.feed(user)
            for k in range(len(rows)):
                window_sum = self.window_sum(rows[k], items)
                context = self.context(k, rows, features, items)
                pair = feed.get((str(rows[k][c.BUDGET_ID]), str(rows[k][c.ITEM_ID])))
                vector = np.r_[features[k], [r[k] for r in ranks], window_sum, context, pair]
                self.model.score(vector.reshape(1, -1))
            done += len(rows)
            if done >= limit:
                break
        return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=80_000)
    parser.add_argument("--naive-pairs", type=int, default=1500)
    parser.add_argument("--seed-calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    model = predict.get_model()
    print(f"model {model.version} ({model.form} form), {len(FEATURE_NAMES)} features")
    with quiet_stdout():
        seed_times = time_seed(args.seed_calls)
    print(
        f"seed example, warm handler: p50 {percentile(seed_times, 50):.3f} ms, "
        f"p99 {percentile(seed_times, 99):.3f} ms over {args.seed_calls} calls (goal p50 <= 2 ms)"
    )

    payload = batch_payload(args.pairs)
    body = json.dumps(payload)
    with quiet_stdout():
        batch_times, n_pairs, size = time_batch(body, args.repeats)
    ours = statistics.median(batch_times)
    print(
        f"large batch: {len(payload['users'])} users, {n_pairs} pairs, request "
        f"{len(body) / 1e6:.2f} MB, response {size / 1e6:.2f} MB: median {ours:.3f} s "
        f"(min {min(batch_times):.3f}) decode+handler+encode (goal <= 0.5 s)"
    )

    naive = NaiveScorer(model)
    start = time.perf_counter()
    scored = naive.score(payload, args.naive_pairs)
    per_pair = (time.perf_counter() - start) / scored
    naive_total = per_pair * n_pairs
    print(
        f"naive per-pair path: {per_pair * 1000:.3f} ms/pair over {scored} pairs -> "
        f"{naive_total:.1f} s for the batch (extrapolated); ours is {naive_total / ours:.0f}x "
        "faster (goal >= 20x)"
    )


if __name__ == "__main__":
    main()
