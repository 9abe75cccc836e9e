"""Load the model once per container, verified against its model card, and score pairs.

model/model.json (the card) lists each artefact with its sha256, the library versions it was
trained with and the feature list. A missing file, a hash, version or feature mismatch raises
`ModelUnavailable`; the handler turns that into an error item in every answer, never a crash.
Two forms serve the same model: the pickled scikit-learn Pipeline (model.joblib, the model of
record) and the numpy-only lean form (model_lean.npz) that the default deploy.zip ships. The lean
form's trees are evaluated by the build's compiled library (model_trees.so) when the card lists
it and it loads, else by numpy; `LoadedModel.evaluator` says which. Loading also sets how
requests' numeric dates and amounts are read: the card's `reading` (BEM_DATE_ORDER/BEM_DECIMAL
win).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from budget_matcher import config
from budget_matcher.conventions import Reading
from budget_matcher.features import FEATURE_NAMES
from budget_matcher.pairs import CandidatePairs
from budget_matcher.rescoring import RESCORER_FILE, Rescorer
from budget_matcher.values import configure_reading
from budget_matcher.verified_files import read_regular

CARD_FILE = "model.json"
PICKLE_FILE = "model.joblib"
LEAN_FILE = "model_lean.npz"
TREES_FILE = "model_trees.so"
FORMS = ("sklearn", "lean")
EVALUATORS = ("auto", "compiled", "numpy")
# Bounds of what is read: the card is a few kB, the artefacts a few MB (Lambda's unzipped
# package is at most 250 MB). Artefacts must be regular files (verified_files.read_regular).
MAX_CARD_BYTES = 1024 * 1024
MAX_ARTIFACT_BYTES = 256 * 1024 * 1024


class ModelUnavailable(Exception):
    """The model cannot be served; `code` and `message` go into the error items."""

    def __init__(self, code: str, message: str, version: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.version = version  # the card's version when the card could be read


@dataclass
class LoadedModel:
    """A verified model ready to score feature matrices."""

    form: str
    card: dict[str, Any]
    threshold: float
    predict_positive: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    evaluator: str = "sklearn"  # "sklearn", "compiled" or "numpy"
    evaluator_note: str | None = None  # why the compiled trees are not serving, when not
    reading: Reading = field(default_factory=Reading)  # how numeric dates and amounts are read
    rescorer: Rescorer | None = None  # the second stage (budget_matcher.rescoring), when listed

    @property
    def version(self) -> str:
        """The model version from the card."""
        return str(self.card.get("version", "unknown"))

    def score(self, features: np.ndarray) -> np.ndarray:
        """Probability of a match for each row of `features`, in one vectorised call."""
        if features.shape[0] == 0:
            return np.zeros(0)
        return np.asarray(self.predict_positive(features), dtype=np.float64)

    def score_pairs(self, pairs: CandidatePairs, features: np.ndarray) -> np.ndarray:
        """The served score of every pair: the trees' score, rescored against the pair's
        competitors when the card lists a rescorer (its threshold is then the rescored one)."""
        scores = self.score(features)
        if self.rescorer is None:
            return scores
        return self.rescorer.rescore(pairs, scores)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(model_dir: Path) -> dict[str, Any]:
    """The model card, checked for the fields serving needs."""
    card = read_card_document(model_dir)
    features = card.get("features")
    if features != list(FEATURE_NAMES):
        raise ModelUnavailable(
            "model_feature_mismatch",
            "the model was trained on other features than this code computes "
            f"(card: {_clip(features)}; code: {list(FEATURE_NAMES)!r:.200})",
        )
    return card


def read_card_document(model_dir: Path) -> dict[str, Any]:
    """The card as a JSON object, read within its bounds (a regular file of at most
    MAX_CARD_BYTES, JSON nested no deeper than the parser's recursion limit)."""
    path = model_dir / CARD_FILE
    try:
        card = json.loads(read_regular(path, MAX_CARD_BYTES))
    except FileNotFoundError as error:
        raise ModelUnavailable("model_missing", f"no model card at {path}") from error
    except (OSError, ValueError, RecursionError) as error:
        message = f"unreadable model card: {type(error).__name__}: {error}"
        raise ModelUnavailable("model_card_invalid", message[:300]) from None
    if not isinstance(card, dict):
        raise ModelUnavailable("model_card_invalid", "the model card is not a JSON object")
    return card


def _clip(value: Any) -> str:
    try:
        return f"{value!r:.200}"
    except RecursionError:
        return "<nested too deep>"


def card_sha256(card: dict[str, Any], name: str) -> str:
    """The sha256 the card lists for artefact `name` (model_card_invalid when it lists none)."""
    artifacts = card.get("artifacts")
    entry = artifacts.get(name) if isinstance(artifacts, dict) else None
    expected = entry.get("sha256") if isinstance(entry, dict) else None
    if not isinstance(expected, str) or not expected:
        raise ModelUnavailable("model_card_invalid", f"the model card lists no sha256 for {name}")
    return expected


def verify_artifact(model_dir: Path, card: dict[str, Any], name: str) -> bytes:
    """The artefact's bytes, read once, after checking they match the card's sha256.

    The bytes that were hashed are the bytes that get loaded: a file swapped after the check
    is never opened again. The artefact must be a regular file of at most MAX_ARTIFACT_BYTES.
    """
    path = model_dir / name
    expected = card_sha256(card, name)
    try:
        data = read_regular(path, MAX_ARTIFACT_BYTES)
    except OSError as error:
        raise ModelUnavailable("model_missing", f"no model artefact at {path}: {error}") from error
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ModelUnavailable(
            "model_hash_mismatch", f"{name} has sha256 {actual[:12]}…, card says {expected[:12]}…"
        )
    return data


def load_pipeline(model_dir: Path) -> Any:
    """The scikit-learn pipeline of `model_dir`, unpickled only after the Lambda's own checks
    (card, sha256, scikit-learn version): the one loader of every command that needs the
    pickle (`bem explain`, `./build`'s lean export). ModelUnavailable otherwise."""
    card = read_card(model_dir)
    return _unpickle(verify_artifact(model_dir, card, PICKLE_FILE), card)


def _choose_form(model_dir: Path, form: str) -> str:
    if form in FORMS:
        return form
    sklearn_present = importlib.util.find_spec("sklearn") is not None
    if sklearn_present and (model_dir / PICKLE_FILE).is_file():
        return "sklearn"
    return "lean"


def _unpickle(data: bytes, card: dict[str, Any]) -> Any:
    try:
        import joblib
        import sklearn
    except ImportError as error:
        raise ModelUnavailable(
            "model_runtime_missing", f"scikit-learn is not installed: {error}"
        ) from error
    trained_with = (card.get("library_versions") or {}).get("scikit-learn")
    if trained_with != sklearn.__version__:
        raise ModelUnavailable(
            "model_version_mismatch",
            f"model trained with scikit-learn {trained_with}, runtime has {sklearn.__version__}",
        )
    return joblib.load(io.BytesIO(data))


def _load_pickle(data: bytes, card: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    pipeline = _unpickle(data, card)
    return lambda features: pipeline.predict_proba(features)[:, 1]


def _load_lean(
    model_dir: Path, card: dict[str, Any]
) -> tuple[Callable[[np.ndarray], np.ndarray], str, str | None]:
    """(scorer, evaluator, note): the compiled trees when listed and loadable, else numpy.

    Both artefacts are loaded from the bytes their hashes were checked on."""
    from budget_matcher.compiled_model import CompiledModel, CompiledModelError
    from budget_matcher.lean_model import LeanModel

    lean_data = verify_artifact(model_dir, card, LEAN_FILE)
    wanted = config.env_str(config.ENV_TREE_EVALUATOR, config.DEFAULT_TREE_EVALUATOR)
    note = None
    if wanted not in EVALUATORS:
        note = f"{config.ENV_TREE_EVALUATOR}={wanted!r} is not one of {', '.join(EVALUATORS)}"
    elif wanted == "numpy":
        note = f"{config.ENV_TREE_EVALUATOR}=numpy"
    elif TREES_FILE not in (card.get("artifacts") or {}):
        note = f"the model card lists no {TREES_FILE}"
    else:
        try:
            library_data = verify_artifact(model_dir, card, TREES_FILE)
            compiled = CompiledModel.from_bytes(
                lean_data, library_data, model_dir / LEAN_FILE, model_dir / TREES_FILE, trees=False
            )
            return compiled.predict_proba_positive, "compiled", None
        except (ModelUnavailable, CompiledModelError) as error:
            note = error.message if isinstance(error, ModelUnavailable) else str(error)
    if wanted == "compiled":
        raise ModelUnavailable("model_evaluator_unavailable", f"compiled trees: {note}")
    return LeanModel.load(io.BytesIO(lean_data)).predict_proba_positive, "numpy", note


def load_model(
    model_dir: Path | None = None, form: str | None = None, rescored: bool = True
) -> LoadedModel:
    """Read the card, verify the artefact of the chosen form and load it, with the rescorer
    the card lists (`rescored` False: the trees alone, as `bem model rescorer` fits on)."""
    directory = model_dir or config.env_path(config.ENV_MODEL_DIR, config.DEFAULT_MODEL_DIR)
    chosen = _choose_form(
        directory, form or config.env_str(config.ENV_MODEL_FORM, config.DEFAULT_MODEL_FORM)
    )
    try:
        card = read_card(directory)
    except ModelUnavailable:
        raise
    except Exception as error:  # whatever the card holds, the model is unavailable, not init
        message = f"unreadable model card: {type(error).__name__}"
        raise ModelUnavailable("model_card_invalid", message) from error
    version = str(card.get("version", "unknown"))
    evaluator, note = "sklearn", None
    try:
        threshold = _threshold(card)
        reading = apply_reading(card)
        if chosen == "sklearn":
            predict_positive = _load_pickle(verify_artifact(directory, card, PICKLE_FILE), card)
        else:
            predict_positive, evaluator, note = _load_lean(directory, card)
        rescorer = load_rescorer(directory, card) if rescored else None
    except ModelUnavailable as error:
        error.version = version
        raise
    except Exception as error:  # a corrupt artefact whose hash the card vouches for
        message = f"the model cannot be loaded: {type(error).__name__}: {error}"
        raise ModelUnavailable("model_invalid", message[:300], version) from error
    if rescorer is None and RESCORER_FILE in (card.get("artifacts") or {}):
        threshold = float(rescorer_card(card).get("first_threshold", threshold))
    return LoadedModel(
        chosen, card, threshold, predict_positive, evaluator, note, reading, rescorer
    )


def rescorer_card(card: dict[str, Any]) -> dict[str, Any]:
    """The card's `rescorer` entry (how the second stage was fitted; {} when none)."""
    entry = card.get("rescorer")
    return entry if isinstance(entry, dict) else {}


def load_rescorer(model_dir: Path, card: dict[str, Any]) -> Rescorer | None:
    """The card's rescorer, verified by its sha256 (None when the card lists none): the one
    loader of the Lambda and `bem explain`."""
    if RESCORER_FILE not in (card.get("artifacts") or {}):
        return None
    return Rescorer.from_bytes(verify_artifact(model_dir, card, RESCORER_FILE))


def card_reading(card: dict[str, Any]) -> tuple[str | None, str | None]:
    """(date order, decimal convention) to read requests by: BEM_DATE_ORDER / BEM_DECIMAL,
    else the card's `reading` (what training read)."""
    stored = card.get("reading")
    stored = stored if isinstance(stored, dict) else {}
    dates = os.environ.get(config.ENV_DATE_ORDER) or stored.get("dates")
    decimal = os.environ.get(config.ENV_DECIMAL) or stored.get("decimal")
    return dates, decimal


def apply_reading(card: dict[str, Any]) -> Reading:
    """Make budget_matcher.values read numeric dates and amounts as `card_reading` says."""
    try:
        return configure_reading(*card_reading(card))
    except ValueError as error:
        raise ModelUnavailable("model_card_invalid", f"reading: {error}") from error


def _threshold(card: dict[str, Any]) -> float:
    """The decision threshold: BEM_THRESHOLD, else the card's; a number in [0, 1] (not NaN)."""
    override = os.environ.get(config.ENV_THRESHOLD)
    try:
        threshold = float(override) if override else float(card["threshold"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelUnavailable("model_card_invalid", f"no usable threshold: {error}") from error
    if not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        source = config.ENV_THRESHOLD if override else "the model card"
        raise ModelUnavailable(
            "model_card_invalid", f"threshold {threshold!r} from {source} is not in [0, 1]"
        )
    return threshold


_cached: LoadedModel | ModelUnavailable | None = None


def get_model() -> LoadedModel:
    """The container's model, loaded on first use; a load failure is remembered and re-raised."""
    global _cached
    if _cached is None:
        try:
            _cached = load_model()
        except ModelUnavailable as error:
            _cached = error
        except Exception as error:  # never an init failure: answered per request
            _cached = ModelUnavailable("model_invalid", f"{type(error).__name__}: {error}"[:300])
    if isinstance(_cached, ModelUnavailable):
        raise _cached
    return _cached


def reset_model_cache() -> None:
    """Forget the loaded model (tests, or after replacing model/)."""
    global _cached
    _cached = None
