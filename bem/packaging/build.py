"""`./build`: deploy.zip for the target Lambda runtime, proved, sized and verified.

Steps: code at HEAD (zip.sh) -> allow-listed task tree -> model artefacts of the variant (the
lean export is proved equal to predict_proba or the build stops) -> dependencies for the target
platform, trimmed (build_and_trim_weight.sh) -> bytecode -> reproducible zip(s) -> size report
against the Lambda limits -> unzip and score the seed example with the target interpreter.
The zip is moved to its output path only when every step passed.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bem.packaging import assemble, report, targets, trim, verify
from bem.packaging.probe import ProbeFailed, run_probe
from bem.packaging.targets import BuildTarget

LEAN_FILENAME = "model_lean.npz"
DEFAULT_STAGING = "build_out"


class BuildFailed(RuntimeError):
    """The build stopped; the message says which step and why."""


@dataclass
class BuildOptions:
    """Everything one build needs; paths default to the repository's layout."""

    root: Path
    target: BuildTarget = field(default_factory=BuildTarget)
    layer: bool = False
    model_dir: Path | None = None
    holdout: Path | None = None
    output: Path | None = None
    layer_output: Path | None = None
    allow_s3: bool = False
    zip_limit: int = report.DIRECT_UPLOAD_LIMIT
    unzipped_limit: int = report.UNZIPPED_LIMIT
    staging: Path | None = None
    revision: str = "HEAD"
    interpreter: Path | None = None
    compress_level: int = assemble.COMPRESS_LEVEL
    verify_db_url: str | None = None
    log: Callable[[str], None] = field(default=lambda m: print(m, file=sys.stderr, flush=True))


@dataclass
class BuildResult:
    """What a successful build produced and measured."""

    function_zip: Path
    layer_zip: Path | None
    sizes: report.SizeReport
    verified: verify.Verified | None
    equivalence_rows: int | None
    equivalence_max_abs_diff: float | None
    pins: list[str]
    overridden: dict[str, str]
    warnings: list[str]
    seconds: float
    sha256: dict[str, str]
    model: dict[str, object] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _can_execute(target: BuildTarget) -> bool:
    """Whether this host can run the target's native code (trace and verify need it)."""
    machine = platform.machine().lower()
    return (target.arch == "x86_64" and machine in ("x86_64", "amd64")) or (
        target.arch == "arm64" and machine in ("aarch64", "arm64")
    )


