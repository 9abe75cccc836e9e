"""The option groups of `bem deploy`, declared once and shared with `bem invoke`/`bem serve`
(the emulator) and `bem monitor`.

`target_options` (which function, where, how to reach AWS) gives a command one `Target`;
`function_options` (memory, timeout, runtime, handler, environment: the `FunctionSpec` fields)
gives it `settings`, so deploying and emulating run the function the same way.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from bem.deploy.aws import ClientFactory, boto3_client_factory
from bem.deploy.spec import (
    DEFAULT_ENVIRONMENT,
    DEFAULT_HANDLER,
    DEFAULT_MEMORY_MB,
    DEFAULT_RUNTIME,
    DEFAULT_TIMEOUT_S,
    FunctionSpec,
)
from budget_matcher import SERVICE_NAME
from budget_matcher.config import (
    DEFAULT_ALIAS,
    DEFAULT_DEPLOY_REGIONS,
    DEFAULT_DEPLOY_ZIP,
    ENV_AWS_ENDPOINT_URL,
    ENV_DEPLOY_FUNCTION_NAME,
    ENV_DEPLOY_REGIONS,
    ENV_DEPLOY_ZIP,
)

F = TypeVar("F", bound=Callable[..., Any])


def resolve_regions(given: tuple[str, ...]) -> list[str]:
    """Regions from --region (repeatable, comma lists allowed) > BEM_DEPLOY_REGIONS > default."""
    raw = ",".join(given) or os.environ.get(ENV_DEPLOY_REGIONS, "") or DEFAULT_DEPLOY_REGIONS
    regions: list[str] = []
    for region in (r.strip() for r in raw.split(",")):
        if region and region not in regions:
            regions.append(region)
    return regions


def parse_environment(pairs: tuple[str, ...]) -> dict[str, str]:
    """KEY=VALUE pairs from --env."""
    environment: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--env")
        environment[key] = value
    return environment


def _apply(options: list[Callable[[Any], Any]], command: Any) -> Any:
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True)
class Target:
    """Which function, where, and how to reach AWS: what every sub-command is told."""

    function_name: str
    alias: str
    regions: list[str]
    endpoint_url: str | None
    profile: str | None
    as_json: bool

    def spec(self, **settings: Any) -> FunctionSpec:
        return FunctionSpec(name=self.function_name, alias=self.alias, **settings)

    def clients(self, ctx: click.Context) -> ClientFactory:
        """Clients from the context object when one is injected (tests), else from boto3."""
        injected = ctx.find_root().obj
        if callable(injected):
            return injected
        return boto3_client_factory(endpoint_url=self.endpoint_url, profile=self.profile)

    def echo(self, line: str) -> None:
        """Progress lines, silent under --json."""
        if not self.as_json:
            click.echo(line)

    def emit(self, data: Any, text: str) -> None:
        click.echo(json.dumps(data, indent=2, default=str) if self.as_json else text)


def target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--function-name, --alias, --region, --endpoint-url, --profile, --json → `target`."""

    @functools.wraps(command)
    def collapse(
        *args: Any,
        function_name: str,
        alias: str,
        regions: tuple[str, ...],
        endpoint_url: str | None,
        profile: str | None,
        as_json: bool,
        **kwargs: Any,
    ) -> Any:
        target = Target(
            function_name, alias, resolve_regions(regions), endpoint_url, profile, as_json
        )
        return command(*args, target=target, **kwargs)

    options = [
        click.option(
            "--function-name", envvar=ENV_DEPLOY_FUNCTION_NAME, default=SERVICE_NAME,
            show_default=True,
        ),
        click.option("--alias", default=DEFAULT_ALIAS, show_default=True),
        click.option(
            "--region", "regions", multiple=True,
            help=f"Repeat (or comma-separate) for mirrors; the first is the primary. "
            f"Default: ${ENV_DEPLOY_REGIONS} or {DEFAULT_DEPLOY_REGIONS}.",
        ),
        click.option(
            "--endpoint-url", envvar=ENV_AWS_ENDPOINT_URL, default=None,
            help="Send every AWS call here (a moto server in tests).",
        ),
        click.option("--profile", default=None, help="AWS credentials profile."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text."),
    ]  # fmt: skip
    return _apply(options, collapse)


def function_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--memory, --timeout, --runtime, --handler, --env → `settings` (FunctionSpec fields).

    Shared by `bem deploy up` and the emulator, so both run the function the same way.
    """

    @functools.wraps(command)
    def collapse(
        *args: Any,
        memory_mb: int,
        timeout_s: float,
        runtime: str,
        handler: str,
        env_pairs: tuple[str, ...],
        **kwargs: Any,
    ) -> Any:
        settings = {
            "memory_mb": memory_mb,
            "timeout_s": timeout_s,
            "runtime": runtime,
            "handler": handler,
            "environment": {**DEFAULT_ENVIRONMENT, **parse_environment(env_pairs)},
        }
        return command(*args, settings=settings, **kwargs)

    options = [
        click.option("--memory", "memory_mb", type=click.IntRange(128, 10240),
                     default=DEFAULT_MEMORY_MB, show_default=True, help="Memory size, MB."),
        click.option("--timeout", "timeout_s", type=click.FloatRange(1, 900),
                     default=DEFAULT_TIMEOUT_S, show_default=True, help="Timeout, seconds."),
        click.option("--runtime", default=DEFAULT_RUNTIME, show_default=True),
        click.option("--handler", default=DEFAULT_HANDLER, show_default=True),
        click.option("--env", "env_pairs", multiple=True, metavar="KEY=VALUE",
                     help="A function environment variable (repeatable)."),
    ]  # fmt: skip
    return _apply(options, collapse)


def zip_option(command: F) -> F:
    """--zip: the built function (./build makes it; $BEM_DEPLOY_ZIP)."""
    return click.option(
        "--zip",
        "zip_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=ENV_DEPLOY_ZIP,
        default=DEFAULT_DEPLOY_ZIP,
        show_default=True,
        help="The zip (./build makes it).",
    )(command)


def dry_run_option(help_text: str) -> Callable[[F], F]:
    """--dry-run with the command's own wording."""
    return click.option("--dry-run", is_flag=True, help=help_text)
