"""Memory of reading hostile input at the tools' edges, bounded against the naive way.

1. `bem serve`'s chunked body reader (`bem.local.runtime_api.read_body`) on a body sent in
   2-byte chunks, against the naive reader that keeps each chunk as its own bytes object.
2. `budget_matcher.gunzip` (size and ratio bounds) on a gzip bomb, against `gzip.decompress`.

Peak memory is Python's traced allocation (tracemalloc, its own run), time is wall time.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_hostile_input.py [--body-mb 6] [--bomb-mb 200]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import time
import tracemalloc
from collections.abc import Callable
from email.message import Message
from typing import Any

from bem.local.runtime_api import read_body
from budget_matcher.gunzip import GzipLimitError, gunzip


def _measure(call: Callable[[], Any]) -> tuple[float, float, str]:
    """(peak MiB, seconds, outcome) of `call`: timed in one run, traced in another (tracing
    slows allocations down unevenly)."""
    started = time.perf_counter()
    try:
        result = call()
        outcome = f"{len(result):,} bytes"
    except GzipLimitError as error:
        outcome = f"refused: {error}"
    seconds = time.perf_counter() - started
    tracemalloc.start()
    with contextlib.suppress(GzipLimitError):
        call()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak, seconds, outcome


def _naive_chunked(rfile: io.BufferedReader) -> bytes:
    parts = []
    while size := int(rfile.readline(64).strip(), 16):
        parts.append(rfile.read(size))
        rfile.readline(64)
    return b"".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--body-mb", type=float, default=6.0)
    parser.add_argument("--bomb-mb", type=int, default=200)
    args = parser.parse_args()
    payload = b"ab" * int(args.body_mb * 2**20 / 2)
    wire = b"".join(b"2\r\n" + payload[i : i + 2] + b"\r\n" for i in range(0, len(payload), 2))
    wire += b"0\r\n\r\n"
    headers = Message()
    headers["Transfer-Encoding"] = "chunked"
    print(f"bench_hostile_input {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"chunked body of {len(payload):,} bytes in 2-byte chunks ({len(wire):,} on the wire):")
    for name, call in (
        ("read_body", lambda: read_body(io.BufferedReader(io.BytesIO(wire)), headers, 1 << 30)[0]),
        ("naive", lambda: _naive_chunked(io.BufferedReader(io.BytesIO(wire)))),
    ):
        peak, seconds, outcome = _measure(call)
        print(f"  {name:<10} peak {peak:8.1f} MiB  {seconds:6.2f} s  {outcome}")
    bomb = gzip.compress(b"\0" * (args.bomb_mb * 2**20), compresslevel=9)
    print(f"gzip bomb of {len(bomb):,} bytes expanding to {args.bomb_mb} MiB:")
    for name, call in (("gunzip", lambda: gunzip(bomb)), ("naive", lambda: gzip.decompress(bomb))):
        peak, seconds, outcome = _measure(call)
        print(f"  {name:<10} peak {peak:8.1f} MiB  {seconds:6.2f} s  {outcome}")


if __name__ == "__main__":
    main()
