"""Stage the allow-listed code and write byte-reproducible zips.

The function zip holds exactly: the three root modules, budget_matcher/, model/ (the variant's
artefacts + model.json), nltk_data/, lib/ and the trimmed dependencies (or, with a layer, the
dependencies under python/ in a separate layer zip). Entries are sorted, every timestamp is
the source date (SOURCE_DATE_EPOCH or the commit time), permissions are fixed (0644 files),
and no extra fields are written, so the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import threading
import time
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from budget_matcher.rescoring import RESCORER_FILE

ROOT_MODULES = ("lambda_handler.py", "predict.py", "flattened_data_points.py")
ROOT_PACKAGES = ("budget_matcher",)
DATA_DIRS = ("nltk_data", "lib")
SKIP_NAMES = frozenset({".gitkeep", ".gitignore", "__pycache__"})
ZIP_MIN_EPOCH = 315532800  # 1980-01-01, the earliest time a zip entry can hold
FILE_MODE = 0o100644
COMPRESS_LEVEL = 9


class MissingCode(RuntimeError):
    """An allow-listed file the runtime needs is not in the code at HEAD."""


def source_date_epoch(root: Path, env: dict[str, str] | None = None) -> int:
    """SOURCE_DATE_EPOCH if set, else the HEAD commit time, else the zip epoch."""
    env = dict(os.environ) if env is None else env
    if env.get("SOURCE_DATE_EPOCH"):
        return max(int(env["SOURCE_DATE_EPOCH"]), ZIP_MIN_EPOCH)
    done = subprocess.run(
        ["git", "-C", str(root), "log", "-1", "--format=%ct", "HEAD"],
        capture_output=True,
        text=True,
    )
    stamp = done.stdout.strip()
    return max(int(stamp), ZIP_MIN_EPOCH) if done.returncode == 0 and stamp else ZIP_MIN_EPOCH


def _copy_tree(source: Path, destination: Path) -> None:
    shutil.copytree(
        source,
        destination,
        ignore=shutil.ignore_patterns(*SKIP_NAMES, "*.pyc"),
        dirs_exist_ok=True,
    )


def stage_code(code: Path, task: Path) -> list[str]:
    """Copy the allow-listed code from `code` (git archive) into `task`; return what was."""
    missing = [name for name in ROOT_MODULES if not (code / name).is_file()]
    missing += [name for name in ROOT_PACKAGES if not (code / name).is_dir()]
    if missing:
        raise MissingCode(f"not in the committed code: {', '.join(missing)}")
    task.mkdir(parents=True, exist_ok=True)
    staged = []
    for name in ROOT_MODULES:
        shutil.copy2(code / name, task / name)
        staged.append(name)
    for name in (*ROOT_PACKAGES, *DATA_DIRS):
        if (code / name).is_dir():
            _copy_tree(code / name, task / name)
            staged.append(name + "/")
    return staged


def stage_model(model_dir: Path, task: Path, artifacts: Iterable[str]) -> None:
    """Copy the variant's model artefacts (only those) into task/model/."""
    destination = task / "model"
    destination.mkdir(parents=True, exist_ok=True)
    for name in artifacts:
        source = model_dir / name
        if not source.is_file():
            raise MissingCode(f"model artefact {source} is missing")
        shutil.copy2(source, destination / name)


def stage_rescorer(model_dir: Path, task: Path) -> None:
    """Copy the model's rescorer into task/model/ when its card lists one (either runtime)."""
    card_path = model_dir / "model.json"
    listed = json.loads(card_path.read_text()).get("artifacts") or {} if card_path.is_file() else {}
    if RESCORER_FILE in listed:
        stage_model(model_dir, task, (RESCORER_FILE,))


def record_lib_files(task: Path) -> dict[str, dict[str, object]]:
    """List every file of task/lib/ (its sha256 and size) in the card task/model/model.json
    under `lib_files`: the handler preloads only the files listed there, verified."""
    lib = task / "lib"
    listed: dict[str, dict[str, object]] = {}
    if lib.is_dir():
        for path in _files(lib):
            if path.suffix == ".a":
                continue
            data = path.read_bytes()
            listed[path.relative_to(lib).as_posix()] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
            }
    card_path = task / "model" / "model.json"
    card = json.loads(card_path.read_text())
    card["lib_files"] = listed
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return listed


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and not p.is_symlink())


def _dos_time(epoch: int) -> tuple[int, int]:
    year, month, day, hour, minute, second = time.gmtime(max(epoch, ZIP_MIN_EPOCH))[:6]
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _deflate(data: bytes, level: int, cache: Path | None) -> bytes:
    """Raw deflate stream of `data`, from the content-addressed cache when present."""
    path = None
    if cache is not None:
        digest = hashlib.sha256(data).hexdigest()
        path = cache / str(level) / digest[:2] / digest
        if path.is_file():
            return path.read_bytes()
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    stream = compressor.compress(data) + compressor.flush()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Unique per thread: identical files in one zip deflate concurrently.
        partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
        partial.write_bytes(stream)
        partial.replace(path)
    return stream


def write_zip(
    path: Path,
    trees: list[tuple[Path, str]],
    epoch: int,
    level: int = COMPRESS_LEVEL,
    cache: Path | None = None,
) -> int:
    """Zip the files of each (directory, prefix in the zip) tree; return the entry count.

    Entries are deflated in parallel threads (zlib releases the GIL), optionally through a
    content-addressed cache of deflate streams, and written in sorted order with one fixed
    time, mode 0644 and no extra fields: the same files give the same bytes.
    """
    entries: dict[str, Path] = {}
    for directory, prefix in trees:
        for file in _files(directory):
            name = prefix + file.relative_to(directory).as_posix()
            if name in entries:
                raise ValueError(f"{name} comes from two trees")
            entries[name] = file
    if len(entries) >= 0xFFFF:
        raise ValueError("more than 65,534 entries need zip64, which this writer does not do")
    names = sorted(entries)
    dos_time, dos_date = _dos_time(epoch)

    def compress(name: str) -> tuple[bytes, int, int, bytes]:
        data = entries[name].read_bytes()
        return name.encode("utf-8"), zlib.crc32(data), len(data), _deflate(data, level, cache)

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    central = bytearray()
    with (
        ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool,
        partial.open("wb") as out,
    ):
        offset = 0
        for encoded, crc, size, stream in pool.map(compress, names):
            flags = 0 if encoded.isascii() else 0x800
            common = struct.pack(
                "<HHHHHIIIH",
                20,
                flags,
                8,
                dos_time,
                dos_date,
                crc,
                len(stream),
                size,
                len(encoded),
            )
            header = b"PK\x03\x04" + common + b"\x00\x00" + encoded
            out.write(header)
            out.write(stream)
            central += (
                b"PK\x01\x02"
                + struct.pack("<H", (3 << 8) | 20)
                + common
                + struct.pack("<HHHHII", 0, 0, 0, 0, FILE_MODE << 16, offset)
                + encoded
            )
            offset += len(header) + len(stream)
        out.write(central)
        out.write(
            b"PK\x05\x06"
            + struct.pack("<HHHHIIH", 0, 0, len(names), len(names), len(central), offset, 0)
        )
    partial.replace(path)
    return len(names)


def extract_zip(path: Path, destination: Path) -> None:
    """Unzip into an empty directory, as Lambda does (files 0644 -> readable, not writable)."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(destination)
