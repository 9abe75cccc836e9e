"""Options and helpers shared by the `bem deploy` sub-commands."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import click

from bem.deploy_aws import ClientFactory, boto3_client_factory
from budget_matcher import SERVICE_NAME
from budget_matcher.config import (
    DEFAULT_ALIAS,
    DEFAULT_DEPLOY_REGIONS,
    ENV_AWS_ENDPOINT_URL,
    ENV_DEPLOY_FUNCTION_NAME,
    ENV_DEPLOY_REGIONS,
)


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


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options every sub-command shares: which function, where, and how to reach AWS."""
    options = [
        click.option(
            "--function-name",
            envvar=ENV_DEPLOY_FUNCTION_NAME,
            default=SERVICE_NAME,
            show_default=True,
        ),
        click.option("--alias", default=DEFAULT_ALIAS, show_default=True),
        click.option(
            "--region",
            "regions",
            multiple=True,
            help=f"Repeat (or comma-separate) for mirrors; the first is the primary. "
            f"Default: ${ENV_DEPLOY_REGIONS} or {DEFAULT_DEPLOY_REGIONS}.",
        ),
        click.option(
            "--endpoint-url",
            envvar=ENV_AWS_ENDPOINT_URL,
            default=None,
            help="Send every AWS call here (a moto server in tests).",
        ),
        click.option("--profile", default=None, help="AWS credentials profile."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def client_factory(
    ctx: click.Context, endpoint_url: str | None, profile: str | None
) -> ClientFactory:
    """Clients from the context object when one is injected (tests), else from boto3."""
    injected = ctx.find_root().obj
    if callable(injected):
        return injected
    return boto3_client_factory(endpoint_url=endpoint_url, profile=profile)


def emit(data: Any, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)
