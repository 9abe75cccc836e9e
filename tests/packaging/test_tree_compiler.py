"""The compiled tree evaluator: generated C, exact scores, refusals, glibc check, cross build."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

import lambda_handler
import predict
from bem.model.lean_export import export_model_dir, export_pipeline, probe_rows, update_card
from bem.packaging import bitvector_trees, tree_compiler, verify
from budget_matcher.compiled_model import CompiledModel, CompiledModelError
from budget_matcher.lean_model import LeanModel
from budget_matcher.request_log import logger
from tests.conftest import load_event

ELF_MACHINE = {"x86_64": 62, "arm64": 183}


def _features(rows: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, width))
    X[:, ::2] = np.round(X[:, ::2], 1)
    X[rng.random(X.shape) < 0.15] = np.nan
    return X


def _fit(pipeline: Pipeline, width: int) -> Pipeline:
    X = _features(1200, width, seed=1)
    y = (np.nan_to_num(X[:, 0]) - 0.5 * np.nan_to_num(X[:, 1]) > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline.fit(X, y)


def _hgb(trees: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=trees, random_state=0)


# Every shape `bem train` may produce: imputer or not, calibrated (1 or 3 members) or not, any
# width and tree count.
PIPELINES = {
    "plain-7-features": (lambda: Pipeline([("m", _hgb(25))]), 7),
    "imputed-sigmoid-3-members": (
        lambda: Pipeline(
            [
                ("i", SimpleImputer(strategy="median")),
                ("m", CalibratedClassifierCV(_hgb(30), method="sigmoid", cv=3, ensemble=True)),
            ]
        ),
        21,
    ),
    "isotonic-one-member-33-features": (
        lambda: Pipeline(
            [("m", CalibratedClassifierCV(_hgb(40), method="isotonic", cv=3, ensemble=False))]
        ),
        33,
    ),
}


@pytest.fixture(scope="module", params=sorted(PIPELINES))
def compiled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Pipeline, CompiledModel]:
    """Each pipeline shape fitted, exported and compiled once for the module."""
    tmp_path = tmp_path_factory.mktemp(request.param)
    make, width = PIPELINES[request.param]
    pipeline = _fit(make(), width)
    lean_path = tmp_path / "model_lean.npz"
    export_pipeline(pipeline, lean_path)
    library = tree_compiler.compile_library(lean_path, tmp_path / "model_trees.so")
    return pipeline, CompiledModel.load(lean_path, library)


@pytest.mark.slow
def test_compiled_scores_equal_predict_proba_exactly(
    compiled: tuple[Pipeline, CompiledModel],
) -> None:
    pipeline, model = compiled
    X = np.vstack(
        [_features(6000, model.lean.n_features, seed=7), probe_rows(model.lean, 6000, seed=3)]
    )
    expected = pipeline.predict_proba(X)[:, 1]
    actual = model.predict_proba_positive(X)
    assert X.shape[0] >= 10_000
    assert np.max(np.abs(actual - expected)) == 0.0
    assert np.array_equal(model.raw_scores(X[:5]), model.raw_scores(X[:5]))


@pytest.mark.slow
def test_compiled_refuses_a_wrong_width_and_scores_no_rows(
    compiled: tuple[Pipeline, CompiledModel],
) -> None:
    _, model = compiled
    assert model.predict_proba_positive(np.zeros((0, model.lean.n_features))).shape == (0,)
    with pytest.raises(ValueError, match="expected X of shape"):
        model.predict_proba_positive(np.zeros((3, model.lean.n_features + 1)))


def test_compiled_library_of_another_model_is_refused(tmp_path: Path) -> None:
    first = _fit(Pipeline([("m", _hgb(5))]), 4)
    second = _fit(Pipeline([("m", _hgb(6))]), 4)
    export_pipeline(first, tmp_path / "a.npz")
    export_pipeline(second, tmp_path / "b.npz")
    library = tree_compiler.compile_library(tmp_path / "a.npz", tmp_path / "a.so")
    with pytest.raises(CompiledModelError, match="generated from model"):
        CompiledModel.load(tmp_path / "b.npz", library)
    (tmp_path / "junk.so").write_bytes(b"not a library")
    with pytest.raises(CompiledModelError, match="cannot load"):
        CompiledModel.load(tmp_path / "a.npz", tmp_path / "junk.so")


def test_compile_is_byte_reproducible(tmp_path: Path) -> None:
    pipeline = _fit(Pipeline([("m", _hgb(8))]), 5)
    export_pipeline(pipeline, tmp_path / "m.npz")
    one = tree_compiler.compile_library(tmp_path / "m.npz", tmp_path / "one" / "t.so")
    two = tree_compiler.compile_library(tmp_path / "m.npz", tmp_path / "two" / "t.so")
    assert one.read_bytes() == two.read_bytes()


def test_generated_c_spells_every_constant_exactly() -> None:
    assert tree_compiler._c_double(0.1) == "0x1.999999999999ap-4"
    assert float.fromhex(tree_compiler._c_double(-123.456)) == -123.456
    assert tree_compiler._c_double(float("inf")) == "INFINITY"
    assert tree_compiler._c_double(float("-inf")) == "-INFINITY"


@pytest.fixture
def served_model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The placeholder model with its lean form and compiled trees listed in the card."""
    from bem.local.devzip import write_placeholder_model

    directory = write_placeholder_model(tmp_path / "model", version="0.0.0-compiled")
    export_model_dir(directory)
    library = tree_compiler.compile_library(
        directory / predict.LEAN_FILE, directory / predict.TREES_FILE
    )
    update_card(directory / predict.CARD_FILE, library)
    monkeypatch.setenv("BEM_MODEL_DIR", str(directory))
    monkeypatch.setenv("BEM_MODEL_FORM", "lean")
    return directory


