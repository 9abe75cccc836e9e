"""Verify a built package: unzip into an empty directory, score the seed example isolated.

The target interpreter runs with `-I -S -B` and sys.path = its standard library + the unzipped
task directory (+ the layer's python/ when there is a layer), nothing else. The response must
be the seed contract (one scored pair, score in [0, 1]), every module must come from the
standard library or the package, and the lean variant must not load scikit-learn or scipy.
Every shared library in the package must need no glibc symbol version newer than the target
runtime's glibc (`check_glibc`, read from the ELF version-needs section; any architecture).
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bem.packaging.assemble import extract_zip
from bem.packaging.probe import ProbeResult, run_probe
from budget_matcher.contract import SEED_EXAMPLE

SEED_BUDGET_ID = "309366"
SEED_ITEM_ID = "4659496"
LEAN_FORBIDDEN = ("sklearn", "scipy", "joblib")


class VerifyFailed(RuntimeError):
    """The unzipped package did not answer the seed example correctly."""


@dataclass(frozen=True)
class Verified:
    """A successful verification and its figures."""

    score: float
    first_response_seconds: float
    maxrss_kb: int
    python: str
    modules: int


def check_response(response: Any) -> float:
    """The seed pair's score, or VerifyFailed naming what is wrong with `response`."""
    if not isinstance(response, list) or len(response) != 1:
        raise VerifyFailed(f"expected a list of one scored pair, got {response!r:.300}")
    item = response[0]
    if item.get("budget_id") != SEED_BUDGET_ID or item.get("itemization_id") != SEED_ITEM_ID:
        raise VerifyFailed(f"the answer names the wrong pair: {item!r:.300}")
    score = item.get("score")
    if item.get("error") or not isinstance(score, int | float) or not 0.0 <= score <= 1.0:
        raise VerifyFailed(f"the seed pair was not scored: {item!r:.300}")
    if isinstance(score, float) and math.isnan(score):
        raise VerifyFailed("the seed pair scored NaN")
    return float(score)


def check_modules(result: ProbeResult, roots: list[Path], runtime: str) -> None:
    """Every loaded module comes from the stdlib or `roots`; lean loads no scikit-learn."""
    allowed = [Path(p).resolve() for p in roots]
    stdlib_dir = Path(result.sys_path[-1]).resolve().parent if result.sys_path else None
    strangers = []
    for name, file in result.modules.items():
        if not file or name in ("__main__", "__mp_main__"):
            continue
        path = Path(file).resolve()
        if any(path.is_relative_to(root) for root in allowed):
            continue
        if stdlib_dir is not None and path.is_relative_to(stdlib_dir):
            continue
        strangers.append(f"{name} ({file})")
    if strangers:
        raise VerifyFailed("modules loaded from outside the package: " + ", ".join(strangers))
    if runtime == "lean":
        heavy = [m for m in result.modules if m.split(".")[0] in LEAN_FORBIDDEN]
        if heavy:
            raise VerifyFailed(f"the lean package loaded {', '.join(sorted(heavy)[:5])}")


