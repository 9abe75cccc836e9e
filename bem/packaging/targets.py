"""What a build targets: Lambda runtime, architecture, model runtime, and the pins that follow.

The runtime dependency set is pyproject's `[project] dependencies`; `--runtime sklearn` adds the
`train` extra's scikit-learn, scipy and joblib; `--with-results-db` adds the `results-db` extra.
Where a pin has no wheel for the target, a per-Python override below replaces it (and the size
report says so).
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PYTHONS = ("3.11", "3.12", "3.13")
ARCHES = ("x86_64", "arm64")
RUNTIMES = ("lean", "sklearn")
BYTECODE_MODES = ("sourceless", "pycache", "none")
DEFAULT_PYTHON = "3.12"
DEFAULT_ARCH = "x86_64"

# python3.11 on Lambda is Amazon Linux 2 (glibc 2.26): manylinux2014 wheels only.
# python3.12 / 3.13 are Amazon Linux 2023 (glibc 2.34).
_GLIBC_TAGS = {"3.11": ("manylinux2014",), "3.12": None, "3.13": None}
_AL2023_TAGS = ("manylinux2014", "manylinux_2_28", "manylinux_2_34")

# Pins replaced per target Python because the project pin has no wheel there.
PIN_OVERRIDES: dict[str, dict[str, str]] = {
    # numpy 1.26.4 has no cp313 wheels; 2.4.6 is the numpy 2 line the tests run on.
    "3.13": {"numpy": "2.4.6"},
    # rapidfuzz 3.14 ships manylinux_2_27+ only; 3.13.0 is its last manylinux2014 wheel.
    "3.11": {"rapidfuzz": "3.13.0"},
}

# The runtime variant adds these distributions from the `train` extra.
SKLEARN_DISTRIBUTIONS = ("scikit-learn", "scipy", "joblib")
RESULTS_DB_EXTRA = "results-db"
SKLEARN_EXTRA = "train"

# Distribution name -> top-level import names the runtime may import (kept whole).
IMPORT_NAMES = {
    "scikit-learn": ("sklearn",),
    "aws-lambda-powertools": ("aws_lambda_powertools",),
    "unidecode": ("unidecode",),
    "pg8000": ("pg8000",),
    "sqlalchemy": ("sqlalchemy",),
}


class UnsupportedTarget(ValueError):
    """The requested combination cannot be built (no wheels for that runtime)."""


@dataclass(frozen=True)
class BuildTarget:
    """One build's target: Lambda Python, architecture, model runtime, options."""

    python: str = DEFAULT_PYTHON
    arch: str = DEFAULT_ARCH
    runtime: str = "lean"
    with_results_db: bool = False
    bytecode: str = "sourceless"
    extra_pins: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.python not in PYTHONS:
            raise UnsupportedTarget(f"--python must be one of {', '.join(PYTHONS)}")
        if self.arch not in ARCHES:
            raise UnsupportedTarget(f"--arch must be one of {', '.join(ARCHES)}")
        if self.runtime not in RUNTIMES:
            raise UnsupportedTarget(f"--runtime must be one of {', '.join(RUNTIMES)}")
        if self.bytecode not in BYTECODE_MODES:
            raise UnsupportedTarget(f"--bytecode must be one of {', '.join(BYTECODE_MODES)}")
        if self.runtime == "sklearn" and self.python == "3.11":
            raise UnsupportedTarget(
                "--runtime sklearn --python 3.11 cannot be built: python3.11 on Lambda is "
                "Amazon Linux 2 (glibc 2.26, manylinux2014 wheels only) and the pinned "
                "scikit-learn 1.9.1 has no manylinux2014 wheel (the last one is 1.7.2, which "
                "cannot load a 1.9.1 pickle). Use --python 3.12 or 3.13, or the default lean "
                "runtime, which needs no scikit-learn."
            )

    @property
    def lambda_runtime(self) -> str:
        """The Lambda runtime identifier, e.g. python3.12."""
        return f"python{self.python}"

    @property
    def lambda_arch(self) -> str:
        """The Lambda architecture name."""
        return self.arch

    @property
    def platforms(self) -> tuple[str, ...]:
        """pip --platform tags the target's glibc accepts."""
        machine = "x86_64" if self.arch == "x86_64" else "aarch64"
        tags = _GLIBC_TAGS[self.python] or _AL2023_TAGS
        return tuple(f"{tag}_{machine}" for tag in tags)

    @property
    def max_glibc(self) -> tuple[int, int]:
        """The newest glibc symbol version the target runtime provides."""
        return (2, 26) if self.python == "3.11" else (2, 34)

    @property
    def model_artifacts(self) -> tuple[str, ...]:
        """Files of model/ the variant ships (the rescorer besides: assemble.stage_rescorer)."""
        if self.runtime == "sklearn":
            return ("model.joblib", "model.json")
        return ("model_lean.npz", "model.json")

    def key(self) -> str:
        """Short name used for cache and staging directories."""
        extra = "-rdb" if self.with_results_db else ""
        return f"py{self.python}-{self.arch}-{self.runtime}{extra}"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pin_name(pin: str) -> str:
    return _normalise(re.split(r"[=<>!~\[; ]", pin, maxsplit=1)[0])


