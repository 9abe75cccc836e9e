"""The `./build` command line (also `bem build`): options -> BuildOptions -> run_build, exit 1
with the reason."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import click

from bem.packaging import report, targets
from bem.packaging.build import BuildFailed, BuildOptions, run_build
from bem.packaging.targets import BuildTarget, UnsupportedTarget


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The ./build command line."""
    parser = argparse.ArgumentParser(
        prog="./build",
        description="Build deploy.zip for AWS Lambda (no Docker). Example: ./build --python 3.13",
    )
    parser.add_argument("--python", default=targets.DEFAULT_PYTHON, choices=targets.PYTHONS)
    parser.add_argument("--arch", default=targets.DEFAULT_ARCH, choices=targets.ARCHES)
    parser.add_argument("--runtime", default="lean", choices=targets.RUNTIMES)
    parser.add_argument("--bytecode", default="sourceless", choices=targets.BYTECODE_MODES)
    parser.add_argument("--layer", action="store_true", help="dependencies in layer.zip")
    parser.add_argument("--with-results-db", action="store_true", help="add SQLAlchemy + pg8000")
    parser.add_argument("--model-dir", type=Path, help="model artefacts (default: model/ at HEAD)")
    parser.add_argument("--holdout", type=Path, help="held-out feature rows (.npy) for the proof")
    parser.add_argument("--output", type=Path, help="function zip path (default deploy.zip)")
    parser.add_argument("--layer-output", type=Path, help="layer zip path (default layer.zip)")
    parser.add_argument("--allow-s3", action="store_true", help="allow a zip over 50 MB")
    parser.add_argument("--max-zip-bytes", type=int, default=report.DIRECT_UPLOAD_LIMIT)
    parser.add_argument("--max-unzipped-bytes", type=int, default=report.UNZIPPED_LIMIT)
    parser.add_argument("--staging", type=Path, help="work directory (default build_out/)")
    parser.add_argument("--revision", default="HEAD", help="git revision of the code")
    parser.add_argument("--interpreter", type=Path, help="target interpreter to use")
    parser.add_argument(
        "--verify-db-url",
        help="with --with-results-db: database to verify against (default SQLite)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ./build."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    root = Path(os.environ.get("BEM_REPO_ROOT") or Path.cwd())
    try:
        target = BuildTarget(
            python=args.python,
            arch=args.arch,
            runtime=args.runtime,
            with_results_db=args.with_results_db,
            bytecode=args.bytecode,
        )
        run_build(
            BuildOptions(
                root=root,
                target=target,
                layer=args.layer,
                model_dir=args.model_dir,
                holdout=args.holdout,
                output=args.output,
                layer_output=args.layer_output,
                allow_s3=args.allow_s3,
                zip_limit=args.max_zip_bytes,
                unzipped_limit=args.max_unzipped_bytes,
                staging=args.staging,
                revision=args.revision,
                interpreter=args.interpreter,
                verify_db_url=args.verify_db_url,
            )
        )
    except (BuildFailed, UnsupportedTarget) as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    return 0


@click.command(
    "build",
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def build_command(args: tuple[str, ...]) -> None:
    """Build deploy.zip (the same as ./build; `bem build --help` lists the options).

    Example: bem build --python 3.13 --arch arm64
    """
    raise SystemExit(main(list(args)))


if __name__ == "__main__":
    raise SystemExit(main())
