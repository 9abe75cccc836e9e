"""Verified files: regular files of bounded size only, libraries only from a private copy."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pytest

from budget_matcher import verified_files
from budget_matcher.verified_files import UnverifiedFile, read_regular, read_verified


def test_read_regular_refuses_devices_fifos_and_large_files(tmp_path: Path) -> None:
    zero = tmp_path / "zero"
    zero.symlink_to("/dev/zero")
    with pytest.raises(UnverifiedFile, match="not a regular file"):
        read_regular(zero, 1024)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UnverifiedFile, match="not a regular file"):
        read_regular(fifo, 1024)  # refused without blocking on a writer
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(UnverifiedFile, match="over 1024"):
        read_regular(big, 1024)
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "absent", 1024)
    assert read_regular(big, 4096) == b"x" * 2048
    linked = tmp_path / "linked"
    linked.symlink_to(big)  # a symlink to a regular file is that file
    assert read_verified(linked, hashlib.sha256(b"x" * 2048).hexdigest(), 4096) == b"x" * 2048
    with pytest.raises(UnverifiedFile, match="sha256"):
        read_verified(linked, "0" * 64, 4096)


def test_load_library_without_a_private_copy_loads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-dir"))
    with pytest.raises(UnverifiedFile, match="no private copy"):
        verified_files.load_library(b"\x7fELF")
