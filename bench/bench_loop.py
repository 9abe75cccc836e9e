"""The learning loop on a shifted distribution: retrain from the store vs the model of record.

Production is simulated with `bem synth` knobs far from the model of record's training mix
(SHIFT): OWN users (seed 31) and TEST users (seed 32) are scored by the model of record (read
from model/ at run time) and stored in a fresh SQLite store (`bem.loop.traffic`), and the
labels of every user loaded as `bem monitor label --unlisted negative` loads them. Then:

1. retrain: `bem train --from-store` with the first LABELLED own users (training settings
   below), compared with the model of record on the TEST users (`bem model compare`:
   ΔPR-AUC with a paired bootstrap interval by user); then the retrained model's threshold
   under the recall floors FLOORS (`--min-recall`; 0 is the rule before the floor):
   out-of-fold and TEST precision and recall at each. With `--compare-prior` the retrained
   model also learns from PRIOR synthetic users at weight W (`bem train --from-store
   --prior-users PRIOR --prior-weight W`);
2. learning curve: PR-AUC on the TEST users at 25, 50, 100, 200, 400 own users for the model
   of record, own data only, own data + PRIOR synthetic users of the model of record's mix
   (weight W), and the model of record grown on own data (warm start);
3. queue vs random: BASE fully labelled own users, then as many labelled pairs from the label
   queue (`bem monitor label-queue` over the other own users) or drawn at random from the same
   pairs; PR-AUC on the TEST users of a model trained on each.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_loop.py [--own 400 --test 300 --labelled 200]
        [--store DIR] [--parts compare,curve,queue] [--compare-prior]

`--store DIR` keeps the simulated store in DIR and reuses it when it is there (the parts can
then run as separate processes on the same traffic).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

import predict
from bem.loop.compare import Scored, compare_scores
from bem.loop.curve import CurveSettings, learning_curve, markdown_table
from bem.loop.prior import PRIOR_SEED, add_prior, load_pipeline, prior_dataset, record_knobs
from bem.loop.store_data import StoreWindow, read_requests, requests_dataset, store_dataset
from bem.loop.traffic import history_rows, serve
from bem.model.metrics import choose_threshold, pr_auc, summary
from bem.model.train import CANDIDATES, DEFAULT_MIN_RECALL, TrainSettings, booster, train
from bem.monitor.label_queue import QueueSettings, label_queue
from bem.monitor.labels import ingest_labels
from bem.monitor.store import open_store
from bem.synth.knobs import SynthConfig, knobs_from_options
from bem.synth.users import generate_users

SHIFT = ("date_delay=15", "late_posting=0.9", "upgrade=0.8", "amount=0.25", "fx_spread=0.5",
         "prepaid=0.9", "late_charge=0.9", "foreign=0.7")  # fmt: skip
SIZES = (25, 50, 100, 200, 400)
FLOORS = (0.0, DEFAULT_MIN_RECALL, 0.25)
SETTINGS = TrainSettings(folds=3, holdout=0.0, seed=0, candidates="single", progress=False,
                         threads=1)  # fmt: skip


def _users(count: int, seed: int) -> list[Any]:
    return generate_users(SynthConfig(users=count, seed=seed, knobs=knobs_from_options(1.0, SHIFT)))


def _label(engine: Any, users: list[Any], directory: Path) -> None:
    """The users' labels through `bem monitor label`'s path (a history, unlisted negative)."""
    path = directory / "labels.csv"
    rows = list(history_rows(users))
    path.write_text("user_id,budget_id,itemization_id,is_match\n" + "".join(
        f"{r['user_id']},{r['budget_id']},{r['itemization_id']},1\n" for r in rows))  # fmt: skip
    ingest_labels(engine, path, unlisted="negative")


def _queue_vs_random(
    record: Any, own: list[Any], test: Any, pool: list[Any], directory: Path, limit: int
) -> dict:
    """A store of BASE labelled own users and POOL unlabelled users; as many labelled pairs of
    the pool from the label queue or at random; PR-AUC on the TEST users of a model trained on
    the base users plus those pairs."""
    engine = open_store(f"sqlite:///{directory / 'queue.db'}")
    serve(engine, own + pool, record, datetime(2026, 11, 1), prefix="queue")
    _label(engine, own, directory)
    base_set, _ = store_dataset(engine, StoreWindow(users=tuple(u.user_id for u in own)))
    pool_ids = sorted(u.user_id for u in pool)
    with engine.connect() as connection:
        queue = label_queue(connection, None, None, QueueSettings(limit=limit))
        requests, _ = read_requests(connection, StoreWindow(), pool_ids)
    asked = [c.key for c in queue if c.key[0] in set(pool_ids)]
    keys = sorted({(u.user_id, b, i) for r in requests for u in r.users
                   if u.user_id in set(pool_ids) for b in u.budgets for i in u.items})  # fmt: skip
    truth = {(u.user_id, b, i) for u in pool for b, i in u.matches}
    chosen = {"queue": asked, "random": random.Random(0).sample(keys, len(asked))}
    figures: dict[str, Any] = {"base_users": len(own), "pool_users": len(pool),
                               "pool_pairs": len(keys), "base_only": None}  # fmt: skip
    params = CANDIDATES["single"][0]
    base_model = booster(params, 0).fit(base_set.features, base_set.labels)
    figures["base_only"] = round(
        pr_auc(test.labels, base_model.predict_proba(test.features)[:, 1]), 4
    )
    for name, picked in chosen.items():
        extra = requests_dataset(requests, {key: int(key in truth) for key in picked}, "drop")
        features = np.vstack([base_set.features, extra.features])
        labels = np.concatenate([base_set.labels, extra.labels])
        model = booster(params, 0).fit(features, labels)
        scores = model.predict_proba(test.features)[:, 1]
        figures[name] = {"pairs": len(extra), "positives": int(extra.labels.sum()),
                         "pr_auc": round(pr_auc(test.labels, scores), 4)}  # fmt: skip
    engine.dispose()
    return figures


def _floors(result: Any, scores: np.ndarray, test: Any) -> list[dict[str, Any]]:
    """The retrained model's threshold under each recall floor: out-of-fold and TEST precision
    and recall there."""
    labels, out_of_fold = result.out_of_fold
    rows = []
    for floor in FLOORS:
        choice = choose_threshold(labels, out_of_fold, SETTINGS.target_precision, floor)
        folds = summary(labels, out_of_fold, choice.threshold)
        fresh = summary(test.labels, scores, choice.threshold)
        rows.append({"min_recall": floor, "rule": choice.rule,
                     "threshold": round(choice.threshold, 4),
                     "cv_precision": folds["precision"], "cv_recall": folds["recall"],
                     "precision": fresh["precision"], "recall": fresh["recall"]})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--own", type=int, default=400)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--labelled", type=int, default=200)
    parser.add_argument("--prior-users", type=int, default=300)
    parser.add_argument("--prior-weight", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--queue-base", type=int, default=25)
    parser.add_argument("--queue-pool", type=int, default=100)
    parser.add_argument("--queue-pairs", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None, help="Write the figures as JSON here.")
    parser.add_argument("--store", type=Path, default=None, help="Keep / reuse the store here.")
    parser.add_argument("--parts", default="compare,curve,queue")
    parser.add_argument(
        "--compare-prior", action="store_true", help="Compare: retrain with the prior as well."
    )
    args = parser.parse_args()
    clock = time.perf_counter()
    record = predict.load_model(Path("model"), "sklearn")
    print(f"model of record {record.version}; shift {' '.join(SHIFT)}", flush=True)
    own, fresh = _users(args.own, 31), _users(args.test, 32)
    directory = args.store or Path(tempfile.mkdtemp(prefix="bench-loop-"))
    directory.mkdir(parents=True, exist_ok=True)
    reuse = (directory / "store.db").exists()
    engine = open_store(f"sqlite:///{directory / 'store.db'}")
    if not reuse:
        rows = serve(engine, own, record, datetime(2026, 11, 1), prefix="own")
        rows += serve(engine, fresh, record, datetime(2026, 11, 25), prefix="test")
        _label(engine, own + fresh, directory)
        print(f"stored {rows} scored pairs, labels of {len(own) + len(fresh)} users "
              f"({time.perf_counter() - clock:.0f} s)", flush=True)  # fmt: skip
    parts = set(args.parts.split(","))
    test, _ = store_dataset(engine, StoreWindow(users=tuple(u.user_id for u in fresh)))
    figures: dict[str, Any] = {}
    if "compare" in parts:
        labelled = tuple(u.user_id for u in own[: args.labelled])
        trained_on, _ = store_dataset(engine, StoreWindow(users=labelled))
        name = "retrained"
        if args.compare_prior:
            trained_on, _ = add_prior(trained_on, args.prior_users, args.prior_weight, record.card)
            name = f"retrained+prior({args.prior_users}, {args.prior_weight})"
        result = train(trained_on, SETTINGS)
        retrained = Scored(name, "store", result.pipeline.predict_proba(test.features)[:, 1],
                           result.threshold)  # fmt: skip
        champion = Scored("record", record.version, record.score(test.features), record.threshold)
        figures["compare"] = report = compare_scores(test, champion, retrained, args.rounds, 0)
        print(f"{name} from {args.labelled} users ({len(trained_on)} pairs) vs model of record "
              f"on {args.test} fresh users ({len(test)} pairs):", flush=True)  # fmt: skip
        print(json.dumps({k: report[k] for k in ("champion", "challenger", "difference")}),
              flush=True)  # fmt: skip
        report["floors"] = _floors(result, retrained.scores, test)
        print(f"retrained threshold by recall floor: {json.dumps(report['floors'])}", flush=True)
    if "curve" in parts:
        own_all, _ = store_dataset(engine, StoreWindow(users=tuple(u.user_id for u in own)))
        prior = prior_dataset(args.prior_users, PRIOR_SEED, record_knobs(record.card))
        settings = CurveSettings(sizes=SIZES, prior_weight=args.prior_weight,
                                 params=CANDIDATES["single"][0], rounds=200)  # fmt: skip
        figures["curve"] = curve = learning_curve(
            own_all, test, record, load_pipeline(Path("model")), prior, settings,
            lambda line: print(f"  {line}", flush=True),
        )  # fmt: skip
        print("\n".join(markdown_table(curve)), flush=True)
    if "queue" in parts:
        pool = _users(args.queue_pool, 33)
        figures["queue"] = queue = _queue_vs_random(
            record, own[: args.queue_base], test, pool, directory, args.queue_pairs
        )
        print(f"queue vs random: {json.dumps(queue)}", flush=True)
    print(f"total {time.perf_counter() - clock:.0f} s", flush=True)
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
