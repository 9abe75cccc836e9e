"""`bem deploy api`: the REST API of the SAM template, made with boto3 for teams without SAM.

POST and GET on /budget_expense_matcher/ (Lambda proxy integration to the alias, so a rollback
of the alias is a rollback of the API), an API key required on both, a usage plan with
throttling and a daily quota, the stage deployed. Every piece is looked up before it is
created, so running it again changes nothing but a fresh deployment of the stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bem.deploy.aws import ClientFactory, DeployError, error_code, is_not_found
from bem.deploy.spec import FunctionSpec

ROUTE = "budget_expense_matcher"
METHODS = ("POST", "GET")
DEFAULT_STAGE = "test"


@dataclass(frozen=True)
class ApiSettings:
    """The API around the function; defaults match deploy/template.yaml's."""

    stage: str = DEFAULT_STAGE
    rate_limit: float = 20.0
    burst_limit: int = 40
    quota_per_day: int = 100_000


@dataclass
class ApiResult:
    """What exists after `ensure_rest_api` (or would be created, in a dry run)."""

    region: str
    api_id: str | None
    url: str | None
    key_id: str | None
    actions: list[str] = field(default_factory=list)


def ensure_rest_api(
    spec: FunctionSpec,
    region: str,
    clients: ClientFactory,
    settings: ApiSettings | None = None,
    dry_run: bool = False,
    echo: Callable[[str], None] = lambda _line: None,
) -> ApiResult:
    """Create what is missing of the REST API in `region`; report what was (or would be) done."""
    settings = settings or ApiSettings()
    apigw = clients("apigateway", region)
    lambda_client = clients("lambda", region)
    account = str(clients("sts", region).get_caller_identity()["Account"])
    try:
        alias = lambda_client.get_alias(FunctionName=spec.name, Name=spec.alias)
    except ClientError as error:
        if is_not_found(error):
            raise DeployError(f"{region}: deploy the function first (bem deploy up)") from error
        raise
    result = ApiResult(region, None, None, None)

    def act(text: str) -> bool:
        result.actions.append(text)
        echo(f"{region}: {'would ' if dry_run else ''}{text}")
        return not dry_run

    api_name = f"{spec.name}-api"
    api_id = next(
        (a["id"] for a in _items(apigw.get_rest_apis(limit=500)) if a["name"] == api_name), None
    )
    if api_id is None:
        if not act(f"create REST API {api_name}"):
            for text in (
                f"create resource /{ROUTE}",
                "add POST and GET (API key required)",
                "allow API Gateway to invoke the alias",
                f"deploy stage {settings.stage}",
                "create usage plan and API key",
            ):
                act(text)
            return result
        api_id = apigw.create_rest_api(
            name=api_name, endpointConfiguration={"types": ["REGIONAL"]}
        )["id"]
    result.api_id = api_id
    resources = _items(apigw.get_resources(restApiId=api_id, limit=500))
    root = next(r["id"] for r in resources if r["path"] == "/")
    resource_id = next((r["id"] for r in resources if r["path"] == f"/{ROUTE}"), None)
    if resource_id is None and act(f"create resource /{ROUTE}"):
        resource_id = apigw.create_resource(restApiId=api_id, parentId=root, pathPart=ROUTE)["id"]
    uri = (
        f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
        f"{alias['AliasArn']}/invocations"
    )
    for method in METHODS:
        if resource_id is not None and _has_method(apigw, api_id, resource_id, method):
            continue
        if act(f"add {method} /{ROUTE} (API key required, proxy to alias {spec.alias})"):
            assert resource_id is not None
            apigw.put_method(
                restApiId=api_id,
                resourceId=resource_id,
                httpMethod=method,
                authorizationType="NONE",
                apiKeyRequired=True,
            )
            apigw.put_integration(
                restApiId=api_id,
                resourceId=resource_id,
                httpMethod=method,
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=uri,
            )
    source_arn = f"arn:aws:execute-api:{region}:{account}:{api_id}/*/*/{ROUTE}"
    if not _has_permission(lambda_client, spec, source_arn) and act(
        "allow API Gateway to invoke the alias"
    ):
        lambda_client.add_permission(
            FunctionName=spec.name,
            Qualifier=spec.alias,
            StatementId=f"apigateway-{api_id}",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=source_arn,
        )
    if act(f"deploy stage {settings.stage}"):
        apigw.create_deployment(restApiId=api_id, stageName=settings.stage)
    result.url = f"https://{api_id}.execute-api.{region}.amazonaws.com/{settings.stage}/{ROUTE}/"
    plan_id = _ensure_usage_plan(apigw, spec, api_id, settings, act)
    result.key_id = _ensure_api_key(apigw, spec, plan_id, act)
    return result


def _items(page: dict[str, Any]) -> list[dict[str, Any]]:
    return list(page.get("items", []))


def _has_method(apigw: Any, api_id: str, resource_id: str, method: str) -> bool:
    try:
        apigw.get_method(restApiId=api_id, resourceId=resource_id, httpMethod=method)
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return True


def _has_permission(lambda_client: Any, spec: FunctionSpec, source_arn: str) -> bool:
    try:
        policy = lambda_client.get_policy(FunctionName=spec.name, Qualifier=spec.alias)["Policy"]
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return source_arn in policy


def _ensure_usage_plan(
    apigw: Any, spec: FunctionSpec, api_id: str, settings: ApiSettings, act: Callable[[str], bool]
) -> str | None:
    name = f"{spec.name}-plan"
    plan = next((p for p in _items(apigw.get_usage_plans(limit=500)) if p["name"] == name), None)
    if plan is None:
        if not act(
            f"create usage plan {name} ({settings.rate_limit}/s, {settings.quota_per_day}/day)"
        ):
            return None
        plan = apigw.create_usage_plan(
            name=name,
            apiStages=[{"apiId": api_id, "stage": settings.stage}],
            throttle={"rateLimit": settings.rate_limit, "burstLimit": settings.burst_limit},
            quota={"limit": settings.quota_per_day, "period": "DAY"},
        )
    return str(plan["id"])


def _ensure_api_key(
    apigw: Any, spec: FunctionSpec, plan_id: str | None, act: Callable[[str], bool]
) -> str | None:
    name = f"{spec.name}-key"
    keys = _items(apigw.get_api_keys(nameQuery=name, limit=500))
    key = next((k for k in keys if k["name"] == name), None)
    if key is None:
        if not act(f"create API key {name}"):
            return None
        key = apigw.create_api_key(name=name, enabled=True)
    if plan_id is None:
        return str(key["id"])
    bound = {k["id"] for k in _items(apigw.get_usage_plan_keys(usagePlanId=plan_id, limit=500))}
    if key["id"] not in bound and act(f"attach API key {name} to the usage plan"):
        try:
            apigw.create_usage_plan_key(usagePlanId=plan_id, keyId=key["id"], keyType="API_KEY")
        except ClientError as error:
            if error_code(error) != "ConflictException":
                raise
    return str(key["id"])