def read_pyproject(root: Path) -> dict[str, Any]:
    """The parsed pyproject.toml at `root`."""
    with (root / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def requirements(target: BuildTarget, root: Path) -> list[str]:
    """The pinned requirement lines to install for `target` (overrides applied, sorted)."""
    project = read_pyproject(root)["project"]
    pins = list(project["dependencies"])
    extras = project.get("optional-dependencies", {})
    if target.runtime == "sklearn":
        pins += [p for p in extras[SKLEARN_EXTRA] if _pin_name(p) in SKLEARN_DISTRIBUTIONS]
    if target.with_results_db:
        if RESULTS_DB_EXTRA not in extras:
            raise UnsupportedTarget(f"pyproject has no [{RESULTS_DB_EXTRA}] extra")
        pins += list(extras[RESULTS_DB_EXTRA])
    pins += list(target.extra_pins)
    overrides = PIN_OVERRIDES.get(target.python, {})
    resolved = []
    for pin in pins:
        name = _pin_name(pin)
        resolved.append(f"{name}=={overrides[name]}" if name in overrides else pin)
    return sorted(set(resolved), key=_pin_name)


def overridden_pins(target: BuildTarget) -> dict[str, str]:
    """Pins the target replaces, for the report."""
    return dict(PIN_OVERRIDES.get(target.python, {}))


def import_names(pins: list[str]) -> list[str]:
    """Top-level names of the requested distributions, kept whole: their import names and
    their distribution names (auditwheel's `<distribution>.libs` directories)."""
    names: list[str] = []
    for pin in pins:
        dist = _pin_name(pin)
        names.extend(IMPORT_NAMES.get(dist, ()))
        names.append(dist.replace("-", "_"))
    return sorted(set(names))


def find_interpreter(python: str, explicit: str | None = None) -> Path:
    """The interpreter of the target version: explicit > BEM_TARGET_PYTHON_3_12 > pyenv > PATH."""
    from budget_matcher.config import ENV_TARGET_PYTHON_PREFIX

    candidates = [
        explicit,
        os.environ.get(ENV_TARGET_PYTHON_PREFIX + python.replace(".", "_")),
    ]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    versions = sorted((pyenv_root / "versions").glob(f"{python}.*"), reverse=True)
    candidates += [str(v / "bin" / f"python{python}") for v in versions]
    candidates.append(shutil.which(f"python{python}"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise UnsupportedTarget(
        f"no python{python} interpreter found to compile and verify the package; install it "
        f"(pyenv install {python}) or set {ENV_TARGET_PYTHON_PREFIX}{python.replace('.', '_')}"
    )
