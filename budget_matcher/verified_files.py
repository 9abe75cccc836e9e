"""Files the runtime runs or unpickles, read and loaded only as verified bytes.

`read_regular` reads a file that must be a regular file of bounded size (a symlink to
/dev/zero, a FIFO or a device is refused before a byte is read; the size is checked on the
opened file, so nothing swapped in afterwards is read). `load_library` loads a shared library
from a private copy of bytes already checked (a uniquely named temporary file): never from its
path, which could be swapped between the check and the load. No private copy (a full /tmp),
no library. The model loader (predict), the compiled trees and the lib/ preload share these.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import stat
import tempfile
from pathlib import Path


class UnverifiedFile(OSError):
    """The file is not a regular file, is too large, or its bytes are not the expected ones."""


def read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of `path`, a regular file of at most `max_bytes` (FileNotFoundError when
    missing, UnverifiedFile when not regular or too large)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(descriptor, "rb") as stream:
        status = os.fstat(stream.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise UnverifiedFile(f"{path} is not a regular file")
        if status.st_size > max_bytes:
            raise UnverifiedFile(f"{path} has {status.st_size} bytes, over {max_bytes}")
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while being read
        raise UnverifiedFile(f"{path} is over {max_bytes} bytes")
    return data


def read_verified(path: Path, sha256: str, max_bytes: int) -> bytes:
    """`read_regular`, then UnverifiedFile unless the bytes have the sha256 `sha256`."""
    data = read_regular(path, max_bytes)
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise UnverifiedFile(f"{path.name} has sha256 {actual[:12]}…, expected {sha256[:12]}…")
    return data


def private_copy(data: bytes, prefix: str = "bem-") -> Path | None:
    """`data` in a new, uniquely named file under the temporary directory (Lambda: /tmp), or
    None when it cannot be written whole.

    A unique name matters: the dynamic loader takes a path it has loaded before for the same
    library, whatever the file now holds."""
    try:
        descriptor, name = tempfile.mkstemp(prefix=prefix, suffix=".so")
    except OSError:
        return None
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
    except OSError:
        Path(name).unlink(missing_ok=True)
        return None
    return Path(name)


def load_library(data: bytes, mode: int = ctypes.RTLD_LOCAL, prefix: str = "bem-") -> ctypes.CDLL:
    """The shared library of `data` (verified bytes), loaded from a private copy removed once
    loaded (the mapping outlives the name). UnverifiedFile when no copy can be written: the
    library is then not loaded at all, never from its original path."""
    copy = private_copy(data, prefix)
    if copy is None:
        raise UnverifiedFile("no private copy of the library could be written (temporary "
                             "directory full or not writable)")  # fmt: skip
    try:
        return ctypes.CDLL(str(copy), mode=mode)
    finally:
        copy.unlink(missing_ok=True)