def test_load_model_serves_compiled_trees_and_falls_back_to_numpy(
    served_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    X = _features(500, len(json.loads((served_model_dir / "model.json").read_text())["features"]))
    compiled = predict.load_model()
    assert (compiled.evaluator, compiled.evaluator_note) == ("compiled", None)
    monkeypatch.setenv("BEM_TREE_EVALUATOR", "numpy")
    numpy_model = predict.load_model()
    assert numpy_model.evaluator == "numpy"
    assert np.array_equal(compiled.score(X), numpy_model.score(X))
    monkeypatch.delenv("BEM_TREE_EVALUATOR")
    tampered = served_model_dir / predict.TREES_FILE
    tampered.unlink()  # a new file: the library loaded above stays mapped intact
    tampered.write_bytes(b"\x7fELF tampered")
    fallback = predict.load_model()
    assert fallback.evaluator == "numpy" and "sha256" in (fallback.evaluator_note or "")
    monkeypatch.setenv("BEM_TREE_EVALUATOR", "compiled")
    with pytest.raises(predict.ModelUnavailable) as refused:
        predict.load_model()
    assert refused.value.code == "model_evaluator_unavailable"


def test_handler_get_and_log_name_the_evaluator(served_model_dir: Path, seed_payload: dict) -> None:
    response = lambda_handler.answer(load_event("apigw_rest_v1_get.json"), None)
    info = json.loads(response["body"])
    assert (info["model_form"], info["evaluator"]) == ("lean", "compiled")
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(logger.registered_formatter)
    std_logger = logging.getLogger(logger.name)
    std_logger.addHandler(capture)
    try:
        lambda_handler.answer(seed_payload, None)
    finally:
        std_logger.removeHandler(capture)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    answered = [line for line in lines if line["message"] == "request answered"]
    assert answered and answered[-1]["evaluator"] == "compiled"


def _compile_c(tmp_path: Path, source: str) -> Path:
    (tmp_path / "x.c").write_text(source)
    out = tmp_path / "libx.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(tmp_path / "x.c")], check=True)
    return out


def test_glibc_check_refuses_a_symbol_newer_than_the_runtime(tmp_path: Path) -> None:
    # arc4random appeared in glibc 2.36, after Amazon Linux 2023's 2.34.
    library = _compile_c(
        tmp_path, "#include <stdlib.h>\nunsigned int f(void) { return arc4random(); }\n"
    )
    names = verify.needed_symbol_versions(library.read_bytes())
    assert "GLIBC_2.36" in names and verify.newest_glibc(names) == (2, 36)
    with pytest.raises(verify.VerifyFailed, match=r"libx.so \(GLIBC_2.36\)"):
        verify.check_glibc([tmp_path], (2, 34))
    assert verify.check_glibc([tmp_path], (2, 36)) == 1
    assert verify.needed_symbol_versions(b"#!/bin/sh\n") == []


@pytest.mark.parametrize("arch", sorted(tree_compiler.COMPILERS))
def test_compile_for_each_architecture_or_say_why_not(arch: str, tmp_path: Path) -> None:
    export_pipeline(_fit(Pipeline([("m", _hgb(6))]), 6), tmp_path / "m.npz")
    if tree_compiler.compiler_for(arch) is None:
        with pytest.raises(tree_compiler.CompileFailed, match="no C compiler"):
            tree_compiler.compile_library(tmp_path / "m.npz", tmp_path / "t.so", arch)
        return
    library = tree_compiler.compile_library(tmp_path / "m.npz", tmp_path / "t.so", arch)
    data = library.read_bytes()
    assert int.from_bytes(data[18:20], "little") == ELF_MACHINE[arch]
    newest = verify.newest_glibc(verify.needed_symbol_versions(data))
    assert newest is None or newest <= (2, 17)  # a small model's library may need no libc


def test_exact_expit_equals_scipy_expit_bit_for_bit() -> None:
    from scipy.special import expit

    from budget_matcher.lean_model import exact_expit

    x = np.concatenate(
        [
            np.random.default_rng(0).normal(scale=8.0, size=100_000),
            [-1000.0, -709.9, -700.5, 0.0, 700.5, 1000.0, np.inf, -np.inf, np.nan],
        ]
    )
    assert np.array_equal(exact_expit(x), expit(x), equal_nan=True)


@pytest.mark.slow
def test_arm64_library_gives_the_host_bits_under_emulation_when_installed(tmp_path: Path) -> None:
    pipeline = _fit(Pipeline([("i", SimpleImputer()), ("m", _hgb(12))]), 9)
    lean_path = tmp_path / "m.npz"
    export_pipeline(pipeline, lean_path)
    rows = np.vstack([_features(1500, 9, seed=4), probe_rows(LeanModel.load(lean_path), 1500)])
    emulator, sysroot = tree_compiler.EMULATORS["arm64"]
    runnable = (
        shutil.which(emulator) is not None
        and sysroot.is_dir()
        and tree_compiler.compiler_for("arm64") is not None
    )
    host = tree_compiler.compile_library(lean_path, tmp_path / "host.so")
    target = tmp_path / "arm64.so"
    if not runnable:
        assert not tree_compiler.prove_by_emulation(lean_path, target, host, "arm64", rows)
        return
    tree_compiler.compile_library(lean_path, target, "arm64")
    assert tree_compiler.prove_by_emulation(lean_path, target, host, "arm64", rows)
    other = tmp_path / "other.npz"
    export_pipeline(_fit(Pipeline([("m", _hgb(7))]), 9), other)
    tree_compiler.compile_library(other, target, "arm64")
    with pytest.raises(tree_compiler.CompileFailed, match="differs from the host"):
        tree_compiler.prove_by_emulation(lean_path, target, host, "arm64", rows)


def test_command_compiles_beside_the_card_and_lists_the_library(tmp_path: Path) -> None:
    from bem.local.devzip import write_placeholder_model

    directory = write_placeholder_model(tmp_path / "model")
    export_model_dir(directory)
    assert tree_compiler.main([str(directory / predict.LEAN_FILE)]) == 0
    card = json.loads((directory / predict.CARD_FILE).read_text())
    library = directory / predict.TREES_FILE
    assert card["artifacts"][predict.TREES_FILE]["sha256"] == predict.sha256_of(library)
    loaded = predict.load_model(directory, form="lean")
    assert loaded.evaluator == "compiled"
    assert tree_compiler.main([str(tmp_path / "missing.npz")]) == 2


@pytest.mark.slow
def test_compiled_model_pickles_as_its_paths_and_scores_the_same(
    compiled: tuple[Pipeline, CompiledModel],
) -> None:
    import pickle

    _, model = compiled
    again = pickle.loads(pickle.dumps(model))
    X = _features(300, model.lean.n_features, seed=11)
    assert again is not model and again.library == model.library
    assert np.array_equal(again.predict_proba_positive(X), model.predict_proba_positive(X))


def test_two_models_in_one_process_each_serve_their_own_library(
    served_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    width = len(json.loads((served_model_dir / predict.CARD_FILE).read_text())["features"])
    other = tmp_path / "other"
    other.mkdir()
    (other / predict.CARD_FILE).write_bytes((served_model_dir / predict.CARD_FILE).read_bytes())
    export_pipeline(_fit(Pipeline([("m", _hgb(9))]), width), other / predict.LEAN_FILE)
    library = tree_compiler.compile_library(other / predict.LEAN_FILE, other / predict.TREES_FILE)
    update_card(other / predict.CARD_FILE, other / predict.LEAN_FILE)
    update_card(other / predict.CARD_FILE, library)
    X = _features(400, width, seed=5)
    for directory in (served_model_dir, other, served_model_dir):
        compiled = predict.load_model(directory, form="lean")
        assert (compiled.evaluator, compiled.evaluator_note) == ("compiled", None)
        monkeypatch.setenv("BEM_TREE_EVALUATOR", "numpy")
        assert np.array_equal(compiled.score(X), predict.load_model(directory).score(X))
        monkeypatch.delenv("BEM_TREE_EVALUATOR")


def _leafy(leaves: int) -> Pipeline:
    """Trees of `leaves` leaves (min_samples_leaf=2 on 4000 rows lets them grow that far)."""
    model = HistGradientBoostingClassifier(
        max_iter=6, max_leaf_nodes=leaves, min_samples_leaf=2, random_state=0
    )
    X = _features(4000, 6, seed=1)
    y = np.nan_to_num(X[:, 0]) * np.nan_to_num(X[:, 2]) - 0.5 * np.nan_to_num(X[:, 1]) > 0
    return Pipeline([("m", model)]).fit(X, y.astype(int))


# (model, leaves per tree, scheme "auto" must pick): uint32 and uint64 bitvectors, the nested
# fallback beyond 64 leaves, and three calibrated members behind an imputer.
SCHEME_MODELS = {
    "31-leaves": (lambda: _fit(Pipeline([("m", _hgb(20))]), 6), 31, "bitvector"),
    "48-leaves": (lambda: _leafy(48), 48, "bitvector"),
    "100-leaves": (lambda: _leafy(100), 100, "nested"),
    "imputed-3-members": (
        lambda: _fit(
            Pipeline(
                [
                    ("i", SimpleImputer(strategy="median")),
                    ("m", CalibratedClassifierCV(_hgb(8), method="sigmoid", cv=3, ensemble=True)),
                ]
            ),
            6,
        ),
        31,
        "bitvector",
    ),
}


def _edge_rows(lean: LeanModel, n_rows: int, infinite: bool) -> np.ndarray:
    """Values on, just below and just above every threshold, NaN, and +inf and -inf when
    `infinite` (scikit-learn's imputer refuses infinities)."""
    rows = probe_rows(lean, n_rows, seed=5)
    rng = np.random.default_rng(6)
    if infinite:
        rows[rng.random(rows.shape) < 0.05] = np.inf
        rows[rng.random(rows.shape) < 0.05] = -np.inf
    return rows


@pytest.mark.parametrize("name", sorted(SCHEME_MODELS))
def test_each_scheme_scores_nan_inf_and_thresholds_exactly(name: str, tmp_path: Path) -> None:
    make, leaves, auto = SCHEME_MODELS[name]
    pipeline = make()
    lean_path = tmp_path / "m.npz"
    export_pipeline(pipeline, lean_path)
    lean = LeanModel.load(lean_path)
    internal = lean._left != np.arange(lean._left.size)
    assert set(lean._missing_left[internal].tolist()) == {False, True}  # NaN goes both ways
    arrays, meta = tree_compiler.read_lean(lean_path)
    assert max(bitvector_trees.tree_leaf_counts(arrays)) == leaves
    assert f"({auto} scheme)" in tree_compiler.generate_c(arrays, meta, "0" * 64).splitlines()[0]
    infinite = "i" not in pipeline.named_steps
    X = np.vstack([_edge_rows(lean, 4000, infinite), _features(2000, lean.n_features, seed=8)])
    expected = pipeline.predict_proba(X)[:, 1]
    for scheme in ("bitvector", "nested") if leaves <= 64 else ("nested",):
        library = tree_compiler.compile_library(
            lean_path, tmp_path / f"{scheme}.so", "x86_64", scheme
        )
        assert tree_compiler.prove_library(lean_path, library, X) == X.shape[0]
        actual = CompiledModel.load(lean_path, library).predict_proba_positive(X)
        assert np.array_equal(actual, expected), scheme
    if leaves > 64:
        with pytest.raises(tree_compiler.CompileFailed, match="more than 64 leaves"):
            tree_compiler.generate_c(arrays, meta, "0" * 64, "bitvector")


def test_compiled_trees_without_a_private_copy_are_not_loaded_numpy_serves(
    served_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full or unwritable /tmp: the verified bytes cannot be copied, so the library is not
    loaded at all (never from its path, which could be swapped); numpy serves."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "full-tmp"))
    model = predict.load_model(served_model_dir, form="lean")
    assert model.evaluator == "numpy"
    assert "private copy" in (model.evaluator_note or "")


def test_compiled_model_refuses_a_library_that_is_no_regular_file(
    served_model_dir: Path, tmp_path: Path
) -> None:
    zero = tmp_path / "model_trees.so"
    zero.symlink_to("/dev/zero")
    with pytest.raises(CompiledModelError, match="not a regular file"):
        CompiledModel.load(served_model_dir / predict.LEAN_FILE, zero)
    (served_model_dir / predict.TREES_FILE).unlink()
    (served_model_dir / predict.TREES_FILE).symlink_to("/dev/zero")
    model = predict.load_model(served_model_dir, form="lean")
    assert model.evaluator == "numpy" and "not a regular file" in (model.evaluator_note or "")