def verify(
    function_zip: Path,
    interpreter: Path,
    workdir: Path,
    runtime: str,
    layer_zip: Path | None = None,
    event: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> Verified:
    """Unzip like Lambda (/var/task, /opt) and score the seed example in isolation."""
    task = workdir / "task"
    extract_zip(function_zip, task)
    roots = [task]
    if layer_zip is not None:
        opt = workdir / "opt"
        extract_zip(layer_zip, opt)
        roots.append(opt / "python")
    result = run_probe(interpreter, roots, event=event or SEED_EXAMPLE, env=env, cwd=task)
    score = check_response(result.response)
    check_modules(result, roots, runtime)
    return Verified(
        score=score,
        first_response_seconds=result.first_response_seconds,
        maxrss_kb=result.maxrss_kb,
        python=result.python,
        modules=len(result.modules),
    )


def verify_results_db(
    function_zip: Path,
    interpreter: Path,
    workdir: Path,
    runtime: str,
    layer_zip: Path | None = None,
    db_url: str | None = None,
) -> str:
    """Score the seed with BEM_RESULTS_DB_URL set and check the zip's SQLAlchemy stored it.

    Default database: SQLite in `workdir` (read back here); another URL (e.g. the local
    PostgreSQL through pg8000) is checked by the rows it reports, not read back.
    """
    import sqlite3

    from budget_matcher import config

    sqlite_path = workdir / "verify-results.db"
    sqlite_path.unlink(missing_ok=True)
    url = db_url or f"sqlite:///{sqlite_path}"
    env = {
        config.ENV_RESULTS_DB_URL: url,
        config.ENV_RESULTS_SPOOL_DIR: str(workdir / "spool"),
    }
    verify(function_zip, interpreter, workdir, runtime, layer_zip, env=env)
    spooled = list((workdir / "spool").glob("*")) if (workdir / "spool").exists() else []
    if spooled:
        raise VerifyFailed(f"the results went to the spool, not to {url}: {spooled[0].name}")
    if db_url is None:
        with sqlite3.connect(sqlite_path) as connection:
            (count,) = connection.execute("SELECT count(*) FROM scored_results").fetchone()
        if count < 1:
            raise VerifyFailed("no row in scored_results after scoring the seed")
    return url.split("://", 1)[0]


_SHT_GNU_VERNEED = 0x6FFFFFFE
_GLIBC_NAME = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.\d+)?$")


def _c_string(data: bytes, offset: int) -> str:
    end = data.index(b"\0", offset)
    return data[offset:end].decode("ascii", "replace")


def needed_symbol_versions(data: bytes) -> list[str]:
    """Version names (e.g. GLIBC_2.14) an ELF file needs from its libraries; [] if not ELF."""
    if data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return []
    endian = "<" if data[5] == 1 else ">"
    if data[4] == 2:  # ELFCLASS64
        shoff = struct.unpack_from(endian + "Q", data, 0x28)[0]
        shentsize, shnum = struct.unpack_from(endian + "HH", data, 0x3A)
        layout = endian + "IIQQQQIIQQ"
    else:
        shoff = struct.unpack_from(endian + "I", data, 0x20)[0]
        shentsize, shnum = struct.unpack_from(endian + "HH", data, 0x2E)
        layout = endian + "IIIIIIIIII"
    # (name, type, flags, addr, offset, size, link, info, addralign, entsize)
    sections = [struct.unpack_from(layout, data, shoff + i * shentsize) for i in range(shnum)]
    names: list[str] = []
    for section in sections:
        if section[1] != _SHT_GNU_VERNEED:
            continue
        strings = sections[section[6]][4]
        entry = section[4]
        for _ in range(section[7]):
            _, count, _, aux_offset, next_entry = struct.unpack_from(endian + "HHIII", data, entry)
            aux = entry + aux_offset
            for _ in range(count):
                _, _, _, name, next_aux = struct.unpack_from(endian + "IHHII", data, aux)
                names.append(_c_string(data, strings + name))
                aux += next_aux
            entry += next_entry
    return names


def newest_glibc(names: list[str]) -> tuple[int, int] | None:
    """The newest GLIBC_x.y among symbol version names (None when there is none)."""
    found = [tuple(map(int, m.groups())) for m in map(_GLIBC_NAME.match, names) if m]
    return max(found) if found else None  # type: ignore[return-value]


def check_glibc(roots: list[Path], limit: tuple[int, int]) -> int:
    """Raise VerifyFailed when a shared library under `roots` needs glibc newer than `limit`;
    return how many ELF shared libraries were checked."""
    checked = 0
    too_new = []
    for root in roots:
        for path in sorted(root.rglob("*.so*")):
            if not path.is_file() or path.is_symlink():
                continue
            with path.open("rb") as stream:
                if stream.read(4) != b"\x7fELF":
                    continue
            checked += 1
            newest = newest_glibc(needed_symbol_versions(path.read_bytes()))
            if newest is not None and newest > limit:
                too_new.append(f"{path.relative_to(root)} (GLIBC_{newest[0]}.{newest[1]})")
    if too_new:
        raise VerifyFailed(
            f"shared libraries need a glibc newer than the runtime's {limit[0]}.{limit[1]}: "
            + ", ".join(too_new)
        )
    return checked
