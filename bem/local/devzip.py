"""A deploy.zip for the emulator's tests and benchmarks, when `./build` has not made one.

`ensure_deploy_zip()` prefers, in order: an explicit path or $BEM_DEPLOY_ZIP, `./build`'s
deploy.zip (running `./build` when the script exists and the zip does not), and last a
development zip: the repo's runtime code (tracked files of the allow-list, as they are in the
work tree) plus the runtime dependencies `pip install --target`ed for the *target*
interpreter (cached under ~/.cache/bem), lightly trimmed (no tests, caches, sources of C
extensions) and compiled with `--invalidation-mode unchecked-hash`. When the repo has no
trained model yet, a small placeholder model (random features, honest card) goes in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import tomllib
import warnings
import zipfile
from pathlib import Path

from bem.local.task import (
    DEFAULT_RUNTIME,
    cache_root,
    find_interpreter,
    locked,
    prune_oldest,
)
from budget_matcher.config import ENV_DEPLOY_ZIP

RUNTIME_ALLOW_LIST = (
    "lambda_handler.py",
    "predict.py",
    "flattened_data_points.py",
    "budget_matcher",
    "model",
    "nltk_data",
    "lib",
)
# Needed to unpickle model.joblib; shipped only in the development zip's sklearn form.
MODEL_OF_RECORD_EXTRA = ("scikit-learn", "scipy", "joblib")
TRIM_DIRS = {"__pycache__", "tests", "test"}
TRIM_SUFFIXES = (".pyx", ".pxd", ".pxi", ".c", ".cpp", ".h", ".hpp", ".pyi")


def _pins(repo: Path) -> list[str]:
    """The runtime dependency pins, plus the train extra's pins of the model-of-record libs."""
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    pins = list(project["dependencies"])
    for requirement in project["optional-dependencies"]["train"]:
        if requirement.split("==")[0] in MODEL_OF_RECORD_EXTRA:
            pins.append(requirement)
    return pins


def _trim(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() and path.name in TRIM_DIRS:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.suffix in TRIM_SUFFIXES:
            path.unlink()


def ensure_dependencies(repo: Path, interpreter: Path, runtime: str, cache: Path | None) -> Path:
    """The runtime dependencies for `interpreter`, installed once into the cache."""
    pins = _pins(repo)
    key = hashlib.sha256("\n".join([runtime, *sorted(pins)]).encode()).hexdigest()[:16]
    target = cache_root(cache) / f"deps-{runtime}-{key}"
    if (target / ".complete").exists():
        return target
    with locked(target.with_suffix(".lock")):
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            command = [
                str(interpreter), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--no-warn-script-location", "--only-binary", ":all:", "--no-compile",
                "--target", str(target), *pins,
            ]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"pip install of the runtime set failed:\n{done.stderr[-1500:]}")
            _trim(target)
            (target / ".complete").write_text("\n".join(pins))
    return target


def _tracked_runtime_files(repo: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--", *RUNTIME_ALLOW_LIST],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [name for name in listed if (repo / name).is_file()]


def write_placeholder_model(
    directory: Path, version: str = "0.0.0-placeholder", name: str = "placeholder-model"
) -> Path:
    """A small HistGradientBoosting Pipeline on random features with a correct model card.

    Its scores mean nothing; it lets the service, emulator and tests run without the model of
    record.
    """
    import joblib
    import numpy as np
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    import predict
    from budget_matcher.features import FEATURE_NAMES

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    features = rng.random((400, len(FEATURE_NAMES)))
    labels = (features[:, 0] > 0.6).astype(int)
    pipeline = Pipeline([("classifier", HistGradientBoostingClassifier(max_iter=10))])
    pipeline.fit(features, labels)
    joblib.dump(pipeline, directory / predict.PICKLE_FILE)
    card = {
        "name": name,
        "version": version,
        "artifacts": {
            predict.PICKLE_FILE: {"sha256": predict.sha256_of(directory / predict.PICKLE_FILE)}
        },
        "library_versions": {"scikit-learn": sklearn.__version__},
        "features": list(FEATURE_NAMES),
        "threshold": 0.5,
    }
    (directory / predict.CARD_FILE).write_text(json.dumps(card))
    return directory


def build_dev_zip(
    repo: Path,
    output: Path | None = None,
    runtime: str = DEFAULT_RUNTIME,
    cache: Path | None = None,
) -> Path:
    """A development deploy.zip of the work tree's runtime code (cached by content)."""
    repo = Path(repo).resolve()
    interpreter = find_interpreter(runtime)
    deps = ensure_dependencies(repo, interpreter, runtime, cache)
    files = _tracked_runtime_files(repo)
    has_model = any(name.startswith("model/") and name.endswith("model.json") for name in files)
    digest = hashlib.sha256(str(deps).encode())
    for name in files:
        digest.update(name.encode() + b"\0" + (repo / name).read_bytes())
    output = output or cache_root(cache) / f"dev-{runtime}-{digest.hexdigest()[:16]}.zip"
    if output.exists():
        return output
    with tempfile.TemporaryDirectory(prefix="bem-devzip-") as scratch:
        stage = Path(scratch) / "task"
        shutil.copytree(deps, stage, ignore=shutil.ignore_patterns(".complete", "bin"))
        for name in files:
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, stage / name)
        if not has_model:
            write_placeholder_model(stage / "model")
        subprocess.run(
            [str(interpreter), "-m", "compileall", "-q", "-j", "0",
             "--invalidation-mode", "unchecked-hash", str(stage)],
            check=False, capture_output=True,
        )  # fmt: skip
        partial = output.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for path in sorted(stage.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(stage).as_posix())
        os.replace(partial, output)
    prune_oldest(list(output.parent.glob(f"dev-{runtime}-*.zip")), keep=3)
    return output


def ensure_deploy_zip(
    repo: Path, explicit: Path | None = None, runtime: str = DEFAULT_RUNTIME
) -> Path:
    """The zip to emulate: explicit > $BEM_DEPLOY_ZIP > ./build's deploy.zip > a dev zip."""
    if explicit is not None:
        return explicit
    if os.environ.get(ENV_DEPLOY_ZIP):
        return Path(os.environ[ENV_DEPLOY_ZIP])
    repo = Path(repo).resolve()
    built = repo / "deploy.zip"
    build_script = repo / "build"
    if not built.exists() and build_script.is_file() and os.access(build_script, os.X_OK):
        done = subprocess.run([str(build_script)], cwd=repo, capture_output=True, text=True)
        if done.returncode != 0:
            warnings.warn(
                f"./build failed (exit {done.returncode}); emulating a development zip instead:\n"
                f"{done.stderr[-1500:]}",
                stacklevel=2,
            )
    if built.exists():
        return built
    return build_dev_zip(repo, runtime=runtime)