def _run(command: list[str], env: dict[str, str], cwd: Path, step: str) -> None:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=str(cwd), capture_output=True, text=True)
    for line in (done.stderr or "").splitlines():
        if line.strip():
            print(f"  {line}", file=sys.stderr)
    if done.returncode != 0:
        raise BuildFailed(f"{step} failed (exit {done.returncode}): {done.stdout[-2000:]}")
    print(f"  {step}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _stage_trees(opts: BuildOptions, out_dir: Path, holdout: object) -> list[str]:
    """Compile the lean trees for the target into model/ (listed in the card); on failure the
    numpy evaluator serves and the warning says why."""
    from bem.packaging import tree_compiler

    try:
        proved = tree_compiler.stage(out_dir, opts.target.arch, holdout)
    except tree_compiler.CompileFailed as exc:
        message = f"compiled trees not shipped, the numpy evaluator serves: {exc}"
        opts.log(message)
        return [message]
    opts.log(f"compiled trees: {proved}")
    return []


def _model_to_ship(opts: BuildOptions, code: Path) -> tuple[Path, dict[str, object]]:
    """The model directory the build ships and its identity; refuses a stale work tree."""
    from bem.model.identity import ModelIdentityError, describe, identity, working_tree_mismatch

    model_dir = opts.model_dir or code / "model"
    # Only a build of HEAD can ship a stale copy of the work tree's model; another revision's
    # build ships that revision's model, which is what was asked for.
    if opts.model_dir is None and opts.revision == "HEAD":
        mismatch = working_tree_mismatch(opts.root, model_dir)
        if mismatch is not None:
            raise BuildFailed(mismatch)
    try:
        ident = identity(model_dir)
    except ModelIdentityError as exc:
        raise BuildFailed(f"model: {exc}") from exc
    opts.log(f"model: {describe(ident)} from {opts.model_dir or 'model/ at ' + opts.revision}")
    return model_dir, ident


def _stage_model(
    opts: BuildOptions, model_dir: Path, task: Path
) -> tuple[int | None, float | None, list[str]]:
    """Copy the variant's model; for lean, export and prove it and compile its trees
    (returns rows, max diff, warnings)."""
    assemble.stage_rescorer(model_dir, task)
    if opts.target.runtime == "sklearn":
        assemble.stage_model(model_dir, task, opts.target.model_artifacts)
        return None, None, []
    import numpy as np

    import predict
    from bem.model.lean_export import LeanMismatch, UnsupportedModel, export_model_dir

    out_dir = task / "model"
    out_dir.mkdir(parents=True, exist_ok=True)
    from bem.model.lean_export import MIN_CHECK_ROWS
    from bem.packaging.heldout import heldout_features

    if opts.holdout:
        holdout, source = np.load(opts.holdout), str(opts.holdout)
    else:
        card_path = model_dir / "model.json"
        card = json.loads(card_path.read_text()) if card_path.exists() else {}
        holdout, source = heldout_features(card, MIN_CHECK_ROWS), "fresh synthetic users"
    held = 0 if holdout is None else int(holdout.shape[0])
    try:
        proof = export_model_dir(model_dir, holdout=holdout, out_dir=out_dir)
    except (UnsupportedModel, LeanMismatch, FileNotFoundError) as exc:
        raise BuildFailed(f"lean model: {exc}") from exc
    except predict.ModelUnavailable as exc:  # the pickle is not the one its card vouches for
        advice = ""
        if exc.code == "model_feature_mismatch" and opts.revision != "HEAD":
            # the model is proven with this checkout's feature code, not the revision's
            advice = (
                f"; {opts.revision}'s model reads other features than this checkout computes: "
                f"build it from a checkout of {opts.revision} (git worktree add DIR "
                f"{opts.revision} && DIR/build)"
            )
        raise BuildFailed(f"lean model: {exc.code}: {exc.message}{advice}") from exc
    opts.log(
        f"lean model: max |lean - predict_proba| = {proof.max_abs_diff:.3g} on {proof.rows} "
        f"rows ({held} held-out pairs from {source if held else 'nowhere'}, "
        f"{proof.rows - held} threshold probes)"
    )
    return proof.rows, proof.max_abs_diff, _stage_trees(opts, out_dir, holdout)


def cache_root() -> Path:
    """~/.cache/bem, or BEM_BUILD_CACHE."""
    from budget_matcher import config

    return config.env_path(config.ENV_BUILD_CACHE, config.DEFAULT_BUILD_CACHE)


def _deps_key(opts: BuildOptions, pins: list[str]) -> str:
    """Cache key of a trimmed dependency tree: everything that shapes it except the code."""
    target = opts.target
    digest = hashlib.sha256()
    for part in (*pins, *target.platforms, target.python, target.bytecode, target.arch):
        digest.update(part.encode() + b"\0")
    digest.update(b"layer" if opts.layer else b"function")
    tooling = Path(trim.__file__).parent
    for source in ("trim.py", "runtime_probe.py", "probe.py", "targets.py"):
        digest.update((tooling / source).read_bytes())
    digest.update((opts.root / "build_and_trim_weight.sh").read_bytes())
    return digest.hexdigest()[:24]


def _cached_deps_fit(opts: BuildOptions, cached: Path, task: Path, interpreter: Path) -> bool:
    """Whether a cached trimmed tree serves this code: the handler scores the seed with it."""
    if not _can_execute(opts.target):
        return True
    try:
        run_probe(interpreter, [task, cached], imports=[], timeout=120)
    except (ProbeFailed, subprocess.TimeoutExpired) as exc:
        opts.log(f"deps: cached tree does not fit this code ({str(exc)[-200:]}); rebuilding")
        return False
    return True


def _install_deps(
    opts: BuildOptions, pins: list[str], staging: Path, task: Path, interpreter: Path
) -> Path:
    """The trimmed dependency tree: from the cache when it fits the code, else built by
    build_and_trim_weight.sh (and cached)."""
    target = opts.target
    deps = staging / "deps"
    cached = cache_root() / "deps" / f"{target.key()}-{_deps_key(opts, pins)}"
    if cached.is_dir() and _cached_deps_fit(opts, cached, task, interpreter):
        shutil.copytree(cached, deps, symlinks=True)
        opts.log(f"deps: trimmed tree from the cache ({cached.name})")
        return deps
    requirements = staging / "requirements.txt"
    requirements.write_text("\n".join(pins) + "\n")
    keep = targets.import_names(pins)
    command = [str(opts.root / "build_and_trim_weight.sh"), "--python-version", target.python]
    for tag in target.platforms:
        command += ["--platform", tag]
    command += ["--requirements", str(requirements), "--out", str(deps), "--"]
    command += ["--interpreter", str(interpreter), "--keep", ",".join(keep)]
    command += ["--bytecode", target.bytecode, "--arch", target.arch]
    command += ["--prefix", "/opt/python" if opts.layer else "/var/task"]
    if target.with_results_db:
        # The database path runs only with BEM_RESULTS_DB_URL set: no trace covers it.
        extra = targets.read_pyproject(opts.root)["project"]["optional-dependencies"]
        names = [pin.split("==")[0] for pin in extra[targets.RESULTS_DB_EXTRA]]
        command += ["--keep-closure", ",".join(names)]
    if _can_execute(target):
        command += ["--trace-root", str(task)]
    else:
        opts.log(f"deps: cannot run {target.arch} code here: no import trace, nothing dropped")
        command += ["--keep-all"]
    env = {**os.environ, "BEM_BUILD_PYTHON": sys.executable, "PYTHONPATH": str(opts.root)}
    _run(command, env, opts.root, "build_and_trim_weight.sh")
    partial = cached.with_name(cached.name + f".{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(deps, partial, symlinks=True)
    shutil.rmtree(cached, ignore_errors=True)
    try:
        partial.replace(cached)
    except OSError:  # a concurrent build stored the same tree first
        shutil.rmtree(partial, ignore_errors=True)
    return deps


def run_build(opts: BuildOptions) -> BuildResult:
    """Build, check and verify; raise BuildFailed (or UnsupportedTarget) on any failure."""
    started = time.perf_counter()
    target = opts.target
    root = opts.root.resolve()
    interpreter = targets.find_interpreter(target.python, str(opts.interpreter or "") or None)
    staging = (opts.staging or root / DEFAULT_STAGING) / target.key()
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    opts.log(f"build: {target.lambda_runtime} {target.arch}, runtime {target.runtime}")

    code = staging / "code"
    _run([str(root / "zip.sh"), str(code), opts.revision], dict(os.environ), root, "zip.sh")
    task = staging / "task"
    try:
        assemble.stage_code(code, task)
    except assemble.MissingCode as exc:
        raise BuildFailed(str(exc)) from exc
    model_dir, _ = _model_to_ship(opts, code)
    rows, max_diff, model_warnings = _stage_model(opts, model_dir, task)
    assemble.record_lib_files(task)  # the handler preloads only the files listed, verified
    from bem.model.identity import identity

    model = identity(task / "model")  # the card as shipped (the lean export adds its file)

    pins = targets.requirements(target, root)
    overridden = targets.overridden_pins(target)
    for name, version in overridden.items():
        opts.log(f"deps: {name} pinned to {version} for {target.lambda_runtime} (no wheel)")
    deps = _install_deps(opts, pins, staging, task, interpreter)
    trim.compile_bytecode(task, interpreter, "pycache", "/var/task")

    epoch = assemble.source_date_epoch(root)
    deflate_cache = cache_root() / "deflate"
    function_zip = staging / "deploy.zip"
    layer_zip = staging / "layer.zip" if opts.layer else None
    if layer_zip is not None:
        assemble.write_zip(function_zip, [(task, "")], epoch, opts.compress_level, deflate_cache)
        assemble.write_zip(
            layer_zip, [(deps, "python/")], epoch, opts.compress_level, deflate_cache
        )
    else:
        assemble.write_zip(
            function_zip, [(task, ""), (deps, "")], epoch, opts.compress_level, deflate_cache
        )

    zips = [function_zip] + ([layer_zip] if layer_zip else [])
    sizes = report.measure(zips)
    print(report.render(sizes), flush=True)
    try:
        # The scikit-learn variant is expected over 50 MB zipped: it deploys through S3.
        allow_s3 = opts.allow_s3 or target.runtime == "sklearn"
        warnings = report.check_limits(sizes, opts.zip_limit, opts.unzipped_limit, allow_s3)
    except report.OverLimit as exc:
        raise BuildFailed(f"size limit: {exc}") from exc
    warnings = model_warnings + warnings
    try:
        libraries = verify.check_glibc([task, deps], target.max_glibc)
    except verify.VerifyFailed as exc:
        raise BuildFailed(f"verify: {exc}") from exc
    opts.log(
        f"verify: {libraries} shared libraries need glibc <= "
        f"{target.max_glibc[0]}.{target.max_glibc[1]} ({target.lambda_runtime})"
    )

    verified = None
    if _can_execute(target):
        try:
            verified = verify.verify(
                function_zip, interpreter, staging / "verify", target.runtime, layer_zip
            )
        except (verify.VerifyFailed, ProbeFailed, subprocess.TimeoutExpired) as exc:
            raise BuildFailed(f"verify: {exc}") from exc
        if target.with_results_db:
            try:
                dialect = verify.verify_results_db(
                    function_zip,
                    interpreter,
                    staging / "verify-db",
                    target.runtime,
                    layer_zip,
                    opts.verify_db_url,
                )
            except (verify.VerifyFailed, ProbeFailed, subprocess.TimeoutExpired, OSError) as exc:
                raise BuildFailed(f"verify with the results store: {exc}") from exc
            opts.log(f"verify: the seed's results stored through the zip's SQLAlchemy ({dialect})")
        opts.log(
            f"verify: {verified.python} isolated, seed score {verified.score:.6f}, first "
            f"response {verified.first_response_seconds:.3f} s, peak RSS "
            f"{verified.maxrss_kb / 1024:.1f} MiB"
        )
    else:
        warnings.append(f"not verified: this host cannot run {target.arch} code")

    output = opts.output or root / "deploy.zip"
    shutil.copyfile(function_zip, output)
    layer_output = None
    if layer_zip is not None:
        layer_output = opts.layer_output or root / "layer.zip"
        shutil.copyfile(layer_zip, layer_output)
    for message in warnings:
        opts.log(f"warning: {message}")
    result = BuildResult(
        function_zip=output,
        layer_zip=layer_output,
        sizes=sizes,
        verified=verified,
        equivalence_rows=rows,
        equivalence_max_abs_diff=max_diff,
        pins=pins,
        overridden=overridden,
        warnings=warnings,
        seconds=time.perf_counter() - started,
        sha256={p.name: _sha256(p) for p in [output] + ([layer_output] if layer_output else [])},
        model=model,
    )
    (staging / "build-report.json").write_text(json.dumps(asdict(result), indent=2, default=str))
    opts.log(f"build: {output} sha256 {result.sha256[output.name][:16]}… in {result.seconds:.1f} s")
    from bem.model.identity import describe, reading_of

    opts.log(f"build: ships {describe(model)}")
    opts.log(f"build: requests are read as the model's data were: {reading_of(model)}")
    return result
