"""`bem deploy`: put deploy.zip on Lambda with boto3 — versions, the `live` alias, rollback,
canary weights and mirrors in several regions. For teams not using the SAM template.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bem.deploy_aws import ClientFactory, DeployError, boto3_client_factory
from bem.deploy_ops import deploy, promote, rollback, status
from bem.deploy_plan import (
    DEFAULT_ARCHITECTURE,
    DEFAULT_LOG_RETENTION_DAYS,
    DEFAULT_MEMORY_MB,
    DEFAULT_RUNTIME,
    DEFAULT_TIMEOUT_S,
    FunctionSpec,
    read_artifact,
)
from bem.deploy_sam import DEFAULT_SAMCONFIG, read_samconfig, sam_parameter_overrides
from budget_matcher import SERVICE_NAME
from budget_matcher.config import (
    DEFAULT_ALIAS,
    DEFAULT_DEPLOY_REGIONS,
    ENV_AWS_ENDPOINT_URL,
    ENV_DEPLOY_BUCKET,
    ENV_DEPLOY_FUNCTION_NAME,
    ENV_DEPLOY_REGIONS,
    ENV_DEPLOY_ROLE_ARN,
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


def _clients(ctx: click.Context, endpoint_url: str | None, profile: str | None) -> ClientFactory:
    """Clients from the context object when one is injected (tests), else from boto3."""
    injected = ctx.find_root().obj
    if callable(injected):
        return injected
    return boto3_client_factory(endpoint_url=endpoint_url, profile=profile)


def _emit(data: Any, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


@click.group("deploy")
def deploy_command() -> None:
    """Deploy deploy.zip to Lambda: publish a version, move the alias, roll back, mirror.

    Example: bem deploy up --zip deploy.zip --region us-west-2 --region eu-west-1 --dry-run
    """


@deploy_command.command("up")
@common_options
@click.option(
    "--zip",
    "zip_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default="deploy.zip",
    show_default=True,
)
@click.option(
    "--role-arn",
    envvar=ENV_DEPLOY_ROLE_ARN,
    default=None,
    help="Execution role; default: create <function>-lambda-role with basic logging.",
)
@click.option(
    "--memory",
    "memory_mb",
    type=click.IntRange(128, 10240),
    default=DEFAULT_MEMORY_MB,
    show_default=True,
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.IntRange(1, 900),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
)
@click.option("--runtime", default=DEFAULT_RUNTIME, show_default=True)
@click.option(
    "--architecture",
    type=click.Choice(["x86_64", "arm64"]),
    default=DEFAULT_ARCHITECTURE,
    show_default=True,
)
@click.option("--env", "env_pairs", multiple=True, help="KEY=VALUE for the function (repeat).")
@click.option(
    "--bucket",
    envvar=ENV_DEPLOY_BUCKET,
    default=None,
    help="S3 bucket for zips over 50 MB; may use {region} and {account}.",
)
@click.option(
    "--log-retention-days", type=int, default=DEFAULT_LOG_RETENTION_DAYS, show_default=True
)
@click.option(
    "--canary-percent",
    type=click.FloatRange(0, 100, min_open=True, max_open=True),
    default=None,
    help="Send this share of calls to the new version until `promote`.",
)
@click.option("--commit", default=None, help="Git commit for the description (default: HEAD).")
@click.option("--dry-run", is_flag=True, help="Print the plan; make no call that changes state.")
@click.pass_context
def up_command(
    ctx: click.Context,
    function_name: str,
    alias: str,
    regions: tuple[str, ...],
    endpoint_url: str | None,
    profile: str | None,
    as_json: bool,
    zip_path: Path,
    role_arn: str | None,
    memory_mb: int,
    timeout_s: int,
    runtime: str,
    architecture: str,
    env_pairs: tuple[str, ...],
    bucket: str | None,
    log_retention_days: int,
    canary_percent: float | None,
    commit: str | None,
    dry_run: bool,
) -> None:
    """Create or update the function, publish a version and point the alias at it.

    Example: bem deploy up --zip deploy.zip --region us-west-2,eu-west-1
    """
    spec = FunctionSpec(
        name=function_name,
        alias=alias,
        runtime=runtime,
        architecture=architecture,
        memory_mb=memory_mb,
        timeout_s=timeout_s,
        role_arn=role_arn,
        environment=parse_environment(env_pairs),
        bucket=bucket,
        log_retention_days=log_retention_days,
    )
    artifact = read_artifact(zip_path, commit=commit)
    echo = (lambda _line: None) if as_json else click.echo
    weight = canary_percent / 100.0 if canary_percent is not None else None
    try:
        outcome = deploy(
            spec,
            artifact,
            resolve_regions(regions),
            _clients(ctx, endpoint_url, profile),
            dry_run=dry_run,
            canary_weight=weight,
            echo=echo,
        )
    except DeployError as error:
        raise click.ClickException(str(error)) from error
    lines = [
        f"{artifact.path}: {artifact.size_bytes:,} bytes, sha256 {artifact.code_sha256}, "
        f"{artifact.description}"
    ]
    if dry_run:
        lines.append("dry run: nothing changed. The plan:")
        for plan in outcome.plans:
            lines.append(
                f"{plan.region} (function {'exists' if plan.state.function_exists else 'new'}"
                f", {alias} -> {plan.state.live_version or '-'}):"
            )
            lines += [f"  {n}. {s.describe()}" for n, s in enumerate(plan.steps, start=1)]
    for result in outcome.results:
        routing = (
            f" ({result.canary_weight:.0%} of calls; `bem deploy promote` to finish)"
            if result.canary_weight
            else ""
        )
        lines.append(
            f"{result.region}: {alias} -> version {result.version}{routing} "
            f"(was {result.previous_version or '-'})"
        )
    _emit(outcome.as_dict(), as_json, "\n".join(lines))


@deploy_command.command("rollback")
@common_options
@click.option("--to-version", default=None, help="Version to go back to (default: the previous).")
@click.option("--dry-run", is_flag=True, help="Print where the alias would go; change nothing.")
@click.pass_context
def rollback_command(
    ctx: click.Context,
    function_name: str,
    alias: str,
    regions: tuple[str, ...],
    endpoint_url: str | None,
    profile: str | None,
    as_json: bool,
    to_version: str | None,
    dry_run: bool,
) -> None:
    """Point the alias back at the previous version (or --to-version) in every region.

    Example: bem deploy rollback --region us-west-2 --region eu-west-1
    """
    spec = FunctionSpec(name=function_name, alias=alias)
    try:
        plans = rollback(
            spec,
            resolve_regions(regions),
            _clients(ctx, endpoint_url, profile),
            to_version=to_version,
            dry_run=dry_run,
            echo=(lambda _line: None) if as_json else click.echo,
        )
    except DeployError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        _emit([p.__dict__ for p in plans], True, "")


@deploy_command.command("promote")
@common_options
@click.option("--dry-run", is_flag=True)
@click.pass_context
def promote_command(
    ctx: click.Context,
    function_name: str,
    alias: str,
    regions: tuple[str, ...],
    endpoint_url: str | None,
    profile: str | None,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Finish a canary (`up --canary-percent`): all calls to the new version.

    Example: bem deploy promote --region us-west-2
    """
    spec = FunctionSpec(name=function_name, alias=alias)
    moves = promote(
        spec,
        resolve_regions(regions),
        _clients(ctx, endpoint_url, profile),
        dry_run=dry_run,
        echo=(lambda _line: None) if as_json else click.echo,
    )
    if as_json:
        _emit([{"region": r, "from": a, "to": b} for r, a, b in moves], True, "")


