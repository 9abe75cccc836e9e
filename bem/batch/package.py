"""The dependency archive for EMR Serverless (`spark.archives=…#environment`), without Docker.

Wheels for the cluster's Python and platform are installed with pip's cross-platform options
(`--platform manylinux2014_x86_64 --python-version 3.12 --only-binary=:all:`) into a venv
layout: `bin/python` is a symlink to the cluster's interpreter (`/usr/bin/python3.12` by
default) and `pyvenv.cfg` makes that interpreter use the archive's site-packages, so
`PYSPARK_PYTHON=./environment/bin/python` runs the project's pinned numpy, scikit-learn and
pyarrow. pyspark itself is not packed: the cluster brings its own.
`check_archive` reads every wheel's tags back and runs the seed example through the archive
under a local interpreter of the same version.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bem.packaging.targets import find_interpreter

REPO_ROOT = Path(__file__).resolve().parents[2]
# Distributions the executors import (pins come from constraints.txt): the runtime set,
# the model of record's scikit-learn, and pandas + pyarrow for Spark's Arrow UDFs.
PACKAGES = (
    "numpy",
    "rapidfuzz",
    "snowballstemmer",
    "unidecode",
    "pytz",
    "aws-lambda-powertools",
    "scikit-learn",
    "scipy",
    "joblib",
    "pandas",
    "pyarrow",
)
DEFAULT_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
ARM_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")


class PackageError(Exception):
    """The archive could not be built or does not fit its target."""


@dataclass
class ArchiveReport:
    """What the archive holds and what the check found."""

    path: Path
    python: str
    platforms: tuple[str, ...]
    wheels: dict[str, list[str]] = field(default_factory=dict)  # dist-info -> tags
    size_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    seed_score: float | None = None


def platforms_for(arch: str) -> tuple[str, ...]:
    """The manylinux platform tags of an architecture (x86_64 or arm64)."""
    if arch in ("x86_64", "amd64"):
        return DEFAULT_PLATFORMS
    if arch in ("arm64", "aarch64"):
        return ARM_PLATFORMS
    raise PackageError(f"unknown architecture {arch!r}: use x86_64 or arm64")


def build_archive(
    out: Path,
    python: str = "3.12",
    arch: str = "x86_64",
    interpreter_home: str = "/usr/bin",
    constraints: Path = REPO_ROOT / "constraints.txt",
) -> ArchiveReport:
    """Install the target's wheels into a venv layout and pack it as a .tar.gz at `out`."""
    platforms = platforms_for(arch)
    with tempfile.TemporaryDirectory(prefix="bem-emr-env-") as workdir:
        env = Path(workdir) / "environment"
        site = env / "lib" / f"python{python}" / "site-packages"
        site.mkdir(parents=True)
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(site)]
        command += ["--only-binary=:all:", "--python-version", python, "--implementation", "cp"]
        for platform in platforms:
            command += ["--platform", platform]
        command += ["-c", str(constraints), *PACKAGES]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PackageError(
                f"pip could not install the wheels for python{python}:\n{done.stderr}"
            )
        write_venv_layout(env, python, interpreter_home)
        out.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(out, "w:gz") as archive:
            archive.add(env, arcname=".")
    report = ArchiveReport(out, python, platforms)
    report.size_bytes = out.stat().st_size
    return report


def write_venv_layout(env: Path, python: str, interpreter_home: str) -> None:
    """bin/python → the interpreter in `interpreter_home`, and the pyvenv.cfg that makes it a
    venv: the interpreter then uses `lib/python<version>/site-packages` of the archive."""
    bin_dir = env / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("python", "python3", f"python{python}"):
        link = bin_dir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(f"{interpreter_home.rstrip('/')}/python{python}")
    (env / "pyvenv.cfg").write_text(
        f"home = {interpreter_home}\ninclude-system-site-packages = false\nversion = {python}\n"
    )


def wheel_tags(site: Path) -> dict[str, list[str]]:
    """The `Tag:` lines of every installed distribution's WHEEL file."""
    tags = {}
    for wheel in sorted(site.glob("*.dist-info/WHEEL")):
        lines = wheel.read_text().splitlines()
        tags[wheel.parent.name] = [
            line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:")
        ]
    return tags


def tag_problems(tags: dict[str, list[str]], python: str, platforms: tuple[str, ...]) -> list[str]:
    """Distributions whose tags fit neither the target interpreter nor its platforms."""
    version = "cp" + python.replace(".", "")
    arch = platforms[0].split("_", 1)[1]
    problems = []
    for dist, lines in tags.items():
        fits = False
        for tag in lines:
            interpreter, abi, platform = tag.split("-")
            python_ok = interpreter in (version, "py3") or (
                abi == "abi3" and _cp_number(interpreter) <= _cp_number(version)
            )
            platform_ok = platform == "any" or (
                platform.startswith("manylinux") and platform.endswith(arch)
            )
            fits = fits or (python_ok and platform_ok)
        if not fits:
            problems.append(f"{dist}: tags {lines} do not fit {version} on {arch}")
    return problems


def _cp_number(tag: str) -> int:
    """312 for "cp312" (0 when the tag names no CPython version)."""
    digits = tag[2:] if tag.startswith("cp") else ""
    return int(digits) if digits.isdigit() else 0


SEED_CHECK = """
import json, sys
import numpy, sklearn, pyarrow, pandas
assert sys.prefix != sys.base_prefix, "not running as the archive's venv"
import predict
from budget_matcher.contract import SEED_EXAMPLE
from budget_matcher.scoring import score_payload
items = score_payload(SEED_EXAMPLE, predict.load_model()).items
print(json.dumps({"python": sys.version.split()[0], "prefix": sys.prefix,
                  "numpy": numpy.__version__, "sklearn": sklearn.__version__, "items": items}))
"""


def check_archive(
    report: ArchiveReport,
    code_zip: Path,
    model_dir: Path,
    nltk_data: Path,
    interpreter: str | None = None,
) -> ArchiveReport:
    """Check the tags, then unpack the archive, point its bin/python at a local interpreter of
    the same version and score the seed example with the code zip and the model."""
    import json

    local = find_interpreter(report.python, interpreter)
    with tempfile.TemporaryDirectory(prefix="bem-emr-check-") as workdir:
        env = Path(workdir) / "environment"
        with tarfile.open(report.path) as archive:
            archive.extractall(env, filter="tar")
        site = env / "lib" / f"python{report.python}" / "site-packages"
        report.wheels = wheel_tags(site)
        report.problems = tag_problems(report.wheels, report.python, report.platforms)
        write_venv_layout(env, report.python, str(local.parent))
        variables = dict(
            os.environ,
            PYTHONPATH=str(code_zip),
            BEM_MODEL_DIR=str(model_dir),
            BEM_NLTK_DATA=str(nltk_data),
        )
        variables.pop("PYTHONHOME", None)
        done = subprocess.run(
            [str(env / "bin" / "python"), "-c", SEED_CHECK],
            capture_output=True,
            text=True,
            env=variables,
            cwd=workdir,
            check=False,
        )
        if done.returncode != 0:
            report.problems.append(f"the archive could not score the seed example:\n{done.stderr}")
            return report
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        if not answer["python"].startswith(report.python + "."):
            report.problems.append(f"ran under python {answer['python']}, not {report.python}")
        report.seed_score = answer["items"][0]["score"]
    return report
