"""`bem invoke` and `bem serve`: run deploy.zip locally as Lambda would, without Docker."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from bem.deploy.options.cli import function_options, zip_option
from bem.deploy.spec import FunctionSpec
from bem.local.pool import DEFAULT_REGION, FunctionPool, LocalFunction, stderr_log_sink
from bem.local.task import TaskSetupError
from budget_matcher import SERVICE_NAME


def _emulated_function_options(command: Any) -> Any:
    """The deployed function's settings (`function_options`, shared with `bem deploy up`),
    the zip, and where the emulated function pretends to run → `function`, `zip_path`…"""

    @functools.wraps(command)
    def collapse(
        *args: Any, settings: dict[str, Any], function_name: str, region: str, **kwargs: Any
    ) -> Any:
        spec = FunctionSpec(name=function_name, **settings)
        return command(*args, function=LocalFunction(spec, region=region), **kwargs)

    options: list[Callable[[Any], Any]] = [
        zip_option,
        click.option(
            "--dev-zip",
            is_flag=True,
            help="Run a development zip of the work tree instead (deps cached under ~/.cache/bem).",
        ),
        function_options,
        click.option("--python", "python", default=None,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Interpreter for the runtime (default: pyenv's pythonX.Y)."),
        click.option("--function-name", default=SERVICE_NAME, show_default=True),
        click.option("--region", default=DEFAULT_REGION, show_default=True),
    ]  # fmt: skip
    for option in reversed(options):
        collapse = option(collapse)
    return collapse


def _zip(zip_path: Path, dev_zip: bool, runtime: str) -> Path:
    if dev_zip:
        from bem.local.devzip import build_dev_zip

        click.echo("building a development zip of the work tree…", err=True)
        return build_dev_zip(Path.cwd(), runtime=runtime)
    if not zip_path.is_file():
        raise click.ClickException(f"{zip_path} not found: run ./build first (or use --dev-zip)")
    return zip_path


def _read_event(event: str | None, event_file: Path | None) -> bytes:
    if event_file is not None:
        return sys.stdin.buffer.read() if str(event_file) == "-" else event_file.read_bytes()
    return (event if event is not None else "{}").encode()


@click.command("invoke")
@click.argument("event", required=False)
@click.option("--event-file", "-e", type=click.Path(path_type=Path, allow_dash=True),
              help="Read the event from a file ('-' = stdin).")  # fmt: skip
@_emulated_function_options
def invoke_command(
    event: str | None,
    event_file: Path | None,
    function: LocalFunction,
    zip_path: Path,
    dev_zip: bool,
    python: Path | None,
) -> None:
    """Run the built zip once, in a fresh runtime, as Lambda would; print the response.

    The function's log and Lambda's REPORT line (duration, billed duration, memory size, max
    memory used, init duration) go to stderr; exit status 1 on a function error.

    Example: bem invoke "$(cat tests/events/seed_direct.json)"
    """
    payload = _read_event(event, event_file)
    try:
        pool = FunctionPool.from_zip(
            _zip(zip_path, dev_zip, function.spec.runtime),
            function,
            interpreter=python,
            log_sink=stderr_log_sink,
        )
    except TaskSetupError as error:
        raise click.ClickException(str(error)) from error
    try:
        outcome = pool.invoke(payload)
    finally:
        pool.close()
    sys.stdout.buffer.write(outcome.payload + b"\n")
    sys.stdout.flush()
    if outcome.function_error:
        sys.exit(1)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=3000, show_default=True, help="Port (0 = a free one).")
@click.option("--concurrency", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Sandboxes at most (warm workers).")  # fmt: skip
@click.option("--warm/--no-warm", default=True, show_default=True,
              help="Start every sandbox before serving (else on demand).")  # fmt: skip
@click.option("--alias", "aliases", multiple=True, metavar="NAME[=VERSION]",
              help="A qualifier besides $LATEST and the deployed alias (live): "
                   "alias[=version] or a version number.")  # fmt: skip
@click.option("--max-in-flight", type=int, default=None,
              help="Answer 429 (TooManyRequestsException) beyond this many at once.")  # fmt: skip
@click.option("--quiet", is_flag=True, help="No access log and no function logs on stderr.")
@click.option("--reload", is_flag=True, help="Serve a rebuilt zip as soon as it changes.")
@_emulated_function_options
def serve_command(
    host: str,
    port: int,
    concurrency: int,
    warm: bool,
    aliases: tuple[str, ...],
    max_in_flight: int | None,
    quiet: bool,
    reload: bool,
    function: LocalFunction,
    zip_path: Path,
    dev_zip: bool,
    python: Path | None,
) -> None:
    """Serve the Lambda Invoke API and the API Gateway route from warm sandboxes.

    boto3: client("lambda", endpoint_url="http://127.0.0.1:3000").invoke(FunctionName=...);
    HTTP: POST or GET http://127.0.0.1:3000/test/budget_expense_matcher/.

    Example: bem serve --port 3000 --concurrency 2
    """
    from bem.local.invoke_api import InvokeApiServer
    from bem.local.reloader import ZipReloader

    log_sink = None if quiet else stderr_log_sink
    served_zip = _zip(zip_path, dev_zip, function.spec.runtime)

    def make_pool(path: Path) -> FunctionPool:
        return FunctionPool.from_zip(
            path, function, concurrency=concurrency, interpreter=python, log_sink=log_sink
        )

    try:
        pool = make_pool(served_zip)
    except TaskSetupError as error:
        raise click.ClickException(str(error)) from error
    qualifiers = {function.spec.alias: function.version}  # the alias `bem deploy`/SAM call
    for alias in aliases:
        name, _, version = alias.partition("=")
        qualifiers[name] = version or (name if name.isdigit() else function.version)
    access_log = None if quiet else lambda line: click.echo(line, err=True)
    try:
        server = InvokeApiServer(
            pool, host, port, aliases=qualifiers, max_in_flight=max_in_flight, access_log=access_log
        )
    except OSError as error:
        pool.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from error
    if warm:
        ready = pool.warm()
        click.echo(f"{ready}/{concurrency} sandboxes warm", err=True)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.start()
    reloader = None
    if reload:
        report = lambda line: click.echo(line, err=True)  # noqa: E731
        reloader = ZipReloader(served_zip, server, make_pool, warm=warm, report=report)
        reloader.start()
    click.echo(
        f"Serving {function.function_name} ({zip_path if not dev_zip else 'dev zip'}) on "
        f"{server.url}\n  Invoke API: endpoint_url={server.url}\n"
        f"  API route:  {server.url}/test/budget_expense_matcher/",
        err=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        if reloader is not None:
            reloader.stop()
        server.stop()
        server.pool.close()
