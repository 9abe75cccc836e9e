"""`bem deploy`: put deploy.zip on Lambda with boto3 — versions, the `live` alias, rollback,
canary weights and mirrors in several regions; `bem deploy api` (the REST API without SAM) and
`bem deploy sam-params` (SAM glue). For teams not using the SAM template.

The option groups (`target_options` → one `Target`, `function_options` → the `FunctionSpec`
settings) are declared once, in `bem.deploy.options.cli`. A DeployError from any sub-command
ends in one line: the group (`DeployGroup`) converts it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bem.deploy.aws import DeployError
from bem.deploy.ops import deploy, promote, rollback, status
from bem.deploy.options.cli import (
    Target,
    dry_run_option,
    function_options,
    target_options,
    zip_option,
)
from bem.deploy.plan import read_artifact
from bem.deploy.rest_api import ApiSettings, ensure_rest_api
from bem.deploy.sam import DEFAULT_SAMCONFIG, read_samconfig, sam_parameter_overrides
from bem.deploy.spec import DEFAULT_ARCHITECTURE, DEFAULT_LOG_RETENTION_DAYS
from budget_matcher.config import ENV_DEPLOY_BUCKET, ENV_DEPLOY_ROLE_ARN


class DeployGroup(click.Group):
    """The deploy group: a DeployError of any sub-command becomes its one-line message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DeployError as error:
            raise click.ClickException(str(error)) from error


def _artifact_path(zip_path: Path) -> Path:
    if not zip_path.is_file():
        raise click.ClickException(f"{zip_path} not found: run ./build first")
    return zip_path


@click.group("deploy", cls=DeployGroup)
def deploy_command() -> None:
    """Deploy deploy.zip to Lambda: publish a version, move the alias, roll back, mirror.

    Example: bem deploy up --zip deploy.zip --region us-west-2 --region eu-west-1 --dry-run
    """


@deploy_command.command("up")
@target_options
@zip_option
@function_options
@click.option(
    "--role-arn",
    envvar=ENV_DEPLOY_ROLE_ARN,
    default=None,
    help="Execution role; default: create <function>-lambda-role (writes its own logs only).",
)
@click.option(
    "--architecture",
    type=click.Choice(["x86_64", "arm64"]),
    default=DEFAULT_ARCHITECTURE,
    show_default=True,
)
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
@dry_run_option("Print the plan; make no call that changes state.")
@click.pass_context
def up_command(
    ctx: click.Context,
    target: Target,
    zip_path: Path,
    settings: dict[str, Any],
    role_arn: str | None,
    architecture: str,
    bucket: str | None,
    log_retention_days: int,
    canary_percent: float | None,
    commit: str | None,
    dry_run: bool,
) -> None:
    """Create or update the function, publish a version and point the alias at it.

    Example: bem deploy up --zip deploy.zip --region us-west-2,eu-west-1 --dry-run
    """
    spec = target.spec(
        architecture=architecture,
        role_arn=role_arn,
        bucket=bucket,
        log_retention_days=log_retention_days,
        **settings,
    )
    artifact = read_artifact(_artifact_path(zip_path), commit=commit)
    weight = canary_percent / 100.0 if canary_percent is not None else None
    outcome = deploy(
        spec,
        artifact,
        target.regions,
        target.clients(ctx),
        dry_run=dry_run,
        canary_weight=weight,
        echo=target.echo,
    )
    lines = [
        f"{artifact.path}: {artifact.size_bytes:,} bytes, sha256 {artifact.code_sha256}, "
        f"{artifact.description}",
    ]
    if artifact.reading:
        lines.append(f"requests are read as the model's data were: {artifact.reading}")
    if dry_run:
        lines.append("dry run: nothing changed. The plan:")
        for plan in outcome.plans:
            if plan.state.unobserved:
                lines.append(f"{plan.region}: not read ({plan.state.unobserved})")
            lines.append(
                f"{plan.region} (function {'exists' if plan.state.function_exists else 'new'}"
                f", {target.alias} -> {plan.state.live_version or '-'}):"
            )
            lines += [f"  {n}. {s.describe()}" for n, s in enumerate(plan.steps, start=1)]
    for result in outcome.results:
        routing = (
            f" ({result.canary_weight:.0%} of calls; `bem deploy promote` to finish)"
            if result.canary_weight
            else ""
        )
        lines.append(
            f"{result.region}: {target.alias} -> version {result.version}{routing} "
            f"(was {result.previous_version or '-'})"
        )
    target.emit(outcome.as_dict(), "\n".join(lines))


