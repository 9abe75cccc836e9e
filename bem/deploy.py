"""`bem deploy`: put deploy.zip on Lambda with boto3 — versions, the `live` alias, rollback,
canary weights and mirrors in several regions. For teams not using the SAM template.
"""

from __future__ import annotations

from pathlib import Path

import click

from bem.deploy_aws import DeployError
from bem.deploy_extra_cli import api_command, sam_params_command
from bem.deploy_ops import deploy, promote, rollback, status
from bem.deploy_options import (
    client_factory,
    common_options,
    emit,
    parse_environment,
    resolve_regions,
)
from bem.deploy_plan import (
    DEFAULT_ARCHITECTURE,
    DEFAULT_ENVIRONMENT,
    DEFAULT_LOG_RETENTION_DAYS,
    DEFAULT_MEMORY_MB,
    DEFAULT_RUNTIME,
    DEFAULT_TIMEOUT_S,
    FunctionSpec,
    read_artifact,
)
from budget_matcher.config import ENV_DEPLOY_BUCKET, ENV_DEPLOY_ROLE_ARN


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
    help="Execution role; default: create <function>-lambda-role (writes its own logs only).",
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
        environment={**DEFAULT_ENVIRONMENT, **parse_environment(env_pairs)},
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
            client_factory(ctx, endpoint_url, profile),
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
    emit(outcome.as_dict(), as_json, "\n".join(lines))


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
            client_factory(ctx, endpoint_url, profile),
            to_version=to_version,
            dry_run=dry_run,
            echo=(lambda _line: None) if as_json else click.echo,
        )
    except DeployError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        emit([p.__dict__ for p in plans], True, "")


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
        client_factory(ctx, endpoint_url, profile),
        dry_run=dry_run,
        echo=(lambda _line: None) if as_json else click.echo,
    )
    if as_json:
        emit([{"region": r, "from": a, "to": b} for r, a, b in moves], True, "")


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
    report = status(spec, resolve_regions(regions), client_factory(ctx, endpoint_url, profile))
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
    emit(report, as_json, "\n".join(lines))


deploy_command.add_command(api_command)
deploy_command.add_command(sam_params_command)
