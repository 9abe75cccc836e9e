"""The code zip executors import (`--py-files` / `SparkContext.addPyFile`).

It holds the Lambda runtime (the same files deploy.zip ships) and the batch worker with the
dataset module and `bem data`'s file sniffing it reuses; nothing else of the tooling, so an
executor never needs click, boto3 or SQLAlchemy.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ROOT_MODULES = ("predict.py", "flattened_data_points.py", "lambda_handler.py")
PACKAGES = ("budget_matcher",)
TOOL_FILES = (
    "bem/__init__.py",
    "bem/batch/__init__.py",
    "bem/batch/worker.py",
    "bem/batch/lines.py",
    "bem/batch/tables.py",
    "bem/batch/jobs.py",
    "bem/batch/codezip.py",
    "bem/batch/session.py",
    "bem/batch/entry.py",
    "bem/model/__init__.py",
    "bem/model/dataset.py",
    "bem/data/__init__.py",
    "bem/data/read.py",
    "bem/data/columns.py",
)


def code_files(root: Path = REPO_ROOT) -> list[str]:
    """Repository-relative paths of every file the zip holds (sorted)."""
    files = [name for name in (*ROOT_MODULES, *TOOL_FILES) if (root / name).is_file()]
    for package in PACKAGES:
        files += [
            path.relative_to(root).as_posix()
            for path in (root / package).rglob("*.py")
            if "__pycache__" not in path.parts
        ]
    return sorted(set(files))


def build_code_zip(target: Path, root: Path = REPO_ROOT) -> Path:
    """Write the code zip to `target` (fixed timestamps: the same code gives the same bytes)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in code_files(root):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (root / name).read_bytes())
    return target
