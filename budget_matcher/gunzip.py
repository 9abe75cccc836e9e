"""Bounded gzip decompression: a small object cannot expand into gigabytes (a gzip bomb).

Every reader of gzip data that comes from outside the process (S3 result objects, exported log
files, the `gz` field of result log lines) goes through here. Two bounds: the decompressed
size, and the ratio of decompressed to compressed bytes once past `ratio_floor` (real result
lines compress 5–20×; a bomb compresses ~1000×).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

MAX_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200.0
RATIO_FLOOR = 16 * 1024 * 1024
CHUNK = 64 * 1024


class GzipLimitError(ValueError):
    """The data is not gzip, is truncated, or expands past a bound."""


def gunzip_chunks(
    chunks: Iterable[bytes],
    max_bytes: int = MAX_BYTES,
    max_ratio: float = MAX_RATIO,
    ratio_floor: int = RATIO_FLOOR,
) -> Iterator[bytes]:
    """Decompressed pieces of the gzip stream `chunks` (several members allowed), at most
    CHUNK bytes each; GzipLimitError past a bound, on corrupt data or a truncated stream."""
    inflater = zlib.decompressobj(wbits=31)
    consumed = produced = 0
    pending = False  # the current member was fed bytes and has not ended
    for chunk in chunks:
        consumed += len(chunk)
        data = chunk
        while data:
            pending = True
            try:
                piece = inflater.decompress(data, CHUNK)
            except zlib.error as error:
                raise GzipLimitError(f"not gzip data: {error}") from error
            produced += len(piece)
            if produced > max_bytes:
                raise GzipLimitError(f"expands past {max_bytes} bytes")
            if produced > ratio_floor and produced > max_ratio * consumed:
                raise GzipLimitError(f"expands more than {max_ratio:g} times")
            if piece:
                yield piece
            if inflater.eof:  # the next member, if any (trailing NUL padding is allowed)
                data = inflater.unused_data.lstrip(b"\x00")
                inflater = zlib.decompressobj(wbits=31)
                pending = False
            else:
                data = inflater.unconsumed_tail
    if pending:
        raise GzipLimitError("truncated gzip data")


def gunzip(
    data: bytes,
    max_bytes: int = MAX_BYTES,
    max_ratio: float = MAX_RATIO,
    ratio_floor: int = RATIO_FLOOR,
) -> bytes:
    """`data` decompressed, within the bounds (see `gunzip_chunks`)."""
    pieces = (data[i : i + CHUNK] for i in range(0, len(data), CHUNK))
    return b"".join(gunzip_chunks(pieces, max_bytes, max_ratio, ratio_floor))
