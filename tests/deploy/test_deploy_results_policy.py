"""`bem deploy up` and the S3 results sink's permission, against a real moto server: with
BEM_RESULTS_S3_URI the role it creates gets `s3:PutObject` on exactly that prefix, a redeploy
without the variable takes it away, a malformed URI is refused before anything changes."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from deploy_helpers import RecordingClients, snapshot

from bem.deploy.apply import LAMBDA_TRUST_POLICY
from bem.deploy.aws import ClientFactory, DeployError
from bem.deploy.cli import deploy_command
from bem.deploy.ops import DeployOutcome, deploy
from bem.deploy.plan import read_artifact
from bem.deploy.results_policy import results_resource
from bem.deploy.spec import DEFAULT_ENVIRONMENT, FunctionSpec
from budget_matcher.config import ENV_RESULTS_S3_URI
from budget_matcher.results_s3 import object_key, parse_s3_uri

REGION = "us-west-2"
ROLE = "matcher-lambda-role"
URI = "s3://bem-results/monitor/results/"
RESOURCE = "arn:aws:s3:::bem-results/monitor/results/*"


def no_sleep(_seconds: float) -> None:
    """Waits are not needed against moto: everything is Active at once."""


def up(
    clients: ClientFactory,
    zip_path: Path,
    uri: str | None = None,
    regions: list[str] | None = None,
    **spec_kw: Any,
) -> DeployOutcome:
    environment = {**DEFAULT_ENVIRONMENT, **({ENV_RESULTS_S3_URI: uri} if uri else {})}
    spec = FunctionSpec(name="matcher", environment=environment, **spec_kw)
    artifact = read_artifact(zip_path, commit="abc123")
    return deploy(spec, artifact, regions or [REGION], clients, sleep=no_sleep)


def actions(outcome: DeployOutcome, region: int = 0) -> list[str]:
    return [s.action for s in outcome.plans[region].steps]


def inline_policies(clients: ClientFactory, role: str = ROLE) -> dict[str, Any]:
    """Every inline policy of the role, read back through IAM: name -> document."""
    iam = clients("iam", REGION)
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return {
        name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in names
    }


def test_resource_covers_exactly_the_keys_the_sink_writes() -> None:
    moment = datetime(2026, 11, 24, 13, tzinfo=UTC)
    for uri, resource in [
        (URI, RESOURCE),
        ("s3://bem-results", "arn:aws:s3:::bem-results/*"),
        ("s3://bem-results/", "arn:aws:s3:::bem-results/*"),
        ("s3://bem.results-1/a", "arn:aws:s3:::bem.results-1/a/*"),
    ]:
        assert results_resource(uri) == resource
        bucket, prefix = parse_s3_uri(uri)
        key = object_key(prefix, "req-1", moment)
        assert fnmatch.fnmatchcase(f"arn:aws:s3:::{bucket}/{key}", resource)
    # a sibling prefix that merely starts the same is not covered
    assert not fnmatch.fnmatchcase("arn:aws:s3:::bem-results/monitor/results-old/x", RESOURCE)


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("bem-results/monitor", "not an s3:// URI with a bucket"),
        ("https://bem-results.s3.amazonaws.com/x", "not an s3:// URI with a bucket"),
        ("s3:///monitor", "not an s3:// URI with a bucket"),
        ("s3://Bem_Results/monitor", "'Bem_Results' is not a valid S3 bucket name"),
        ("s3://bem-results/monitor/*", "contains *, ? or $"),
    ],
)
def test_malformed_uri_message_says_what_is_wrong_and_what_is_valid(uri: str, why: str) -> None:
    with pytest.raises(DeployError) as caught:
        results_resource(uri)
    message = str(caught.value)
    assert message.startswith(f"{ENV_RESULTS_S3_URI}={uri!r}: ")
    assert why in message
    assert "expected s3://BUCKET or s3://BUCKET/PREFIX" in message


def test_deploy_with_results_uri_grants_put_object_on_the_prefix_then_takes_it_away(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    first = up(clients, make_zip("m1"), uri=URI)
    assert actions(first)[:3] == ["create_role", "put_results_policy", "create_function"]
    policies = inline_policies(clients)
    assert set(policies) == {"write-own-logs", "write-results-s3"}
    assert policies["write-results-s3"] == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": RESOURCE}],
    }
    config = clients("lambda", REGION).get_function_configuration(FunctionName="matcher")
    assert config["Environment"]["Variables"][ENV_RESULTS_S3_URI] == URI

    # the same URI again: the policy is already right, no IAM step
    same = up(clients, make_zip("m2"), uri=URI)
    assert actions(same) == ["update_code", "publish_version", "move_alias"]

    # another prefix: the policy follows it, before the configuration changes
    moved = up(clients, make_zip("m3"), uri="s3://bem-results/other")
    assert actions(moved)[:3] == ["put_results_policy", "update_code", "update_configuration"]
    assert inline_policies(clients)["write-results-s3"]["Statement"][0]["Resource"] == (
        "arn:aws:s3:::bem-results/other/*"
    )

    # no URI: removed once the alias has left the version that wrote
    removed = up(clients, make_zip("m4"))
    assert actions(removed)[-2:] == ["move_alias", "delete_results_policy"]
    assert set(inline_policies(clients)) == {"write-own-logs"}
    config = clients("lambda", REGION).get_function_configuration(FunctionName="matcher")
    assert ENV_RESULTS_S3_URI not in config["Environment"]["Variables"]
    again = up(clients, make_zip("m5"))
    assert "delete_results_policy" not in actions(again)


def test_mirrors_share_the_role_grant_and_removal_run_in_every_region(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    regions = [REGION, "eu-west-1"]
    granted = up(clients, make_zip("m1"), uri=URI, regions=regions)
    assert [actions(granted, n).count("put_results_policy") for n in range(2)] == [1, 1]
    assert inline_policies(clients)["write-results-s3"]["Statement"][0]["Resource"] == RESOURCE
    # both regions observed the policy; the second finds it already deleted by the first
    removed = up(clients, make_zip("m2"), regions=regions)
    assert [actions(removed, n)[-1] for n in range(2)] == ["delete_results_policy"] * 2
    assert set(inline_policies(clients)) == {"write-own-logs"}


def test_malformed_uri_is_refused_and_changes_nothing(
    clients: ClientFactory, recording: RecordingClients, make_zip: Callable[..., Path]
) -> None:
    up(clients, make_zip("m1"), uri=URI)
    before = snapshot(clients, [REGION])
    policies = inline_policies(clients)
    for bad in ("s3:/bem-results/x", "s3://BEM/x", "s3://bem-results/x?"):
        with pytest.raises(DeployError, match=f"{ENV_RESULTS_S3_URI}=.*expected s3://BUCKET"):
            up(recording, make_zip("m2"), uri=bad)
    assert snapshot(clients, [REGION]) == before
    assert inline_policies(clients) == policies
    operations = {call.split(".", 1)[1] for call in recording.calls}
    assert all(op.startswith(("get_", "list_", "head_")) for op in operations), operations


def test_a_role_given_with_role_arn_is_not_changed(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    iam = clients("iam", REGION)
    arn = iam.create_role(
        RoleName="theirs", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY)
    )["Role"]["Arn"]
    outcome = up(clients, make_zip("m1"), uri=URI, role_arn=arn)
    step = outcome.plans[0].steps[0]
    assert (step.action, step.detail) == (
        "results_policy_not_managed",
        {"role": arn, "grant": RESOURCE},
    )
    assert inline_policies(clients, "theirs") == {}
    assert ROLE not in {r["RoleName"] for r in iam.list_roles()["Roles"]}


def test_cli_dry_run_shows_the_grant_and_refuses_a_bad_uri(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    zip_path = str(make_zip("m1"))
    base = ["up", "--zip", zip_path, "--region", REGION, "--function-name", "matcher", "--dry-run"]
    run = CliRunner().invoke(
        deploy_command, [*base, "--env", f"{ENV_RESULTS_S3_URI}={URI}"], obj=clients
    )
    assert run.exit_code == 0, run.output
    assert (
        f"2. put_results_policy (role={ROLE}, policy=write-results-s3, resource={RESOURCE})"
        in run.output
    )
    bad = CliRunner().invoke(
        deploy_command, [*base, "--env", f"{ENV_RESULTS_S3_URI}=bem-results/x"], obj=clients
    )
    assert bad.exit_code == 1
    assert f"Error: {ENV_RESULTS_S3_URI}='bem-results/x': not an s3:// URI" in bad.output
    assert clients("iam", REGION).list_roles()["Roles"] == []
