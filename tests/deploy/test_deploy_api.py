"""`bem deploy api` against moto: the REST API with POST/GET, API key, usage plan, stage."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from deploy_helpers import RecordingClients

from bem.deploy.aws import ClientFactory, DeployError
from bem.deploy.ops import deploy
from bem.deploy.plan import read_artifact
from bem.deploy.rest_api import ROUTE, ensure_rest_api
from bem.deploy.spec import FunctionSpec

REGION = "us-west-2"
SPEC = FunctionSpec(name="matcher")


def deployed(clients: ClientFactory, make_zip: Callable[..., Path]) -> None:
    deploy(SPEC, read_artifact(make_zip(), commit="c"), [REGION], clients, sleep=lambda _s: None)


def test_api_requires_the_function_first(clients: ClientFactory) -> None:
    with pytest.raises(DeployError, match="bem deploy up"):
        ensure_rest_api(SPEC, REGION, clients)


def test_api_creates_routes_key_and_usage_plan(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    deployed(clients, make_zip)
    result = ensure_rest_api(SPEC, REGION, clients)
    apigw = clients("apigateway", REGION)
    assert result.url == f"https://{result.api_id}.execute-api.{REGION}.amazonaws.com/test/{ROUTE}/"
    resource = next(
        r for r in apigw.get_resources(restApiId=result.api_id)["items"] if r["path"] == f"/{ROUTE}"
    )
    for method in ("POST", "GET"):
        described = apigw.get_method(
            restApiId=result.api_id, resourceId=resource["id"], httpMethod=method
        )
        assert described["apiKeyRequired"] is True
        integration = described["methodIntegration"]
        assert integration["type"] == "AWS_PROXY"
        assert integration["uri"].endswith(":function:matcher:live/invocations")
    plans = apigw.get_usage_plans()["items"]
    assert [(p["name"], p["apiStages"][0]["stage"], p["quota"]["period"]) for p in plans] == [
        ("matcher-plan", "test", "DAY")
    ]
    keys = apigw.get_usage_plan_keys(usagePlanId=plans[0]["id"])["items"]
    assert [k["id"] for k in keys] == [result.key_id]
    assert [s["stageName"] for s in apigw.get_stages(restApiId=result.api_id)["item"]] == ["test"]
    policy = json.loads(
        clients("lambda", REGION).get_policy(FunctionName="matcher", Qualifier="live")["Policy"]
    )
    assert policy["Statement"][0]["Principal"]["Service"] == "apigateway.amazonaws.com"


def test_api_second_run_creates_nothing_new(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    deployed(clients, make_zip)
    first = ensure_rest_api(SPEC, REGION, clients)
    second = ensure_rest_api(SPEC, REGION, clients)
    assert (second.api_id, second.key_id) == (first.api_id, first.key_id)
    assert second.actions == ["deploy stage test"]
    apigw = clients("apigateway", REGION)
    assert len(apigw.get_rest_apis()["items"]) == 1
    assert len(apigw.get_api_keys()["items"]) == 1


def test_api_dry_run_only_reads(
    clients: ClientFactory, recording: RecordingClients, make_zip: Callable[..., Path]
) -> None:
    deployed(clients, make_zip)
    result = ensure_rest_api(SPEC, REGION, recording, dry_run=True)
    assert result.actions[0] == "create REST API matcher-api"
    assert clients("apigateway", REGION).get_rest_apis()["items"] == []
    operations = {call.split(".", 1)[1] for call in recording.calls}
    assert all(op.startswith(("get_", "list_", "head_")) for op in operations), operations
