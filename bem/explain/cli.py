"""`bem explain`: one pair's features, score and each feature's contribution to it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

import predict
from bem.data.cli import history_options, read_history
from bem.data.columns import HistoryError
from bem.data.convert import history_payload
from bem.data.options import HistoryArgs
from bem.explain.contributions import Explanation, explain, load_arrays
from budget_matcher import contract
from budget_matcher.features import compute_features
from budget_matcher.lean_model import LeanModel
from budget_matcher.rescoring import RescorerError
from flattened_data_points import FlattenedDataPoints


def _request(text: str | None) -> Any:
    if text is None:
        return contract.SEED_EXAMPLE
    candidate = Path(text[1:] if text.startswith("@") else text)
    if not text.lstrip().startswith(("{", "[")) and candidate.is_file():
        text = candidate.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise click.ClickException(
            f"the request is neither JSON nor a JSON file ({error.msg} at {error.pos}); "
            "pass the payload, @file.json, or --history FILE --user ID"
        ) from error


def _render(explanation: Explanation, index: int, label: str, top: int) -> list[str]:
    row = explanation.row(index, top)
    lines = [
        f"{label}: trees' score {row['score']:.4f} (raw {row['raw']:.4f} = baseline "
        f"{row['baseline']:.4f} + contributions {row['sum_of_contributions']:.4f})",
        f"  {'feature':<30} {'value':>12} {'contribution':>13}",
    ]
    for item in row["features"]:
        value = "missing" if item["value"] is None else f"{item['value']:.4g}"
        lines.append(f"  {item['feature']:<30} {value:>12} {item['contribution']:>+13.4f}")
    return lines


@click.command("explain")
@click.argument("request", required=False)
@click.option(
    "--history",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Take the pair from a history instead (a file, or a directory of tables; with --user).",
)
@history_options
@click.option("--user", "user_id", default=None, help="With --history: the user's id.")
@click.option("--budget", "budget_id", default=None, help="Only pairs of this budget.")
@click.option("--item", "item_id", default=None, help="Only pairs of this line item.")
@click.option(
    "--model-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Model directory (default: model/ or $BEM_MODEL_DIR).",
)
@click.option("--top", default=10, show_default=True, help="Features shown per pair.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every feature).")
def explain_command(
    request: str | None,
    history: Path | None,
    reading: HistoryArgs,
    user_id: str | None,
    budget_id: str | None,
    item_id: str | None,
    model_dir: Path | None,
    top: int,
    as_json: bool,
) -> None:
    """Explain scores: features, score and path-wise contribution of each feature.

    REQUEST is a request payload (JSON text or @file.json); without it, the seed example.
    The contributions and the baseline sum to the trees' raw score (log-odds before
    calibration). With a rescorer (bem model rescorer), the served score follows, with each
    competitor feature's term of its logit.

    Example: bem explain

    Example: bem explain @tests/events/seed_direct.json --budget 309366 --json
    """
    from budget_matcher import config

    if history is not None:
        if user_id is None:
            raise click.ClickException("--history needs --user ID (and maybe --budget/--item)")
        checked = read_history(history, reading, False)
        try:
            payload = history_payload(checked, user_id)
        except HistoryError as error:
            raise click.ClickException(str(error)) from error
    else:
        payload = _request(request)
    batch = FlattenedDataPoints(payload).all()
    pairs = batch.pairs
    chosen = [
        i
        for i, (b, t) in enumerate(zip(pairs.budget_ids, pairs.itemization_ids, strict=True))
        if budget_id in (None, b) and item_id in (None, t)
    ]
    if not chosen:
        errors = "; ".join(e["error"]["message"] for e in batch.error_items[:3])
        raise click.ClickException(
            "no candidate pair to explain"
            + (
                f" (the request's errors: {errors})"
                if errors
                else ": check --budget/--item against the request"
            )
        )
    directory = model_dir or config.env_path(config.ENV_MODEL_DIR, config.DEFAULT_MODEL_DIR)
    try:
        meta, arrays = load_arrays(directory)
    except predict.ModelUnavailable as error:  # the Lambda's own refusal
        advice = "; see bem train" if error.code == "model_missing" else ""
        raise click.ClickException(f"{directory}: {error.code}: {error.message}{advice}") from error
    features = compute_features(pairs)
    explanation = explain(meta, arrays, features[chosen])
    try:
        second = _second_stage(directory, LeanModel(meta, arrays), pairs, features, chosen)
    except (predict.ModelUnavailable, RescorerError) as error:  # as the Lambda would refuse it
        code = getattr(error, "code", "model_invalid")
        raise click.ClickException(f"{directory}: {code}: {error}") from error
    labels = [f"budget {pairs.budget_ids[i]} × item {pairs.itemization_ids[i]}" for i in chosen]
    if as_json:
        out = [
            {
                "budget_id": pairs.budget_ids[i],
                "itemization_id": pairs.itemization_ids[i],
                **explanation.row(k),
                **(second[k] if second else {}),
            }
            for k, i in enumerate(chosen)
        ]
        click.echo(json.dumps(out, indent=2))
        return
    for k, label in enumerate(labels):
        click.echo("\n".join(_render(explanation, k, label, top)))
        if second:
            click.echo("\n".join(_render_second(second[k], top)))


def _second_stage(
    directory: Path, trees_model: LeanModel, pairs: Any, features: np.ndarray, chosen: list[int]
) -> list[dict[str, Any]] | None:
    """Per chosen pair, the served score and the rescorer's terms (None without a rescorer):
    the second stage reads the trees' scores of all the request's pairs (the lean arrays
    already loaded: proven equal to the pickle)."""
    rescorer = predict.load_rescorer(directory, predict.read_card(directory))
    if rescorer is None:
        return None
    trees = trees_model.predict_proba_positive(features)
    rows, terms = rescorer.terms(pairs, trees)
    served = rescorer.rescore(pairs, trees)
    names = rescorer.features
    return [
        {
            "served_score": float(served[i]),
            "rescorer_intercept": rescorer.intercept,
            "rescorer_terms": [
                {
                    "feature": names[j],
                    "value": float(rows[i, j]),
                    "term": round(float(terms[i, j]), 6),
                }
                for j in np.argsort(-np.abs(terms[i]), kind="stable")
            ],
        }
        for i in chosen
    ]


def _render_second(second: dict[str, Any], top: int) -> list[str]:
    lines = [
        f"  served score {second['served_score']:.4f}: the trees' score read against the "
        f"pair's competitors (logit = {second['rescorer_intercept']:.4f} + terms)",
        f"  {'competitor feature':<30} {'value':>12} {'term':>13}",
    ]
    for term in second["rescorer_terms"][:top]:
        lines.append(f"  {term['feature']:<30} {term['value']:>12.4g} {term['term']:>+13.4f}")
    return lines
