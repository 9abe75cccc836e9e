"""Trim an installed dependency tree (pip --target) for the Lambda zip.

What goes, in order:
1. top-level packages the runtime never imports: kept = the requested distributions' own import
   names + every top-level name an import trace of the handler scoring the seed event loads
   (+ their `<name>.libs` shared-library directories). Packages are kept or dropped whole:
   files are never trimmed by trace inside a package (that silently broke unidecode).
2. tests/ directories, __pycache__, C headers and sources, static libraries, type stubs,
   Cython sources, and dist-info down to METADATA and licence files.
3. `strip --strip-unneeded` on extension modules outside `*.libs/` (auditwheel-patched
   libraries there must not be stripped: "ELF load command address/offset not page-aligned").
4. bytecode by the target interpreter (`compileall --invalidation-mode unchecked-hash`,
   deterministic, paths recorded as the Lambda path), sourceless or beside the sources.

Command: python -m bem.packaging.trim DEPS_DIR --interpreter PY --keep a,b [--trace-root DIR]
         [--trace-env NAME=VALUE]
         [--bytecode sourceless|pycache|none] [--prefix /var/task] [--arch x86_64]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

JUNK_DIRS = frozenset({"tests", "test", "__pycache__"})
JUNK_SUFFIXES = frozenset(
    {".pyi", ".pxd", ".pyx", ".pxi", ".c", ".cc", ".cpp", ".h", ".hpp", ".a", ".f", ".f90"}
)
DIST_INFO_KEEP_PREFIXES = ("METADATA", "LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")
NUMPY_HEADER_DIRS = ("numpy/core/include", "numpy/_core/include", "numpy/f2py/src")
STRIP_TOOLS = {"x86_64": ("strip",), "arm64": ("aarch64-linux-gnu-strip",)}
# Files inside kept packages that only their own test suites or build tools use. Each is
# removed only if the import trace loaded nothing from it (numpy imports _multiarray_tests
# at import time, so that one is not listed).
DEV_ONLY = {
    "numpy/core/_simd.*": "numpy's SIMD test module",
    "numpy/_core/_simd.*": "numpy's SIMD test module",
    "numpy/core/_umath_tests.*": "numpy ufunc test module",
    "numpy/core/_rational_tests.*": "numpy dtype test module",
    "numpy/core/_struct_ufunc_tests.*": "numpy ufunc test module",
    "numpy/core/_operand_flag_tests.*": "numpy ufunc test module",
    "numpy/f2py": "Fortran wrapper generator (build tool)",
    "numpy/distutils": "build tool",
    "numpy/_pyinstaller": "PyInstaller hook",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.js": "Swagger UI asset",
    "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.css": "Swagger UI asset",
}


@dataclass
class TrimReport:
    """What trimming removed, for the build log."""

    dropped_packages: list[str] = field(default_factory=list)
    removed_files: int = 0
    removed_bytes: int = 0
    stripped: int = 0
    stripped_bytes: int = 0


def top_level_entries(deps: Path) -> dict[str, list[Path]]:
    """Import name -> the top-level paths that belong to it (package dir, module files)."""
    entries: dict[str, list[Path]] = {}
    for path in sorted(deps.iterdir()):
        if path.name.endswith((".dist-info", ".data")) or path.name == "bin":
            continue
        name = path.name.split(".")[0] if path.is_file() else path.name
        if path.is_dir() and path.name.endswith(".libs"):
            name = path.name[: -len(".libs")]
        entries.setdefault(name, []).append(path)
    return entries


def _dist_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure_top_levels(deps: Path, distributions: set[str]) -> set[str]:
    """Top-level names of `distributions` and everything they require (extras excluded),
    read from the installed dist-info (METADATA Requires-Dist, RECORD)."""
    installed: dict[str, Path] = {}
    for dist_info in deps.glob("*.dist-info"):
        installed[_dist_name(dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0])] = (
            dist_info
        )
    pending = [_dist_name(d) for d in distributions]
    seen: set[str] = set()
    names: set[str] = set()
    while pending:
        dist = pending.pop()
        if dist in seen or dist not in installed:
            continue
        seen.add(dist)
        dist_info = installed[dist]
        for line in (dist_info / "RECORD").read_text().splitlines():
            first = line.split(",")[0].split("/")[0]
            if first and not first.endswith((".dist-info", ".data")) and first != "..":
                names.add(first.split(".")[0] if first.endswith((".py", ".so")) else first)
        for line in (dist_info / "METADATA").read_text(errors="replace").splitlines():
            if line.startswith("Requires-Dist:") and "extra ==" not in line:
                requirement = line.split(":", 1)[1].strip()
                pending.append(_dist_name(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0]))
    return names


def imported_top_levels(modules: dict[str, str | None], deps: Path) -> set[str]:
    """Top-level names of loaded modules whose file lies in `deps`."""
    root = deps.resolve()
    names: set[str] = set()
    for module_file in modules.values():
        if not module_file:
            continue
        try:
            relative = Path(module_file).resolve().relative_to(root)
        except ValueError:
            continue
        first = relative.parts[0]
        names.add(first.split(".")[0] if len(relative.parts) == 1 else first)
    return names


def trace_loaded(
    deps: Path, interpreter: Path, roots: list[Path], requested: set[str], env: dict[str, str]
) -> dict[str, str | None]:
    """Modules (name -> file) loaded when the handler scores the seed event and the
    `requested` names are imported, in the target interpreter."""
    from bem.packaging.probe import run_probe

    importable = {
        p.name.split(".")[0]
        for p in deps.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix in (".py", ".so")
    }
    imports = sorted(requested & importable)
    return run_probe(interpreter, [*roots, deps], env=env, imports=imports).modules


def drop_dev_only(deps: Path, loaded: set[Path], report: TrimReport) -> None:
    """Remove DEV_ONLY paths of kept packages unless the trace loaded a file from them."""
    for pattern in DEV_ONLY:
        for path in sorted(deps.glob(pattern)):
            real = path.resolve()
            used = any(f == real or real in f.parents for f in loaded)
            if not used:
                _remove(path, report)


def _remove(path: Path, report: TrimReport) -> None:
    if path.is_dir() and not path.is_symlink():
        for child in path.rglob("*"):
            if child.is_file():
                report.removed_files += 1
                report.removed_bytes += child.stat().st_size
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        report.removed_files += 1
        report.removed_bytes += path.lstat().st_size
        path.unlink()


def drop_unimported(deps: Path, keep: set[str], report: TrimReport) -> None:
    """Remove whole top-level packages not in `keep`, and dist-info left with no files."""
    for name, paths in top_level_entries(deps).items():
        if name in keep or name.lower() in keep:
            continue
        report.dropped_packages.append(name)
        for path in paths:
            _remove(path, report)
    for dist_info in sorted(deps.glob("*.dist-info")):
        record = dist_info / "RECORD"
        if not record.exists():
            continue
        installed = [line.split(",")[0] for line in record.read_text().splitlines() if line]
        own = [f for f in installed if f and not f.split("/")[0].endswith(".dist-info")]
        if own and not any((deps / f).exists() for f in own):
            _remove(dist_info, report)


def drop_junk(deps: Path, report: TrimReport) -> None:
    """Tests, caches, headers, sources, stubs, bin/ and dist-info beyond METADATA/licences."""
    for relative in NUMPY_HEADER_DIRS:
        if (deps / relative).exists():
            _remove(deps / relative, report)
    for extra in ("bin", "share"):
        if (deps / extra).is_dir():
            _remove(deps / extra, report)
    for path in sorted(deps.rglob("*"), reverse=True):
        if not path.exists():
            continue
        in_dist_info = any(p.endswith(".dist-info") for p in path.relative_to(deps).parts[:1])
        if in_dist_info:
            if path.is_file() and not path.name.upper().startswith(DIST_INFO_KEEP_PREFIXES):
                parts = path.relative_to(deps).parts
                if not (len(parts) > 2 and parts[1] == "licenses"):
                    _remove(path, report)
            continue
        junk_dir = path.is_dir() and path.name in JUNK_DIRS
        if junk_dir or (path.is_file() and path.suffix in JUNK_SUFFIXES):
            _remove(path, report)


def strip_extensions(deps: Path, arch: str, report: TrimReport) -> None:
    """strip --strip-unneeded every .so outside `*.libs/` directories, when a strip exists."""
    tool = next((t for t in STRIP_TOOLS.get(arch, ()) if shutil.which(t)), None)
    if tool is None:
        return
    for path in sorted(deps.rglob("*.so*")):
        if not path.is_file() or any(p.endswith(".libs") for p in path.relative_to(deps).parts):
            continue
        before = path.stat().st_size
        done = subprocess.run([tool, "--strip-unneeded", str(path)], capture_output=True)
        if done.returncode == 0:
            report.stripped += 1
            report.stripped_bytes += before - path.stat().st_size


def compile_bytecode(root: Path, interpreter: Path, mode: str, prefix: str) -> None:
    """Compile with the target interpreter; `sourceless` replaces each .py by its .pyc."""
    if mode == "none":
        return
    command = [
        str(interpreter),
        "-I",
        "-m",
        "compileall",
        "-q",
        "-f",
        "-j",
        "0",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(root),
        "-p",
        prefix,
    ]
    if mode == "sourceless":
        command.append("-b")
    done = subprocess.run([*command, str(root)], capture_output=True, text=True)
    if done.returncode != 0:
        # Files that do not compile (e.g. Python 2 examples) are left as sources: report them.
        failed = [line for line in done.stdout.splitlines() if line.startswith("***")]
        print(f"trim: {len(failed)} files did not compile; kept as sources", file=sys.stderr)
    if mode == "sourceless":
        for source in sorted(root.rglob("*.py")):
            if source.with_suffix(".pyc").exists():
                source.unlink()


def trim(
    deps: Path,
    keep: set[str],
    interpreter: Path | None,
    bytecode: str = "sourceless",
    prefix: str = "/var/task",
    arch: str = "x86_64",
    strip: bool = True,
    loaded: set[Path] | None = None,
) -> TrimReport:
    """Trim `deps` in place (see the module docstring) and return what was removed."""
    report = TrimReport()
    drop_unimported(deps, keep, report)
    drop_dev_only(deps, loaded or set(), report)
    drop_junk(deps, report)
    if strip:
        strip_extensions(deps, arch, report)
    if interpreter is not None:
        compile_bytecode(deps, interpreter, bytecode, prefix)
    return report


def main(argv: list[str] | None = None) -> int:
    """CLI used by build_and_trim_weight.sh."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("deps", type=Path)
    parser.add_argument("--keep", default="", help="comma-separated top-level names to keep")
    parser.add_argument("--interpreter", type=Path)
    parser.add_argument("--bytecode", default="sourceless")
    parser.add_argument("--prefix", default="/var/task")
    parser.add_argument("--arch", default="x86_64")
    parser.add_argument("--no-strip", action="store_true")
    parser.add_argument("--keep-all", action="store_true", help="drop no package (no trace)")
    parser.add_argument(
        "--keep-closure",
        default="",
        help="comma-separated distributions kept with all they require (paths no trace runs)",
    )
    parser.add_argument("--trace-root", type=Path, action="append", default=[])
    parser.add_argument("--trace-env", action="append", default=[], help="NAME=VALUE")
    args = parser.parse_args(argv)
    keep = {name for name in args.keep.split(",") if name}
    loaded: set[Path] = set()
    if args.trace_root:
        if args.interpreter is None:
            parser.error("--trace-root needs --interpreter")
        env = dict(item.split("=", 1) for item in args.trace_env)
        modules = trace_loaded(args.deps, args.interpreter, args.trace_root, keep, env)
        traced = imported_top_levels(modules, args.deps)
        loaded = {Path(f).resolve() for f in modules.values() if f}
        print(f"trim: import trace loads {', '.join(sorted(traced))}", file=sys.stderr)
        keep |= traced
    closure = {name for name in args.keep_closure.split(",") if name}
    if closure:
        keep |= closure_top_levels(args.deps, closure)
    if args.keep_all:
        keep |= set(top_level_entries(args.deps))
    report = trim(
        args.deps,
        keep,
        args.interpreter,
        args.bytecode,
        args.prefix,
        args.arch,
        strip=not args.no_strip,
        loaded=loaded,
    )
    print(
        f"trim: dropped {', '.join(report.dropped_packages) or 'no packages'}; removed "
        f"{report.removed_files} files ({report.removed_bytes / 1e6:.1f} MB); stripped "
        f"{report.stripped} extensions (-{report.stripped_bytes / 1e6:.1f} MB)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