@deploy_command.command("rollback")
@target_options
@click.option("--to-version", default=None, help="Version to go back to (default: the previous).")
@dry_run_option("Print where the alias would go; change nothing.")
@click.pass_context
def rollback_command(
    ctx: click.Context,
    target: Target,
    to_version: str | None,
    dry_run: bool,
) -> None:
    """Point the alias back at the previous version (or --to-version) in every region.

    Example: bem deploy rollback --region us-west-2 --region eu-west-1
    """
    spec = target.spec()
    plans = rollback(
        spec,
        target.regions,
        target.clients(ctx),
        to_version=to_version,
        dry_run=dry_run,
        echo=target.echo,
    )
    if target.as_json:
        target.emit([p.__dict__ for p in plans], "")


@deploy_command.command("promote")
@target_options
@dry_run_option("Print the moves; change nothing.")
@click.pass_context
def promote_command(
    ctx: click.Context,
    target: Target,
    dry_run: bool,
) -> None:
    """Finish a canary (`up --canary-percent`): all calls to the new version.

    Example: bem deploy promote --region us-west-2
    """
    spec = target.spec()
    moves = promote(
        spec,
        target.regions,
        target.clients(ctx),
        dry_run=dry_run,
        echo=target.echo,
    )
    if target.as_json:
        target.emit([{"region": r, "from": a, "to": b} for r, a, b in moves], "")


@deploy_command.command("status")
@target_options
@click.pass_context
def status_command(
    ctx: click.Context,
    target: Target,
) -> None:
    """Show the alias, its routing and history, and the versions in every region.

    Example: bem deploy status --region us-west-2 --json
    """
    spec = target.spec()
    report = status(spec, target.regions, target.clients(ctx))
    lines: list[str] = []
    for entry in report:
        if not entry["function_exists"]:
            lines.append(f"{entry['region']}: {target.function_name} not deployed")
            continue
        routing = "".join(f", {w:.0%} -> {v}" for v, w in entry["routing"].items())
        lines.append(
            f"{entry['region']}: {target.alias} -> {entry['live_version'] or '-'}{routing}; "
            f"previous: {','.join(entry['history']) or '-'}"
        )
        lines += [
            f"  version {v['version']}: {v['description']} ({v['last_modified']})"
            for v in entry["versions"]
        ]
    target.emit(report, "\n".join(lines))


@deploy_command.command("api")
@target_options
@click.option("--stage", default="test", show_default=True)
@click.option(
    "--rate-limit", type=float, default=20.0, show_default=True, help="Requests per second per key."
)
@click.option("--burst-limit", type=int, default=40, show_default=True)
@click.option("--quota-per-day", type=int, default=100_000, show_default=True)
@dry_run_option("Say what would be created; change nothing.")
@click.pass_context
def api_command(
    ctx: click.Context,
    target: Target,
    stage: str,
    rate_limit: float,
    burst_limit: int,
    quota_per_day: int,
    dry_run: bool,
) -> None:
    """Create (or complete) the REST API in front of the alias: POST and GET on
    /budget_expense_matcher/, API key required, usage plan, stage deployed.

    Example: bem deploy api --region us-west-2 && aws apigateway get-api-key --include-value
    --api-key <key id printed>
    """
    spec = target.spec()
    settings = ApiSettings(stage, rate_limit, burst_limit, quota_per_day)
    results = [
        ensure_rest_api(
            spec, region, target.clients(ctx), settings, dry_run=dry_run, echo=target.echo
        )
        for region in target.regions
    ]
    lines = [f"{r.region}: {r.url} (API key id {r.key_id})" for r in results if r.url]
    target.emit([r.__dict__ for r in results], "\n".join(lines))


@deploy_command.command("sam-params")
@zip_option
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
    artifact = read_artifact(_artifact_path(zip_path), commit=commit)
    click.echo(sam_parameter_overrides(read_samconfig(config_file), config_env, artifact))
