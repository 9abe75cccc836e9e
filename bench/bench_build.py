"""Benchmark: our deploy.zip against a naive package of the same dependencies, in one run.

Builds, side by side:
  naive    `python3.12 -m pip install --target` of the runtime set + scikit-learn, scipy,
           joblib, plus the code, model.joblib and nltk_data, zipped as is (the pickle served
           by scikit-learn); unzipped with `unzip`, which keeps mtimes so its .pyc stay valid
  lean     ./build (default: python3.12 x86_64, numpy-only model form)
  sklearn  ./build --runtime sklearn (the pickle loaded by scikit-learn)
and prints zipped/unzipped size, cold start to first response (median of 5 fresh `python -I
-S -B` interpreters scoring the seed example), peak RSS (VmHWM), warm rebuild time and
whether two builds are byte-identical, with the issue's targets beside them.

Run: PYTHONPATH=$PWD .venv/bin/python bench/bench_build.py [--model-dir model] [--runs 5]
Without --model-dir (and no model/ at HEAD) it trains a 200-tree imputer + HGB Pipeline on
random features of the real width.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bem.packaging import targets  # noqa: E402
from bem.packaging.assemble import ROOT_MODULES, extract_zip  # noqa: E402
from bem.packaging.probe import run_probe  # noqa: E402
from bem.packaging.verify import check_response  # noqa: E402

MB = 1e6


@dataclass
class Figures:
    """Measured figures of one package."""

    name: str
    zipped: int
    unzipped: int
    cold_median: float
    cold_all: list[float]
    rss_mib: float
    build_seconds: float | None = None


def _train_model(directory: Path) -> Path:
    """A 200-tree SimpleImputer + HistGradientBoosting Pipeline with a correct card."""
    import warnings

    import joblib
    import numpy as np
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    import predict
    from budget_matcher.features import FEATURE_NAMES

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(20_000, len(FEATURE_NAMES)))
    features[rng.random(features.shape) < 0.1] = np.nan
    labels = (np.nan_to_num(features[:, 0]) + rng.normal(size=len(features)) > 0).astype(int)
    pipeline = Pipeline(
        [
            ("imputer", SimpleImputer(strategy="median")),
            ("classifier", HistGradientBoostingClassifier(max_iter=200, early_stopping=False)),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.fit(features, labels)
    joblib.dump(pipeline, directory / "model.joblib")
    card = {
        "name": "bench-model",
        "version": "0.0.0-bench",
        "artifacts": {"model.joblib": {"sha256": predict.sha256_of(directory / "model.joblib")}},
        "library_versions": {"scikit-learn": sklearn.__version__},
        "features": list(FEATURE_NAMES),
        "threshold": 0.5,
    }
    (directory / "model.json").write_text(json.dumps(card, indent=2))
    return directory


def _build(
    args: list[str], model_dir: Path, output: Path, staging: Path, cache: Path | None = None
) -> float:
    started = time.perf_counter()
    command = [str(ROOT / "build"), "--model-dir", str(model_dir), "--output", str(output)]
    done = subprocess.run(
        [*command, "--staging", str(staging), *args],
        cwd=ROOT,
        env={
            **_env(),
            "BEM_BUILD_PYTHON": sys.executable,
            **({"BEM_BUILD_CACHE": str(cache)} if cache else {}),
        },
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"./build {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PYENV_ROOT", "LANG")}


def _naive(model_dir: Path, work: Path, interpreter: Path) -> tuple[Path, float]:
    """pip install --target of the same set + scikit-learn, code and model, zipped as is."""
    started = time.perf_counter()
    package = work / "naive"
    pins = targets.requirements(targets.BuildTarget(runtime="sklearn"), ROOT)
    subprocess.run(
        [str(interpreter), "-m", "pip", "install", "--quiet", "--target", str(package), *pins],
        check=True,
        capture_output=True,
    )
    for name in ROOT_MODULES:
        shutil.copy2(ROOT / name, package / name)
    shutil.copytree(ROOT / "budget_matcher", package / "budget_matcher", dirs_exist_ok=True)
    shutil.copytree(ROOT / "nltk_data", package / "nltk_data", dirs_exist_ok=True)
    shutil.copytree(model_dir, package / "model", dirs_exist_ok=True)
    output = work / "naive.zip"
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(package).as_posix())
    return output, time.perf_counter() - started


def _unzip_keeping_mtimes(zip_path: Path, destination: Path) -> None:
    if destination.exists():
        shutil.rmtree(destination)
    subprocess.run(["unzip", "-q", str(zip_path), "-d", str(destination)], check=True)


def measure(name: str, zip_path: Path, work: Path, interpreter: Path, runs: int) -> Figures:
    """Sizes, and cold start + peak RSS over `runs` fresh isolated interpreters."""
    task = work / f"{name}-task"
    if name == "naive":
        _unzip_keeping_mtimes(zip_path, task)
    else:
        extract_zip(zip_path, task)
    with zipfile.ZipFile(zip_path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    cold, rss = [], []
    for _ in range(runs):
        result = run_probe(interpreter, [task], cwd=task, timeout=300)
        check_response(result.response)
        cold.append(result.first_response_seconds)
        rss.append(result.maxrss_kb / 1024)
    return Figures(name, zip_path.stat().st_size, unzipped, statistics.median(cold), cold, max(rss))


def main() -> int:
    """Build all three packages, measure them, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    interpreter = targets.find_interpreter("3.12")
    work = Path(tempfile.mkdtemp(prefix="bem-bench-build-"))
    committed = ROOT / "model"
    if args.model_dir is None and (committed / "model.joblib").exists():
        args.model_dir = committed
    model_dir = args.model_dir or _train_model(work / "model")
    print(f"model: {model_dir}; work dir: {work}; interpreter: {interpreter}")

    cache = work / "cache"  # empty: the first build downloads every wheel
    first = _build([], model_dir, work / "lean.zip", work / "staging-1", cache)
    shutil.rmtree(cache / "deps")  # keep only the wheels (the pip cache)
    shutil.rmtree(cache / "deflate")
    wheels_only = _build([], model_dir, work / "lean-wheels.zip", work / "staging-w", cache)
    warm = _build([], model_dir, work / "lean-again.zip", work / "staging-2", cache)
    identical = (work / "lean.zip").read_bytes() == (work / "lean-again.zip").read_bytes()
    identical &= (work / "lean.zip").read_bytes() == (work / "lean-wheels.zip").read_bytes()
    sk_seconds = _build(["--runtime", "sklearn"], model_dir, work / "sklearn.zip", work / "st-3")

    figures = [measure("lean", work / "lean.zip", work, interpreter, args.runs)]
    figures[0].build_seconds = warm
    sk = measure("sklearn", work / "sklearn.zip", work, interpreter, args.runs)
    sk.build_seconds = sk_seconds
    figures.append(sk)
    if not args.skip_naive:
        naive_zip, naive_seconds = _naive(model_dir, work, interpreter)
        naive = measure("naive", naive_zip, work, interpreter, args.runs)
        naive.build_seconds = naive_seconds
        figures.append(naive)

    print(f"\n{'package':<9} {'zip MB':>8} {'unzip MB':>9} {'cold s':>7} {'RSS MiB':>8} build s")
    for f in figures:
        runs = " ".join(f"{c:.2f}" for c in f.cold_all)
        print(
            f"{f.name:<9} {f.zipped / MB:>8.2f} {f.unzipped / MB:>9.2f} {f.cold_median:>7.3f} "
            f"{f.rss_mib:>8.1f} {f.build_seconds or 0:>7.1f}   (cold runs: {runs})"
        )
    lean = figures[0]
    print(
        f"\nlean build: empty cache {first:.1f} s; wheels cached only {wheels_only:.1f} s; "
        f"warm rebuild (wheels, trimmed tree, deflate streams cached) {warm:.1f} s"
    )
    print(f"three lean builds byte-identical: {identical}")
    checks = [
        ("lean zip <= 25 MB", lean.zipped <= 25_000_000),
        ("lean unzipped <= 100 MB", lean.unzipped <= 100_000_000),
        ("lean cold start <= 0.35 s", lean.cold_median <= 0.35),
        ("lean peak RSS <= 96 MiB", lean.rss_mib <= 96),
        ("warm rebuild <= 30 s", warm <= 30),
        ("rebuild with only the wheels cached <= 30 s", wheels_only <= 30),
        ("builds byte-identical", identical),
        ("sklearn zip <= 50 MB (goal)", sk.zipped <= 50_000_000),
        ("sklearn unzipped <= 250 MB", sk.unzipped <= 262_144_000),
        ("sklearn cold start <= 1.0 s (goal)", sk.cold_median <= 1.0),
    ]
    if not args.skip_naive:
        ratio = lean.cold_median / figures[-1].cold_median
        print(f"lean cold start / naive cold start = {ratio:.3f}")
        checks.append(("lean cold <= 0.15 x naive", ratio <= 0.15))
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {label}")
    print(f"\n(work files left in {work})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
