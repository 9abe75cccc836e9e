"""Cold start: the shared libraries of lib/ that the model card vouches for, preloaded.

The build records each file of lib/ with its sha256 in the card (`lib_files`,
`bem.packaging.assemble.record_lib_files`). Only those files are loaded, each from a private
copy of bytes that matched (`budget_matcher.verified_files`): a file the card does not list,
whose bytes differ, that is no regular file or is too large, is never loaded.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import predict
from budget_matcher import verified_files
from budget_matcher.request_log import logger

MAX_LIB_BYTES = 128 * 1024 * 1024


def preload_shared_libraries(lib_dir: Path, model_dir: Path) -> list[str]:
    """Load the verified libraries of `lib_dir` (module docstring); returns the loaded names.

    Libraries that need another one first are retried until a pass loads nothing new.
    """
    if not lib_dir.is_dir():
        return []
    pending = _verified(lib_dir, _listed(model_dir))
    loaded: list[str] = []
    while pending:
        failed = []
        for path, data in pending:
            try:
                verified_files.load_library(data, ctypes.RTLD_GLOBAL, "bem-lib-")
                loaded.append(path.name)
            except OSError:
                failed.append((path, data))
        if len(failed) == len(pending):
            names = [path.name for path, _ in failed]
            logger.warning("shared libraries not loaded", extra={"libs": names})
            break
        pending = failed
    return loaded


def _listed(model_dir: Path) -> dict[str, object]:
    """The card's `lib_files` (relative path → {"sha256", "bytes"}); empty without a card."""
    try:
        listed = predict.read_card_document(model_dir).get("lib_files")
    except predict.ModelUnavailable:
        return {}
    return listed if isinstance(listed, dict) else {}


def _verified(lib_dir: Path, listed: dict[str, object]) -> list[tuple[Path, bytes]]:
    """(path, bytes) of each file of `lib_dir` the card lists with the sha256 it has."""
    verified: list[tuple[Path, bytes]] = []
    refused: list[str] = []
    for path in sorted(p for p in lib_dir.rglob("*") if p.is_file() and p.suffix != ".a"):
        entry = listed.get(path.relative_to(lib_dir).as_posix())
        sha256 = entry.get("sha256") if isinstance(entry, dict) else None
        try:
            if not isinstance(sha256, str):
                raise verified_files.UnverifiedFile("not listed in the model card")
            verified.append((path, verified_files.read_verified(path, sha256, MAX_LIB_BYTES)))
        except OSError as error:
            refused.append(f"{path.name}: {error}"[:200])
    if refused:
        logger.warning("shared libraries not verified, not loaded", extra={"libs": refused})
    return verified
