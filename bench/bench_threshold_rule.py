"""The threshold rule on the model of record's own training: does the recall floor move it?

The training step of the committed model is run again as docs/model.md's command runs it (the
card's synthetic users and seed, 3 folds, the `served` candidate, the card's target precision;
the data's digest is checked against the card's). Its out-of-fold scores' threshold is chosen
by the rule before the recall floor (`--min-recall 0`, the naive way) and under each floor
below, and compared with the card's threshold.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_threshold_rule.py [--model-dir model]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bem.model.evaluate import synthetic_dataset
from bem.model.metrics import choose_threshold, summary
from bem.model.train import DEFAULT_MIN_RECALL, TrainSettings, train

FLOORS = (0.0, DEFAULT_MIN_RECALL, 0.25, 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, default=Path("model"))
    args = parser.parse_args()
    clock = time.perf_counter()
    card = json.loads((args.model_dir / "model.json").read_text())
    data = card["training_data"]
    generator = data["generator"]
    dataset, _ = synthetic_dataset(generator["users"], generator["seed"], 1.0)
    if dataset.digest != data["digest"]:
        raise SystemExit(f"the generator no longer gives {card['version']}'s training data")
    settings = TrainSettings(target_precision=card["target_precision"], folds=3,
                             holdout=data["holdout_share"], seed=data["split_seed"],
                             candidates="served", progress=False, threads=1)  # fmt: skip
    result = train(dataset, settings)
    assert result.out_of_fold is not None  # train() always keeps them
    labels, scores = result.out_of_fold
    print(f"model {card['version']}: card threshold {card['threshold']}, {len(labels)} "
          f"out-of-fold pairs ({time.perf_counter() - clock:.0f} s)")  # fmt: skip
    for floor in FLOORS:
        choice = choose_threshold(labels, scores, settings.target_precision, floor)
        figures = summary(labels, scores, choice.threshold)
        threshold = round(choice.threshold, 6)
        print(f"  min recall {floor}: threshold {threshold} ({choice.rule}; precision "
              f"{figures['precision']}, recall {figures['recall']}): "
              f"{'the card' if threshold == card['threshold'] else 'MOVED'}")  # fmt: skip


if __name__ == "__main__":
    main()
