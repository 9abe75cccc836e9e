"""Compile the lean model's trees to a C shared library for the target (build time only).

Two generated schemes, both from model_lean.npz, picked by `generate_c`:
  bitvector (every tree with at most 64 leaves, as `bem train` makes them): QuickScorer over
    blocks of 16 rows (`bem.packaging.bitvector_trees`): thresholds become bin indices, each
    false node ANDs its mask into its tree's leaf bitvector, the exit leaf is the lowest set
    bit. x86-64 libraries also carry an AVX2 copy of the same code, chosen at run time;
    `bem_raw_baseline` exports the baseline copy, so the proof covers both.
  nested (the fallback): one function of nested comparisons per tree; a split `x <= threshold`
    with missing values going left becomes `!(x > t)` (true for NaN), going right `x <= t`.
Every constant is a C99 hex float, the exact double of the export. `bem_raw` adds the baseline
and then each tree's leaf value in tree order, in float64, as scikit-learn does; the
calibration and the members' mean stay in `budget_matcher.lean_model` (one implementation), so
scores equal `predict_proba` exactly. The library links nothing but libc: `bem_expit` calls the
exp the caller passes (the process's C library, the one scipy's expit uses).

gcc compiles it with -O2 -ffp-contract=off (no fused or reordered arithmetic), no -ffast-math,
stripped and without paths, so the same model gives the same bytes. arm64 uses Debian's cross
compiler `aarch64-linux-gnu-gcc` when installed.

Command: python -m bem.packaging.tree_compiler MODEL_LEAN_NPZ [OUT.so] [--arch x86_64|arm64]
(after `python -m bem.model.lean_export model/`, this lets a checkout serve compiled trees too)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bem.packaging import bitvector_trees, nested_trees
from budget_matcher.compiled_model import ABI_VERSION, LIBRARY_FILE

LEAN_FILE = "model_lean.npz"
COMPILERS = {"x86_64": "gcc", "arm64": "aarch64-linux-gnu-gcc"}
CFLAGS = (
    "-O2",
    "-fPIC",
    "-shared",
    "-std=c99",
    "-ffp-contract=off",
    "-fno-fast-math",
    "-fvisibility=hidden",
    "-s",
    "-Wl,--build-id=sha1",
    "-Wl,--hash-style=gnu",
)
# Emulators that run a cross-compiled library here (Debian: qemu-user + the cross sysroot).
EMULATORS = {"arm64": ("qemu-aarch64", Path("/usr/aarch64-linux-gnu"))}
# A target-architecture program that loads the library, scores rows and applies the link with
# its C library's exp, as the runtime does: argv = library, rows file, output file, n rows.
_HARNESS_C = r"""
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    if (argc != 5) return 2;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 3; }
    int (*nf)(void) = (int (*)(void))dlsym(h, "bem_n_features");
    int (*nm)(void) = (int (*)(void))dlsym(h, "bem_n_members");
    void (*raw)(const double *, size_t, double *) = dlsym(h, "bem_raw");
    void (*ex)(const double *, size_t, double *, double (*)(double)) = dlsym(h, "bem_expit");
    if (!nf || !nm || !raw || !ex) return 4;
    size_t n = strtoul(argv[4], 0, 10), f = (size_t)nf(), m = (size_t)nm();
    double *x = malloc(n * f * 8 + 8), *out = malloc(n * m * 8 + 8), *p = malloc(n * m * 8 + 8);
    FILE *in = fopen(argv[2], "rb");
    if (!in || fread(x, 8, n * f, in) != n * f) return 5;
    fclose(in);
    raw(x, n, out);
    ex(out, n * m, p, exp);
    FILE *o = fopen(argv[3], "wb");
    if (!o) return 6;
    fwrite(out, 8, n * m, o);
    fwrite(p, 8, n * m, o);
    return fclose(o) == 0 ? 0 : 7;
}
"""


class CompileFailed(RuntimeError):
    """The C library could not be generated or compiled for the target."""


def _c_double(value: float) -> str:
    """The exact C literal of a double (hex float; infinities spelled out)."""
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INFINITY" if value > 0 else "-INFINITY"
    return float(value).hex()


SCHEMES = ("auto", "bitvector", "nested")


def generate_c(
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
    model_sha256: str,
    scheme: str = "auto",
) -> str:
    """The C source of a lean model (arrays and meta as read from model_lean.npz).

    `scheme` "auto" takes the bitvector scheme when every tree fits it, else nested ifs."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}")
    if scheme == "auto":
        scheme = "bitvector" if bitvector_trees.fits(arrays) else "nested"
    if scheme == "bitvector" and not bitvector_trees.fits(arrays):
        raise CompileFailed(f"a tree has more than {bitvector_trees.MAX_LEAVES} leaves")
    if scheme == "bitvector":
        raw = bitvector_trees.generate_raw(arrays, meta, _c_double)
    else:
        raw = nested_trees.generate_raw(arrays, meta, _c_double)
    header = [
        f"/* Generated by bem.packaging.tree_compiler ({scheme} scheme) from model_lean.npz; "
        "do not edit. */",
        "#include <math.h>",
        "#include <stddef.h>",
        '#define EXPORT __attribute__((visibility("default")))',
        f"#define N_FEATURES {int(meta['n_features'])}",
        f"#define N_MEMBERS {len(meta['members'])}",
        "",
        f"EXPORT int bem_abi_version(void) {{ return {ABI_VERSION}; }}",
        "EXPORT int bem_n_features(void) { return N_FEATURES; }",
        "EXPORT int bem_n_members(void) { return N_MEMBERS; }",
        f'EXPORT const char *bem_model_sha256(void) {{ return "{model_sha256}"; }}',
        "",
        "/* 1 / (1 + exp(-x)) with the caller's exp (the process's C library: no libm link). */",
        "EXPORT void bem_expit(const double *x, size_t n, double *out, double (*exp_)(double)) {",
        "    for (size_t i = 0; i < n; ++i) out[i] = 1.0 / (1.0 + exp_(-x[i]));",
        "}",
        "",
    ]
    return "\n".join([*header, *raw, ""])


