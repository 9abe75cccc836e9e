"""The model of record on travellers from a generator written independently of `bem synth`.

`bench/feedgen/` was written without reading bem/synth/, the feature code or the synth bench
files: from docs/contract.md's fields and labelling policy and from how corporate card feeds
and travel-tool bookings look (airline ticket numbers in descriptors, agencies, folios itemised
per night and posted late, fare changes, colleagues' tickets, cancellations credited weeks
later, commuters, look-alike stays, foreign currencies, typos, everyday spend).

    PYTHONPATH=$PWD .venv/bin/python bench/independent_feeds.py generate --users 300 --seed 1 \\
        --noise 1.0 --out independent.csv
    PYTHONPATH=$PWD .venv/bin/python bench/independent_feeds.py measure --users 300 \\
        --seeds 1,2 --noises 1.0,1.5 [--model-dir model] [--work reports/independent]

`measure` writes each history, runs `bem evaluate --data` on it (the project's reader and
report), scores every pair through `lambda_handler.answer` one user per call, and prints
PR-AUC, precision at recall 0.90, precision and recall at the card's threshold with 95 %
intervals by user (bootstrap), the served `matched`, recall and false matches per behaviour
and per modifier, and examples of the weakest behaviours' missed and false lines, against
issue 19's goals and against the rule baseline `bem evaluate` fits (the naive way).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from feedgen import measure  # noqa: E402
from feedgen.history import travellers, write_history  # noqa: E402

# Issue 19's goals for users of generators nobody on the team wrote.
GOALS = {
    1.0: {"pr_auc": 0.95, "precision_at_recall_0.90": 0.85, "precision": 0.92},
    1.5: {"pr_auc": 0.88},
}
SHOWN_BEHAVIOURS = 12


def _generate(args: argparse.Namespace) -> None:
    written = write_history(args.out, travellers(args.users, args.seed, args.noise))
    print(
        f"wrote {args.out}: {written.users} users, {written.budgets} budgets, "
        f"{written.lines} lines, {written.matches} belonging to a budget, "
        f"{written.pairs} candidate pairs"
    )


def _run(args: argparse.Namespace, seed: int, noise: float) -> dict[str, Any]:
    name = f"independent_seed{seed}_noise{noise:g}"
    history = args.work / f"{name}.csv"
    written = write_history(history, travellers(args.users, seed, noise))
    started = time.perf_counter()
    report = measure.run_evaluate(history, args.model_dir, args.work, name)
    truths = measure.read_truth(history)
    scored = measure.score_history(history, truths, args.model_dir)
    figures = measure.headline(scored.labels, scored.scores, scored.threshold)
    intervals = measure.bootstrap(scored, args.rounds)
    found = measure.outcomes(scored, truths)
    result: dict[str, Any] = {
        "seed": seed,
        "noise": noise,
        "history_sha256": hashlib.sha256(history.read_bytes()).hexdigest(),
        "users": written.users,
        "pairs": len(scored.scores),
        "matches": int(scored.labels.sum()),
        "threshold": scored.threshold,
        "evaluate": report["model"],
        "figures": figures,
        "intervals": intervals,
        "decided": measure.decided(scored),
        "baseline": report["baseline"],
        "behaviours": {
            k: vars(g) for k, g in measure.breakdown(found, truths, measure.by_behaviour).items()
        },
        "modifiers": {
            k: vars(g) for k, g in measure.breakdown(found, truths, measure.by_modifier).items()
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    result["examples"] = _examples(found, truths, result["behaviours"])
    (args.work / f"{name}_figures.json").write_text(json.dumps(result, indent=1, default=str))
    _print(result)
    return result


def _weakest(behaviours: dict[str, dict[str, int]]) -> list[tuple[str, float]]:
    """Behaviours by what the model gets wrong: 1 − recall for lines that belong, the false
    match rate for lines that do not (at least 15 lines each)."""
    weak = []
    for name, g in behaviours.items():
        if g["lines"] < 15:
            continue
        if g["belonging"]:
            weak.append((name, 1 - g["found"] / g["belonging"]))
        else:
            weak.append((name, g["falsely"] / g["lines"]))
    return sorted(weak, key=lambda pair: -pair[1])


def _examples(
    found: list[measure.Outcome],
    truths: dict[str, measure.Truth],
    behaviours: dict[str, dict[str, int]],
) -> dict[str, list[str]]:
    """Up to 3 missed or false lines of each of the 6 weakest behaviours."""
    examples: dict[str, list[str]] = {}
    for name, _ in _weakest(behaviours)[:6]:
        wrong = [
            o for o in found if truths[o.user].behaviour[o.item] == name and o.given != o.owner
        ]
        wrong.sort(key=lambda o: (o.user, o.item))
        examples[name] = [measure.describe(o, truths) for o in wrong[:3]]
    return examples


def _behaviour_table(behaviours: dict[str, dict[str, int]], shown: int) -> None:
    print(
        "| behaviour | lines | belong | recall (matched to its own) | given to another "
        "| false matches |"
    )
    print("|---|---|---|---|---|---|")
    for name, _ in _weakest(behaviours)[:shown]:
        g = behaviours[name]
        if g["belonging"]:
            print(
                f"| {name} | {g['lines']} | {g['belonging']} | "
                f"{g['found'] / g['belonging']:.3f} | {g['misplaced']} | – |"
            )
        else:
            print(
                f"| {name} | {g['lines']} | 0 | – | – | {g['falsely']} "
                f"({g['falsely'] / g['lines']:.3f}) |"
            )


def _pooled(results: list[dict[str, Any]], key: str) -> dict[str, dict[str, int]]:
    """The runs' groups added up (the same noise level, several seeds)."""
    pooled: dict[str, dict[str, int]] = {}
    for result in results:
        for name, group in result[key].items():
            total = pooled.setdefault(name, dict.fromkeys(group, 0))
            for field, count in group.items():
                total[field] += count
    return pooled


