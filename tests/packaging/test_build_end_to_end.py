"""Real builds of the repository: allow-list, sizes, verify, reproducibility, refusals."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import predict
from bem.packaging import targets
from bem.packaging.build import BuildFailed, BuildResult
from budget_matcher.lean_model import LeanModel
from tests.packaging.conftest import REPO_ROOT, build_once, require_interpreter

pytestmark = pytest.mark.slow

ALLOWED_CODE = {"lambda_handler.py", "predict.py", "flattened_data_points.py", "__pycache__"}
ALLOWED_DIRS = {"budget_matcher", "model", "nltk_data", "lib"}
NEVER_SHIPPED = {"bem", "tests", "bench", "scripts", "sklearn", "scipy", "joblib", "click", "tqdm"}


def _names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def test_build_default_zip_holds_only_the_allow_list(default_build: BuildResult) -> None:
    names = _names(default_build.function_zip)
    tops = {name.split("/")[0] for name in names}
    dependency_tops = tops - ALLOWED_CODE - ALLOWED_DIRS
    assert not tops & NEVER_SHIPPED
    assert not any(t.endswith((".toml", ".md", ".txt", ".sh")) for t in tops)
    assert {"numpy", "rapidfuzz", "unidecode", "pytz", "snowballstemmer"} <= dependency_tops
    assert sorted(n for n in names if n.startswith("model/")) == [
        "model/model.json",
        "model/model_lean.npz",
        "model/model_trees.so",
    ]
    assert "nltk_data/corpora/stopwords/english" in names
    assert not any("/tests/" in name or name.endswith((".h", ".pyi")) for name in names)


def test_build_default_zip_keeps_every_unidecode_table(default_build: BuildResult) -> None:
    names = _names(default_build.function_zip)
    tables = [n for n in names if n.startswith("unidecode/x") and n.endswith(".pyc")]
    assert len(tables) > 150  # one per Unicode block the package covers; none traced away


def test_build_default_meets_the_size_targets(default_build: BuildResult) -> None:
    sizes = default_build.sizes
    assert sizes.zip_bytes["deploy.zip"] <= 25_000_000
    assert sizes.total_unzipped <= 100_000_000
    assert sum(p.unzipped for p in sizes.packages) == sizes.total_unzipped


def test_build_default_verify_scored_the_seed_in_isolation(default_build: BuildResult) -> None:
    verified = default_build.verified
    assert verified is not None and verified.python.startswith("3.12")
    assert 0.0 <= verified.score <= 1.0
    assert verified.maxrss_kb <= 96 * 1024
    assert default_build.equivalence_rows and default_build.equivalence_rows >= 10_000
    assert default_build.equivalence_max_abs_diff is not None
    assert default_build.equivalence_max_abs_diff <= 1e-9


def test_build_default_zip_runs_transliteration_and_its_own_card(
    default_build: BuildResult, tmp_path: Path
) -> None:
    with zipfile.ZipFile(default_build.function_zip) as archive:
        archive.extractall(tmp_path)
    code = (
        "import sys; sys.path[:0] = ['.']\n"
        "from unidecode import unidecode\n"
        "print(unidecode('Ελληνικά Łódź Москва'))\n"
    )
    interpreter = require_interpreter("3.12")
    done = subprocess.run(
        [str(interpreter), "-I", "-S", "-B", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "Ellenika Lodz Moskva", done.stderr
    card = json.loads((tmp_path / "model/model.json").read_text())
    lean_path = tmp_path / "model/model_lean.npz"
    assert card["artifacts"]["model_lean.npz"]["sha256"] == predict.sha256_of(lean_path)
    loaded = predict.load_model(tmp_path / "model", form="lean")
    assert (loaded.evaluator, loaded.evaluator_note) == ("compiled", None)
    assert card["artifacts"]["model_trees.so"]["sha256"] == predict.sha256_of(
        tmp_path / "model/model_trees.so"
    )
    rows = np.zeros((3, LeanModel.load(lean_path).n_features))
    assert loaded.score(rows).shape == (3,)


def test_build_second_build_is_byte_identical(
    default_build: BuildResult, build_model_dir: Path, tmp_path: Path
) -> None:
    again = build_once(tmp_path, build_model_dir)
    assert again.sha256["deploy.zip"] == default_build.sha256["deploy.zip"]
    assert again.function_zip.read_bytes() == default_build.function_zip.read_bytes()


def test_build_command_fails_over_a_size_limit_without_output(
    build_model_dir: Path, tmp_path: Path
) -> None:
    require_interpreter("3.12")
    output = tmp_path / "deploy.zip"
    done = subprocess.run(
        [
            str(REPO_ROOT / "build"),
            "--model-dir",
            str(build_model_dir),
            "--output",
            str(output),
            "--staging",
            str(tmp_path / "staging"),
            "--max-zip-bytes",
            "1000000",
        ],
        cwd=REPO_ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(Path.home()),
            "BEM_BUILD_PYTHON": sys.executable,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1
    assert "over the 1,000,000 B direct-upload limit" in done.stderr
    assert "numpy.libs" in done.stdout  # the size report is printed before the refusal
    assert not output.exists()


def test_build_refuses_a_lean_form_that_differs_from_the_pickle(
    build_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = LeanModel.predict_proba_positive

    def off_by_a_little(self: LeanModel, X: np.ndarray, chunk_rows: int = 2048) -> np.ndarray:
        return original(self, X, chunk_rows) + 1e-7

    monkeypatch.setattr(LeanModel, "predict_proba_positive", off_by_a_little)
    with pytest.raises(BuildFailed, match=r"lean model: .*refusing"):
        build_once(tmp_path, build_model_dir)
    assert not (tmp_path / "deploy.zip").exists()


def test_build_sklearn_variant_works_with_the_pickle(build_model_dir: Path, tmp_path: Path) -> None:
    result = build_once(tmp_path, build_model_dir, targets.BuildTarget(runtime="sklearn"))
    names = _names(result.function_zip)
    assert sorted(n for n in names if n.startswith("model/")) == [
        "model/model.joblib",
        "model/model.json",
    ]
    assert any(n.startswith("sklearn/") for n in names)
    assert any(n.startswith("scipy.libs/") for n in names)
    assert result.verified is not None and 0.0 <= result.verified.score <= 1.0
    assert result.sizes.total_unzipped <= 262_144_000


def test_build_layer_puts_dependencies_under_python(build_model_dir: Path, tmp_path: Path) -> None:
    result = build_once(tmp_path, build_model_dir, layer=True)
    assert result.layer_zip is not None and result.verified is not None
    function_tops = {name.split("/")[0] for name in _names(result.function_zip)}
    assert function_tops <= ALLOWED_CODE | ALLOWED_DIRS
    layer_names = _names(result.layer_zip)
    assert all(name.startswith("python/") for name in layer_names)
    assert any(name.startswith("python/numpy/") for name in layer_names)


def test_build_with_results_db_stores_through_the_zips_sqlalchemy(
    build_model_dir: Path, tmp_path: Path
) -> None:
    result = build_once(tmp_path, build_model_dir, targets.BuildTarget(with_results_db=True))
    tops = {name.split("/")[0] for name in _names(result.function_zip)}
    assert {"sqlalchemy", "pg8000", "scramp"} <= tops
    stored = tmp_path / "staging" / "py3.12-x86_64-lean-rdb" / "verify-db" / "verify-results.db"
    with sqlite3.connect(stored) as connection:
        rows = connection.execute("SELECT budget_id, itemization_id FROM scored_results").fetchall()
    assert rows == [("309366", "4659496")]
    assert result.verified is not None


def test_build_without_a_compiler_ships_the_numpy_evaluator_and_says_so(
    build_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bem.packaging import tree_compiler

    monkeypatch.setitem(tree_compiler.COMPILERS, "x86_64", "no-such-compiler-gcc")
    result = build_once(tmp_path, build_model_dir)
    names = _names(result.function_zip)
    assert "model/model_trees.so" not in names and "model/model_lean.npz" in names
    assert any("compiled trees not shipped" in w for w in result.warnings)
    assert result.verified is not None and 0.0 <= result.verified.score <= 1.0


def test_build_ships_the_rescorer_of_the_model_of_record(tmp_path: Path) -> None:
    # The model of record has scoring's second stage: the zip carries it, verified by the
    # card, and the zip's seed answer is the rescored score the Lambda code gives here.
    import lambda_handler
    from budget_matcher.contract import SEED_EXAMPLE
    from budget_matcher.rescoring import RESCORER_FILE

    built = build_once(tmp_path, REPO_ROOT / "model")
    assert f"model/{RESCORER_FILE}" in _names(built.function_zip)
    assert built.verified is not None
    predict.reset_model_cache()
    (expected,) = lambda_handler.answer(SEED_EXAMPLE, None)
    assert built.verified.score == pytest.approx(expected["score"], abs=1e-6)