def read_lean(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, meta) of a model_lean.npz."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(str(arrays.pop("meta")))
    return arrays, meta


def compiler_for(arch: str) -> str | None:
    """The C compiler that targets `arch` on this machine, or None."""
    return shutil.which(COMPILERS[arch])


def compile_library(
    lean_path: Path, output: Path, arch: str = "x86_64", scheme: str = "auto"
) -> Path:
    """Generate and compile `lean_path`'s trees into `output` (.so for `arch`)."""
    compiler = compiler_for(arch)
    if compiler is None:
        raise CompileFailed(f"no C compiler for {arch} ({COMPILERS[arch]} not on PATH)")
    arrays, meta = read_lean(lean_path)
    model_sha = hashlib.sha256(lean_path.read_bytes()).hexdigest()
    source = generate_c(arrays, meta, model_sha, scheme)
    with tempfile.TemporaryDirectory(prefix="bem-trees-") as work:
        # A fixed relative file name and working directory: no path lands in the library.
        (Path(work) / "trees.c").write_text(source)
        command = [compiler, *CFLAGS, "-o", "trees.so", "trees.c"]
        done = subprocess.run(command, cwd=work, capture_output=True, text=True)
        if done.returncode != 0:
            raise CompileFailed(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
        output.parent.mkdir(parents=True, exist_ok=True)
        # A new file renamed over the old one: a process that has the old one loaded keeps a
        # valid mapping (writing in place would truncate it under that process).
        partial = output.with_name(f".{output.name}.partial")
        shutil.copyfile(Path(work) / "trees.so", partial)
        os.replace(partial, output)
    return output


def prove_library(lean_path: Path, library: Path, rows: np.ndarray) -> int:
    """Check the library's scores equal the numpy evaluator's bit for bit on `rows`, and the
    raw sums of every instruction-set variant this CPU runs equal `bem_raw`'s."""
    from budget_matcher.compiled_model import CompiledModel
    from budget_matcher.lean_model import LeanModel

    compiled = CompiledModel.load(lean_path, library)
    expected = LeanModel.load(lean_path).predict_proba_positive(rows)
    actual = compiled.predict_proba_positive(rows)
    if not np.array_equal(expected, actual, equal_nan=True):
        worst = int(np.nanargmax(np.abs(expected - actual)))
        raise CompileFailed(
            f"compiled trees differ from the numpy evaluator at row {worst}: "
            f"{actual[worst]!r} != {expected[worst]!r}"
        )
    for variant in VARIANTS:
        raw = variant_raw(library, variant, rows, compiled.lean.n_members)
        if raw is not None and not np.array_equal(raw, compiled.raw_scores(rows)):
            raise CompileFailed(f"the library's {variant} code differs from bem_raw")
    return int(rows.shape[0])


VARIANTS = ("baseline", "avx2", "avx512")


def variant_raw(library: Path, variant: str, rows: np.ndarray, n_members: int) -> np.ndarray | None:
    """Raw sums of one instruction-set variant of the library's code (`bem_raw_variant`: the
    code `bem_raw` runs on a CPU whose widest vector unit is that one), or None when the
    library has no variants or this CPU cannot run that one."""
    import ctypes

    handle = ctypes.CDLL(str(library), mode=ctypes.RTLD_LOCAL)
    entry = getattr(handle, "bem_raw_variant", None)
    number = VARIANTS.index(variant)
    if entry is None or not handle.bem_raw_variants() & (1 << number):
        return None
    entry.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
    entry.restype = None
    X = np.asfortranarray(rows, dtype=np.float64)
    out = np.empty((X.shape[0], n_members), dtype=np.float64)
    if X.shape[0]:
        entry(number, X.ctypes.data, X.shape[0], out.ctypes.data)
    return out


def prove_by_emulation(
    lean_path: Path, library: Path, host_library: Path, arch: str, rows: np.ndarray
) -> bool:
    """Run the `arch` library under its emulator; its raw sums and link must equal the host
    library's bit for bit. False when no emulator or cross sysroot is installed."""
    from budget_matcher.compiled_model import CompiledModel

    emulator, sysroot = EMULATORS.get(arch, ("", Path("/nonexistent")))
    compiler = compiler_for(arch)
    if not emulator or shutil.which(emulator) is None or not sysroot.is_dir() or not compiler:
        return False
    host = CompiledModel.load(lean_path, host_library)
    X = np.asfortranarray(rows, dtype=np.float64)
    expected_raw = host.raw_scores(X)
    with tempfile.TemporaryDirectory(prefix="bem-trees-emulated-") as work:
        folder = Path(work)
        (folder / "harness.c").write_text(_HARNESS_C)
        built = subprocess.run(
            [compiler, "-O2", "-o", "harness", "harness.c", "-ldl", "-lm"],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if built.returncode != 0:
            raise CompileFailed(f"emulation harness for {arch}: {built.stderr[-1000:]}")
        X.T.tofile(folder / "rows.bin")  # feature-major, as bem_raw reads it
        command = [emulator, "-L", str(sysroot), "./harness", str(library), "rows.bin", "out.bin"]
        done = subprocess.run(
            [*command, str(X.shape[0])], cwd=work, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            raise CompileFailed(f"{arch} library under {emulator}: exit {done.returncode}")
        out = np.fromfile(folder / "out.bin", dtype=np.float64)
    half = expected_raw.size
    raw, linked = out[:half].reshape(expected_raw.shape), out[half:].reshape(expected_raw.shape)
    if not (
        np.array_equal(raw, expected_raw, equal_nan=True)
        and np.array_equal(linked, host.expit(expected_raw), equal_nan=True)
    ):
        raise CompileFailed(f"the {arch} library under {emulator} differs from the host's")
    return True


def build_for_target(
    lean_path: Path, library: Path, arch: str, rows: np.ndarray, host_arch: str | None
) -> str:
    """Compile for `arch` and prove the generated code on this host; return what was proved.

    When the host cannot run `arch`, the same source is compiled for the host and proved
    there (identical C, IEEE doubles, no contraction); when an emulator is installed
    (qemu-user), the target library itself must then give the host library's bits under it.
    """
    with tempfile.TemporaryDirectory(prefix="bem-trees-proof-") as work:
        proved_arch = arch if host_arch == arch else host_arch
        if proved_arch is None or compiler_for(proved_arch) is None:
            raise CompileFailed(f"cannot prove compiled trees: no compiler for the host ({arch})")
        host_library = library if proved_arch == arch else Path(work) / LIBRARY_FILE
        if proved_arch != arch:
            compile_library(lean_path, host_library, proved_arch)
        compile_library(lean_path, library, arch)
        proved = prove_library(lean_path, host_library, rows)
        where = proved_arch
        if proved_arch != arch and prove_by_emulation(lean_path, library, host_library, arch, rows):
            where += f" and on {arch} under {EMULATORS[arch][0]}"
    return f"{arch} library, {proved} rows equal to the numpy evaluator (proved on {where})"


def host_arch() -> str | None:
    """This machine's architecture in Lambda's names (None when Lambda has no such one)."""
    machine = platform.machine().lower()
    names = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
    return names.get(machine)


def stage(model_dir: Path, arch: str, holdout: Any = None) -> str:
    """Compile model_dir's lean model for `arch` into model_dir, prove it on the held-out rows
    plus 10,000 threshold probes and list it in model_dir's card; returns what was proved.
    On CompileFailed no library is left behind."""
    from bem.model.lean_export import probe_rows, update_card
    from budget_matcher.lean_model import LeanModel

    lean_path = model_dir / LEAN_FILE
    library = model_dir / LIBRARY_FILE
    probes = probe_rows(LeanModel.load(lean_path), 10_000, seed=1)
    rows = probes if holdout is None else np.vstack([np.asarray(holdout, np.float64), probes])
    try:
        proved = build_for_target(lean_path, library, arch, rows, host_arch())
    except CompileFailed:
        library.unlink(missing_ok=True)
        raise
    update_card(model_dir / "model.json", library)
    return f"{proved}, {library.stat().st_size} bytes"


def main(argv: list[str] | None = None) -> int:
    """Compile MODEL_LEAN_NPZ into OUT (default: beside it as model_trees.so); a model.json
    beside OUT gets the library's artifacts entry, so `predict.load_model` serves it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lean", type=Path)
    parser.add_argument("output", type=Path, nargs="?")
    parser.add_argument("--arch", choices=sorted(COMPILERS), default="x86_64")
    args = parser.parse_args(argv)
    output = args.output or args.lean.with_name(LIBRARY_FILE)
    try:
        compile_library(args.lean, output, args.arch)
    except (CompileFailed, OSError, ValueError, KeyError) as exc:
        print(f"tree compiler: {exc}", file=sys.stderr)
        return 2
    card = output.with_name("model.json")
    if card.is_file():
        from bem.model.lean_export import update_card

        update_card(card, output)
    print(f"{output}: {output.stat().st_size} bytes ({args.arch})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