def _print(result: dict[str, Any]) -> None:
    f, iv, ev, dec = result["figures"], result["intervals"], result["evaluate"], result["decided"]
    goals = GOALS.get(result["noise"], {})
    print(
        f"\n## seed {result['seed']}, noise ×{result['noise']:g}: {result['users']} users, "
        f"{result['pairs']:,} pairs, {result['matches']:,} matches "
        f"(threshold {result['threshold']:.6f}; {result['seconds']} s)"
    )
    print("| figure | value | 95 % by user | bem evaluate | goal |")
    print("|---|---|---|---|---|")
    for key, label in (
        ("pr_auc", "PR-AUC"),
        ("precision_at_recall_0.90", "P @ R ≥ 0.90"),
        ("precision", "precision at the threshold"),
        ("recall", "recall at the threshold"),
    ):
        goal = goals.get(key)
        verdict = "" if goal is None else f"≥ {goal} ({'met' if f[key] >= goal else 'missed'})"
        low, high = iv[key]
        print(f"| {label} | {f[key]:.4f} | {low:.4f} … {high:.4f} | {ev[key]:.4f} | {verdict} |")
    base = result["baseline"]
    print(
        f"served matched: precision {dec['precision']:.4f}, recall {dec['recall']:.4f}; "
        f"rule baseline: PR-AUC {base['pr_auc']:.4f}, P @ R ≥ 0.90 "
        f"{base['precision_at_recall_0.90']:.4f}"
    )
    print()
    _behaviour_table(result["behaviours"], SHOWN_BEHAVIOURS)
    print("\n| modifier | lines | belong | recall | false matches of lines of no budget |")
    print("|---|---|---|---|---|")
    for name, g in sorted(result["modifiers"].items()):
        recall = f"{g['found'] / g['belonging']:.3f}" if g["belonging"] else "–"
        others = g["lines"] - g["belonging"]
        false = f"{g['falsely']} of {others}" if others else "–"
        print(f"| {name} | {g['lines']} | {g['belonging']} | {recall} | {false} |")
    print("\nexamples of the weakest behaviours:")
    for name, lines in result["examples"].items():
        for line in lines:
            print(f"- [{name}] {line}")


def _measure(args: argparse.Namespace) -> None:
    args.work.mkdir(parents=True, exist_ok=True)
    results = [_run(args, seed, noise) for noise in args.noises for seed in args.seeds]
    print("\n## summary (figures pooled per run; intervals by user)")
    print(
        "| seed | noise | pairs | PR-AUC | P @ R ≥ 0.90 | precision @ thr | recall @ thr "
        "| rule baseline PR-AUC |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        f, iv = r["figures"], r["intervals"]
        cells = [
            f"{f[k]:.3f} [{iv[k][0]:.3f}, {iv[k][1]:.3f}]"
            for k in ("pr_auc", "precision_at_recall_0.90", "precision", "recall")
        ]
        print(
            f"| {r['seed']} | ×{r['noise']:g} | {r['pairs']:,} | {' | '.join(cells)} | "
            f"{r['baseline']['pr_auc']:.3f} |"
        )
    for noise in args.noises:
        runs = [r for r in results if r["noise"] == noise]
        print(f"\n## behaviours at noise ×{noise:g}, {len(runs)} run(s) pooled (the weakest)")
        _behaviour_table(_pooled(runs, "behaviours"), 20)
    if args.summary is not None:
        card = json.loads((args.model_dir / "model.json").read_text())
        summary = {"model_version": card["version"], "users": args.users, "runs": results}
        args.summary.write_text(json.dumps(summary, indent=1, sort_keys=True, default=str) + "\n")
        print(f"\nwrote {args.summary}")


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write a labelled history (records CSV)")
    generate.add_argument("--users", type=int, default=300)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--noise", type=float, default=1.0)
    generate.add_argument("--out", type=Path, required=True)
    generate.set_defaults(run=_generate)
    run = commands.add_parser("measure", help="the model of record on written histories")
    run.add_argument("--users", type=int, default=300)
    run.add_argument("--seeds", type=lambda t: [int(x) for x in t.split(",")], default=[1])
    run.add_argument("--noises", type=_floats, default=[1.0, 1.5])
    run.add_argument("--model-dir", type=Path, default=ROOT / "model")
    run.add_argument("--work", type=Path, default=ROOT / "reports" / "independent")
    run.add_argument("--rounds", type=int, default=200, help="bootstrap rounds")
    run.add_argument("--summary", type=Path, help="write every run's figures here (JSON)")
    run.set_defaults(run=_measure)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
