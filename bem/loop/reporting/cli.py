"""`bem evaluate --learning-curve`: PR-AUC against the number of own labelled users, as a table
on stdout and as JSON (the command's report; the curve itself is `bem.loop.curve`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bem.data.cli import load_labelled
from bem.loop.options.cli import StoreSource
from bem.model.source import DataSource


def learning_curve_report(
    source: DataSource,
    store: StoreSource | None,
    sizes: tuple[int, ...],
    prior: tuple[int, float],
    paths: tuple[Path | None, Path],
) -> None:
    """`bem evaluate --learning-curve`: own users from the store, test users from --data or
    synthetic users; the curve as a table on stdout and as JSON at `paths[1]`."""
    import predict
    from bem.loop.curve import CurveSettings, learning_curve, markdown_table
    from bem.loop.prior import PRIOR_SEED, load_pipeline, prior_dataset, record_knobs
    from budget_matcher import config

    if store is None or not sizes:
        raise click.UsageError("--learning-curve N,N,… takes own labelled users from --from-store")
    model_dir = paths[0] or config.env_path(config.ENV_MODEL_DIR, config.DEFAULT_MODEL_DIR)
    record = predict.load_model(model_dir, "sklearn")
    own, _ = store.load(source.unlisted)
    test = source.load(load_labelled, feature_tables=False).dataset
    prior_users, weight = prior
    prior_data = (
        prior_dataset(prior_users, PRIOR_SEED, record_knobs(record.card)) if prior_users else None
    )
    settings = CurveSettings(sizes=sizes, prior_weight=weight, seed=source.seed)
    rows = learning_curve(own, test, record, load_pipeline(model_dir), prior_data, settings,
                          lambda line: click.echo(line, err=True))  # fmt: skip
    click.echo("\n".join(markdown_table(rows)))
    paths[1].parent.mkdir(parents=True, exist_ok=True)
    document = {"model_of_record": record.version, "test": source.describe(),
                "own": store.describe(), "prior": {"users": prior_users, "weight": weight},
                "rows": rows}  # fmt: skip
    paths[1].write_text(json.dumps(document, indent=2) + "\n")
    click.echo(f"wrote {paths[1]}", err=True)
