"""Which model is which: versions, identity, the model of record and promotion to it.

`bem train` writes a candidate into its own directory `models/<version>/` (the version is the
next minor after every card it can see), so a training run never replaces the model of record
(`model/`) unless asked. `promote` copies a candidate into `model/`; `./build` ships the
committed `model/` and refuses when the work tree's differs (`working_tree_mismatch`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from budget_matcher.rescoring import RESCORER_FILE

CARD = "model.json"
PICKLE = "model.joblib"
LEAN = "model_lean.npz"
ARTIFACTS = (PICKLE, CARD, LEAN, RESCORER_FILE)


class ModelIdentityError(ValueError):
    """A model directory that cannot be used as asked: the message says what to do."""


def _version_tuple(version: object) -> tuple[int, int, int] | None:
    try:
        major, minor, patch = (int(part) for part in str(version).split("."))
    except ValueError:
        return None
    return major, minor, patch


def read_card(model_dir: Path) -> dict[str, Any]:
    """The model card of `model_dir`."""
    try:
        card = json.loads((model_dir / CARD).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ModelIdentityError(f"{model_dir}: no {CARD}; is this a model directory?") from error
    except (OSError, json.JSONDecodeError) as error:
        raise ModelIdentityError(f"{model_dir / CARD}: unreadable ({error})") from error
    if not isinstance(card, dict):
        raise ModelIdentityError(f"{model_dir / CARD}: not a model card")
    return card


def write_card(model_dir: Path, card: dict[str, Any]) -> None:
    """Write `card` as `model_dir`'s model.json (what `bem train` writes: indented, UTF-8)."""
    (model_dir / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")


def next_version(directories: Iterable[Path]) -> str:
    """The next minor version after the highest card among `directories` and their children."""
    best: tuple[int, int, int] | None = None
    for directory in directories:
        for card_path in [directory / CARD, *sorted(directory.glob(f"*/{CARD}"))]:
            try:
                version = _version_tuple(json.loads(card_path.read_text())["version"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if version is not None and (best is None or version > best):
                best = version
    if best is None:
        return "1.0.0"
    return f"{best[0]}.{best[1] + 1}.0"


def card_sha256(model_dir: Path) -> str:
    """sha256 of the card file (it names the pickle's sha256, so it identifies the model)."""
    return hashlib.sha256((model_dir / CARD).read_bytes()).hexdigest()


def model_sha256(card: dict[str, Any]) -> str:
    """The pickle's sha256 as the card records it: the model's identity, unchanged by the
    build's lean export (which adds an artefact to the card, so the card's own hash moves)."""
    return str(((card.get("artifacts") or {}).get(PICKLE) or {}).get("sha256") or "")


def identity(model_dir: Path) -> dict[str, Any]:
    """Version, threshold, model and card hashes and training-data digest of a model directory."""
    card = read_card(model_dir)
    return {
        "version": card.get("version"),
        "threshold": card.get("threshold"),
        "model_sha256": model_sha256(card),
        "card_sha256": card_sha256(model_dir),
        "training_data_digest": (card.get("training_data") or {}).get("digest"),
        "reading": card.get("reading") or {},
        # scoring's second stage: the same trees with another rescorer are another model
        "rescorer_sha256": ((card.get("artifacts") or {}).get(RESCORER_FILE) or {}).get("sha256"),
    }


def describe(ident: dict[str, Any]) -> str:
    """One line naming a model."""
    digest = ident.get("training_data_digest") or "?"
    rescorer = ident.get("rescorer_sha256")
    second = f", rescorer sha256 {rescorer[:12]}" if rescorer else ""
    return (
        f"model {ident['version']} (threshold {ident['threshold']}, sha256 "
        f"{ident['model_sha256'][:12]}{second}, card sha256 {ident['card_sha256'][:12]}, "
        f"training data {digest[:12]})"
    )


def reading_of(ident: dict[str, Any]) -> str:
    """How the function reads numeric dates and amounts with this model (its card's
    `reading`; BEM_DATE_ORDER/BEM_DECIMAL override it where set)."""
    from budget_matcher.conventions import Reading

    stored = ident.get("reading") or {}
    return Reading(stored.get("dates"), stored.get("decimal")).describe()


def promote(source: Path, record: Path) -> dict[str, Any]:
    """Copy the model in `source` into `record` (the model of record); returns its identity.

    The pickle is checked against the card's sha256 first; artefacts `source` lacks are removed
    from `record` so no stale export survives.
    """
    card = read_card(source)
    expected = ((card.get("artifacts") or {}).get(PICKLE) or {}).get("sha256")
    pickle_path = source / PICKLE
    if not pickle_path.exists():
        raise ModelIdentityError(f"{source}: no {PICKLE}; train one with `bem train`")
    actual = hashlib.sha256(pickle_path.read_bytes()).hexdigest()
    if expected != actual:
        raise ModelIdentityError(
            f"{pickle_path}: sha256 {actual[:12]} differs from its card's {str(expected)[:12]}; "
            "retrain it rather than promote it"
        )
    if source.resolve() == record.resolve():
        return identity(record)
    record.mkdir(parents=True, exist_ok=True)
    for name in ARTIFACTS:
        if (source / name).exists():
            shutil.copyfile(source / name, record / name)
        elif (record / name).exists():
            (record / name).unlink()
    return identity(record)


def working_tree_mismatch(root: Path, shipped: Path) -> str | None:
    """Why the work tree's `model/` differs from the `shipped` copy (None when it does not).

    Compares the card and the pickle byte for byte; the message spells the fix.
    """
    work = root / "model"
    differing = [
        name
        for name in (CARD, PICKLE)
        if (work / name).exists() != (shipped / name).exists()
        or ((work / name).exists() and (work / name).read_bytes() != (shipped / name).read_bytes())
    ]
    if not differing:
        return None
    mine = _safe_version(work)
    theirs = _safe_version(shipped)
    return (
        f"model/ in the work tree (version {mine}) differs from the committed model/ this build "
        f"would ship (version {theirs}): commit it (git add model && git commit -m 'Model "
        f"{mine}'), or ship the work tree's with --model-dir model, or restore the committed "
        "one (git checkout -- model)"
    )


def _safe_version(model_dir: Path) -> str:
    try:
        return str(read_card(model_dir).get("version"))
    except ModelIdentityError:
        return "none"
