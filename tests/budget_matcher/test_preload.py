"""lib/ preload: only the files the model card lists, with the sha256 it lists, are loaded."""

from __future__ import annotations

import ctypes
import hashlib
import json
import subprocess
from pathlib import Path

from budget_matcher.preload import preload_shared_libraries


def _library(directory: Path, name: str, symbol: str) -> Path:
    source = directory / f"{symbol}.c"
    source.write_text(f"int {symbol}(void) {{ return 7; }}\n")
    out = directory / name
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(source)], check=True)
    source.unlink()
    return out


def _card(model_dir: Path, lib_files: dict[str, object] | None) -> None:
    model_dir.mkdir(exist_ok=True)
    card: dict[str, object] = {"version": "1"}
    if lib_files is not None:
        card["lib_files"] = lib_files
    (model_dir / "model.json").write_text(json.dumps(card))


def _sha(path: Path) -> dict[str, object]:
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def test_preload_loads_only_the_listed_verified_libraries(tmp_path: Path) -> None:
    lib, model = tmp_path / "lib", tmp_path / "model"
    lib.mkdir()
    listed = _library(lib, "libbem_listed_a.so", "bem_preload_listed_a")
    unlisted = _library(lib, "libbem_unlisted_b.so", "bem_preload_unlisted_b")
    swapped = _library(lib, "libbem_swapped_c.so", "bem_preload_swapped_c")
    entry = _sha(swapped)
    swapped.write_bytes(swapped.read_bytes() + b"\0")  # changed after the build recorded it
    (lib / "libstatic.a").write_bytes(b"!<arch>")
    _card(model, {"libbem_listed_a.so": _sha(listed), "libbem_swapped_c.so": entry})
    assert preload_shared_libraries(lib, model) == ["libbem_listed_a.so"]
    process = ctypes.CDLL(None)
    assert process.bem_preload_listed_a() == 7  # loaded RTLD_GLOBAL
    for symbol in ("bem_preload_unlisted_b", "bem_preload_swapped_c"):
        assert not hasattr(process, symbol)
    assert unlisted.exists()


def test_preload_without_a_card_listing_loads_nothing(tmp_path: Path) -> None:
    lib, model = tmp_path / "lib", tmp_path / "model"
    lib.mkdir()
    _library(lib, "libbem_nocard_d.so", "bem_preload_nocard_d")
    assert preload_shared_libraries(tmp_path / "absent", model) == []
    assert preload_shared_libraries(lib, model) == []  # no card at all
    _card(model, None)
    assert preload_shared_libraries(lib, model) == []  # a card without lib_files
    (lib / "libjunk.so").write_bytes(b"not an ELF file")
    _card(model, {"libjunk.so": _sha(lib / "libjunk.so")})
    assert preload_shared_libraries(lib, model) == []  # listed but unloadable: tolerated
    assert not hasattr(ctypes.CDLL(None), "bem_preload_nocard_d")
