"""What a Lambda sandbox is made of, on this machine: task dir, runtime dir, interpreter.

- task dir: deploy.zip unpacked once per content hash (like /var/task), file modes and
  mtimes kept, size checked against Lambda's 250 MB unzipped limit;
- runtime dir: AWS's runtime client `awslambdaric` installed for the *target* interpreter
  into a directory of its own (like /var/runtime), once, on demand;
- interpreter: the target Python (python3.12 by default), never the tooling venv's.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from bem.deploy.spec import DEFAULT_RUNTIME
from budget_matcher.config import ENV_CACHE_DIR, ENV_LAMBDA_PYTHON, env_str

AWSLAMBDARIC_VERSION = "4.2.2"
MAX_UNZIPPED_BYTES = 262_144_000
KEEP_TASK_DIRS = 8  # unpacked zips kept in the cache, most recent first


class TaskSetupError(RuntimeError):
    """The task dir, runtime dir or interpreter cannot be made ready."""


def cache_root(explicit: Path | None = None) -> Path:
    """Where unpacked zips and runtime dirs live: argument > $BEM_CACHE_DIR > ~/.cache/bem."""
    if explicit is not None:
        return explicit
    return Path(env_str(ENV_CACHE_DIR, str(Path.home() / ".cache" / "bem")))


def runtime_version(runtime: str) -> str:
    """ "python3.12" -> "3.12"."""
    if not runtime.startswith("python3."):
        raise TaskSetupError(f"unsupported runtime {runtime!r}: expected python3.N")
    return runtime.removeprefix("python")


def find_interpreter(runtime: str = DEFAULT_RUNTIME, explicit: str | None = None) -> Path:
    """The target interpreter: argument > $BEM_LAMBDA_PYTHON > pyenv > PATH."""
    chosen = explicit or os.environ.get(ENV_LAMBDA_PYTHON)
    if chosen:
        return Path(chosen)
    version = runtime_version(runtime)
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
    if candidates:
        return Path(candidates[-1])
    on_path = shutil.which(f"python{version}")
    if on_path:
        return Path(on_path)
    raise TaskSetupError(
        f"no python{version} interpreter found: install it (pyenv install {version}), or pass "
        f"--python PATH, or set ${ENV_LAMBDA_PYTHON}"
    )


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (a lock file), across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_runtime_dir(
    interpreter: Path, runtime: str = DEFAULT_RUNTIME, cache: Path | None = None
) -> Path:
    """awslambdaric installed for `interpreter` in a directory of its own, once."""
    target = cache_root(cache) / f"runtime-py{runtime_version(runtime)}-{AWSLAMBDARIC_VERSION}"
    marker = target / ".complete"
    if marker.exists():
        return target
    with locked(target.with_suffix(".lock")):
        if marker.exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        command = [
            str(interpreter), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-warn-script-location", "--only-binary", ":all:", "--target", str(target),
            f"awslambdaric=={AWSLAMBDARIC_VERSION}",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise TaskSetupError(f"installing awslambdaric failed:\n{done.stderr[-2000:]}")
        marker.write_text(AWSLAMBDARIC_VERSION)
    return target


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unzipped_size(zip_path: Path) -> int:
    """Bytes the zip's files take once unpacked."""
    with zipfile.ZipFile(zip_path) as archive:
        return sum(info.file_size for info in archive.infolist())


def _extract(zip_path: Path, destination: Path) -> None:
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            extracted = Path(archive.extract(info, destination))
            mode = (info.external_attr >> 16) & 0o7777
            if mode and not info.is_dir():
                extracted.chmod(mode)
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(extracted, (stamp, stamp))


def prune_oldest(paths: list[Path], keep: int) -> None:
    """Remove all but the `keep` most recently modified of `paths` (files or directories)."""
    ordered = sorted(paths, key=lambda path: path.stat().st_mtime, reverse=True)
    for stale in ordered[keep:]:
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def prepare_task_dir(zip_path: Path, cache: Path | None = None) -> Path:
    """deploy.zip unpacked into a task dir keyed by its content hash (reused when unchanged)."""
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        raise TaskSetupError(f"{zip_path} not found: run ./build first")
    size = unzipped_size(zip_path)
    if size > MAX_UNZIPPED_BYTES:
        raise TaskSetupError(
            f"{zip_path} unpacks to {size:,} bytes, over Lambda's {MAX_UNZIPPED_BYTES:,}"
        )
    target = cache_root(cache) / "tasks" / file_sha256(zip_path)[:20]
    if (target / ".bem-complete").exists():
        os.utime(target)  # most recently used: the last to be pruned
        return target / "task"
    with locked(target.with_suffix(".lock")):
        if not (target / ".bem-complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            _extract(zip_path, target / "task")
            (target / ".bem-complete").write_text(str(zip_path))
    tasks = [path for path in target.parent.iterdir() if path.is_dir()]
    prune_oldest(tasks, keep=KEEP_TASK_DIRS)
    return target / "task"