@deploy_command.command("status")
@common_options
@click.pass_context
def status_command(
    ctx: click.Context,
    function_name: str,
    alias: str,
    regions: tuple[str, ...],
    endpoint_url: str | None,
    profile: str | None,
    as_json: bool,
) -> None:
    """Show the alias, its routing and history, and the versions in every region.

    Example: bem deploy status --region us-west-2 --json
    """
    spec = FunctionSpec(name=function_name, alias=alias)
    report = status(spec, resolve_regions(regions), _clients(ctx, endpoint_url, profile))
    lines: list[str] = []
    for entry in report:
        if not entry["function_exists"]:
            lines.append(f"{entry['region']}: {function_name} not deployed")
            continue
        routing = "".join(f", {w:.0%} -> {v}" for v, w in entry["routing"].items())
        lines.append(
            f"{entry['region']}: {alias} -> {entry['live_version'] or '-'}{routing}; "
            f"previous: {','.join(entry['history']) or '-'}"
        )
        lines += [
            f"  version {v['version']}: {v['description']} ({v['last_modified']})"
            for v in entry["versions"]
        ]
    _emit(report, as_json, "\n".join(lines))


@deploy_command.command("sam-params")
@click.option(
    "--zip",
    "zip_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default="deploy.zip",
    show_default=True,
)
@click.option(
    "--config-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=str(DEFAULT_SAMCONFIG),
    show_default=True,
)
@click.option("--config-env", default="default", show_default=True)
@click.option("--commit", default=None, help="Git commit (default: HEAD).")
def sam_params_command(
    zip_path: Path, config_file: Path, config_env: str, commit: str | None
) -> None:
    """Print `sam deploy --parameter-overrides` for one region's config env and this zip.

    Example: sam deploy -t deploy/template.yaml --config-env eu-west-1
    --parameter-overrides "$(bem deploy sam-params --config-env eu-west-1)"
    """
    artifact = read_artifact(zip_path, commit=commit)
    try:
        click.echo(sam_parameter_overrides(read_samconfig(config_file), config_env, artifact))
    except DeployError as error:
        raise click.ClickException(str(error)) from error
