"""`bem deploy api` (the REST API without SAM) and `bem deploy sam-params` (SAM glue)."""

from __future__ import annotations

from pathlib import Path

import click

from bem.deploy_api import ApiSettings, ensure_rest_api
from bem.deploy_aws import DeployError
from bem.deploy_options import client_factory, common_options, emit, resolve_regions
from bem.deploy_plan import FunctionSpec, read_artifact
from bem.deploy_sam import DEFAULT_SAMCONFIG, read_samconfig, sam_parameter_overrides


@click.command("api")
@common_options
@click.option("--stage", default="test", show_default=True)
@click.option(
    "--rate-limit", type=float, default=20.0, show_default=True, help="Requests per second per key."
)
@click.option("--burst-limit", type=int, default=40, show_default=True)
@click.option("--quota-per-day", type=int, default=100_000, show_default=True)
@click.option("--dry-run", is_flag=True, help="Say what would be created; change nothing.")
@click.pass_context
def api_command(
    ctx: click.Context,
    function_name: str,
    alias: str,
    regions: tuple[str, ...],
    endpoint_url: str | None,
    profile: str | None,
    as_json: bool,
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
    spec = FunctionSpec(name=function_name, alias=alias)
    settings = ApiSettings(stage, rate_limit, burst_limit, quota_per_day)
    results = []
    for region in resolve_regions(regions):
        try:
            results.append(
                ensure_rest_api(
                    spec,
                    region,
                    client_factory(ctx, endpoint_url, profile),
                    settings,
                    dry_run=dry_run,
                    echo=(lambda _line: None) if as_json else click.echo,
                )
            )
        except DeployError as error:
            raise click.ClickException(str(error)) from error
    lines = [f"{r.region}: {r.url} (API key id {r.key_id})" for r in results if r.url]
    emit([r.__dict__ for r in results], as_json, "\n".join(lines))


@click.command("sam-params")
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
