"""`bem deploy` against a real moto server process: create, update, publish, alias moves,
rollback, canary, mirrors, dry run and the S3 path for zips over 50 MB."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from deploy_helpers import REPO_ROOT, RecordingClients, snapshot

from bem.deploy.aws import ClientFactory, DeployError
from bem.deploy.ops import deploy, promote, rollback
from bem.deploy.plan import read_artifact
from bem.deploy.spec import DEFAULT_ENVIRONMENT, DEFAULT_MEMORY_MB, FunctionSpec

REGION = "us-west-2"
MIRRORS = ["us-west-2", "eu-west-1", "ap-southeast-2"]


def no_sleep(_seconds: float) -> None:
    """Waits are not needed against moto: everything is Active at once."""


def up(clients: ClientFactory, zip_path: Path, regions: list[str] | None = None, **spec_kw: object):
    spec = FunctionSpec(name="matcher", **spec_kw)  # type: ignore[arg-type]
    artifact = read_artifact(zip_path, commit="abc123")
    return deploy(spec, artifact, regions or [REGION], clients, sleep=no_sleep)


def alias_of(clients: ClientFactory, region: str = REGION) -> dict:
    return clients("lambda", region).get_alias(FunctionName="matcher", Name="live")


def _card_hash(zip_path: Path) -> str:
    """The first 12 hex digits of the sha256 of the model card inside the zip."""
    with zipfile.ZipFile(zip_path) as archive:
        return hashlib.sha256(archive.read("model/model.json")).hexdigest()[:12]


def test_deploy_up_creates_function_version_and_alias(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    zip_path = make_zip("2026.11.24-1")
    outcome = up(clients, zip_path)
    lam = clients("lambda", REGION)
    config = lam.get_function_configuration(FunctionName="matcher")
    assert config["Runtime"] == "python3.12"
    assert config["Handler"] == "lambda_handler.handler"
    assert config["MemorySize"] == DEFAULT_MEMORY_MB
    assert config["Environment"]["Variables"] == DEFAULT_ENVIRONMENT
    assert config["CodeSha256"] == read_artifact(zip_path).code_sha256
    version = lam.get_function_configuration(FunctionName="matcher", Qualifier="1")
    assert version["Description"] == f"model 2026.11.24-1 card {_card_hash(zip_path)} commit abc123"
    assert alias_of(clients)["FunctionVersion"] == "1"
    assert outcome.results[0].version == "1"
    assert outcome.results[0].previous_version is None
    role = clients("iam", REGION).get_role(RoleName="matcher-lambda-role")["Role"]
    assert config["Role"] == role["Arn"]
    retention = clients("logs", REGION).describe_log_groups(
        logGroupNamePrefix="/aws/lambda/matcher"
    )
    assert retention["logGroups"][0]["retentionInDays"] == 30


def test_deploy_up_updates_code_publishes_and_moves_alias(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    up(clients, make_zip("m1"))
    second = make_zip("m2")
    outcome = up(clients, second)
    actions = [s.action for s in outcome.plans[0].steps]
    assert actions == ["update_code", "publish_version", "move_alias"]
    lam = clients("lambda", REGION)
    assert (
        lam.get_function_configuration(FunctionName="matcher")["CodeSha256"]
        == read_artifact(second).code_sha256
    )
    live = alias_of(clients)
    assert live["FunctionVersion"] == "2"
    assert "previous: 1" in live["Description"]
    assert outcome.results[0].previous_version == "1"


def test_deploy_up_updates_configuration_only_when_changed(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    zip_path = make_zip()
    up(clients, zip_path)
    same = up(clients, zip_path)
    assert [s.action for s in same.plans[0].steps] == ["publish_version", "move_alias"]
    changed = up(clients, zip_path, memory_mb=1024, environment={"BEM_RESPONSE_FORMAT": "envelope"})
    steps = {s.action: s.detail for s in changed.plans[0].steps}
    assert steps["update_configuration"]["MemorySize"] == 1024
    assert steps["update_configuration"]["Environment"] == ["BEM_RESPONSE_FORMAT"]
    config = clients("lambda", REGION).get_function_configuration(FunctionName="matcher")
    assert config["MemorySize"] == 1024
    assert config["Environment"]["Variables"] == {"BEM_RESPONSE_FORMAT": "envelope"}


def test_deploy_rollback_goes_to_previous_then_further_back(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    for n in range(3):
        up(clients, make_zip(f"m{n}"))
    assert alias_of(clients)["FunctionVersion"] == "3"
    spec = FunctionSpec(name="matcher")
    first = rollback(spec, [REGION], clients)
    assert (first[0].from_version, first[0].to_version) == ("3", "2")
    assert alias_of(clients)["FunctionVersion"] == "2"
    second = rollback(spec, [REGION], clients)
    assert (second[0].from_version, second[0].to_version) == ("2", "1")
    assert alias_of(clients)["FunctionVersion"] == "1"
    with pytest.raises(DeployError, match="no version before 1"):
        rollback(spec, [REGION], clients)


def test_deploy_rollback_to_explicit_version_and_refuses_unknown(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    for n in range(3):
        up(clients, make_zip(f"m{n}"))
    spec = FunctionSpec(name="matcher")
    rollback(spec, [REGION], clients, to_version="1")
    assert alias_of(clients)["FunctionVersion"] == "1"
    with pytest.raises(DeployError, match="not published"):
        rollback(spec, [REGION], clients, to_version="9")
    assert alias_of(clients)["FunctionVersion"] == "1"


def test_deploy_up_after_rollback_keeps_history_usable(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    up(clients, make_zip("good"))
    up(clients, make_zip("bad"))
    rollback(FunctionSpec(name="matcher"), [REGION], clients)
    up(clients, make_zip("fixed"))
    assert alias_of(clients)["FunctionVersion"] == "3"
    plans = rollback(FunctionSpec(name="matcher"), [REGION], clients)
    # back to the good one (1), never to the abandoned bad version 2
    assert plans[0].to_version == "1"


def test_deploy_canary_weight_then_promote_or_abort(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    spec = FunctionSpec(name="matcher")
    up(clients, make_zip("stable"))
    outcome = deploy(
        spec,
        read_artifact(make_zip("new"), commit="c"),
        [REGION],
        clients,
        canary_weight=0.1,
        sleep=no_sleep,
    )
    assert outcome.results[0].canary_weight == 0.1
    live = alias_of(clients)
    assert live["FunctionVersion"] == "1"
    assert live["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.1}
    aborted = rollback(spec, [REGION], clients)
    assert aborted[0].reason == "abort canary"
    live = alias_of(clients)
    assert live["FunctionVersion"] == "1"
    assert not live.get("RoutingConfig", {}).get("AdditionalVersionWeights")

    deploy(
        spec,
        read_artifact(make_zip("newer"), commit="c"),
        [REGION],
        clients,
        canary_weight=0.25,
        sleep=no_sleep,
    )
    assert promote(spec, [REGION], clients) == [(REGION, "1", "3")]
    live = alias_of(clients)
    assert live["FunctionVersion"] == "3"
    assert not live.get("RoutingConfig", {}).get("AdditionalVersionWeights")
    assert "previous: 1" in live["Description"]


def test_deploy_up_mirrors_same_code_to_each_region(
    clients: ClientFactory, make_zip: Callable[..., Path]
) -> None:
    zip_path = make_zip("mirror-1")
    outcome = up(clients, zip_path, regions=MIRRORS)
    sha = read_artifact(zip_path).code_sha256
    assert [r.region for r in outcome.results] == MIRRORS
    for region in MIRRORS:
        live = alias_of(clients, region)
        version = clients("lambda", region).get_function_configuration(
            FunctionName="matcher", Qualifier=live["FunctionVersion"]
        )
        assert version["CodeSha256"] == sha
        assert version["Description"] == f"model mirror-1 card {_card_hash(zip_path)} commit abc123"
    # one role for all mirrors (IAM is global)
    roles = [r["RoleName"] for r in clients("iam", REGION).list_roles()["Roles"]]
    assert roles.count("matcher-lambda-role") == 1
    up(clients, make_zip("mirror-2"), regions=MIRRORS)
    plans = rollback(FunctionSpec(name="matcher"), MIRRORS, clients)
    assert [(p.region, p.from_version, p.to_version) for p in plans] == [
        (region, "2", "1") for region in MIRRORS
    ]
    assert {alias_of(clients, region)["FunctionVersion"] for region in MIRRORS} == {"1"}


def test_deploy_dry_run_changes_nothing(
    clients: ClientFactory,
    recording: RecordingClients,
    make_zip: Callable[..., Path],
    big_zip: Path,
) -> None:
    up(clients, make_zip("m0"), regions=MIRRORS[:2])
    up(clients, make_zip("m1"), regions=MIRRORS[:2])
    before = snapshot(clients, MIRRORS[:2])
    spec = FunctionSpec(name="matcher", memory_mb=2048)
    for zip_path in (make_zip("m2"), big_zip):
        outcome = deploy(
            spec, read_artifact(zip_path, commit="x"), MIRRORS[:2], recording, dry_run=True
        )
        assert outcome.dry_run and not outcome.results
        assert "update_code" in [s.action for s in outcome.plans[0].steps]
    plans = rollback(spec, MIRRORS[:2], recording, dry_run=True)
    assert [p.to_version for p in plans] == ["1", "1"]
    promote(spec, MIRRORS[:2], recording, dry_run=True)
    new = FunctionSpec(name="brand-new")
    plan = deploy(new, read_artifact(make_zip("m3"), commit="x"), [REGION], recording, dry_run=True)
    assert [s.action for s in plan.plans[0].steps][:2] == ["create_role", "create_function"]
    assert snapshot(clients, MIRRORS[:2]) == before
    operations = {call.split(".", 1)[1] for call in recording.calls}
    assert operations, "the dry run observed nothing"
    assert all(op.startswith(("get_", "list_", "head_")) for op in operations), operations


def test_deploy_big_zip_goes_through_s3(clients: ClientFactory, big_zip: Path) -> None:
    artifact = read_artifact(big_zip, commit="big")
    assert artifact.size_bytes > 50_000_000
    spec = FunctionSpec(name="matcher")
    outcome = deploy(spec, artifact, [REGION], clients, sleep=no_sleep)
    actions = [s.action for s in outcome.plans[0].steps]
    assert actions[:2] == ["create_bucket", "upload_s3"]
    bucket = outcome.plans[0].state.bucket
    assert bucket == "matcher-deploy-123456789012-us-west-2"
    key = f"matcher/{artifact.sha256_hex}.zip"
    head = clients("s3", REGION).head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == artifact.size_bytes
    config = clients("lambda", REGION).get_function_configuration(FunctionName="matcher")
    assert config["CodeSha256"] == artifact.code_sha256
    again = deploy(spec, artifact, [REGION], clients, dry_run=True)
    assert again.plans[0].steps[0].action == "reuse_s3_object"


@pytest.mark.slow
def test_deploy_cli_up_status_rollback_in_a_subprocess(
    moto: str, make_zip: Callable[..., Path]
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "AWS_ENDPOINT_URL": moto,
        "BEM_FUNCTION_NAME": "cli-matcher",
    }

    def bem(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bem", "deploy", *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    zips = [make_zip(f"cli-{n}") for n in range(2)]
    for n in range(2):
        run = bem(
            "up",
            "--zip",
            str(zips[n]),
            "--region",
            "us-west-2,eu-west-1",
            "--commit",
            "c1",
        )
        assert run.returncode == 0, run.stderr
    assert "us-west-2: live -> version 2 (was 1)" in run.stdout
    report = json.loads(bem("status", "--region", "us-west-2", "--json").stdout)
    assert report[0]["live_version"] == "2"
    assert [v["description"] for v in report[0]["versions"]] == [
        f"model cli-{n} card {_card_hash(zips[n])} commit c1" for n in range(2)
    ]
    run = bem("rollback", "--region", "us-west-2,eu-west-1")
    assert run.returncode == 0, run.stderr
    assert "eu-west-1: move alias 2 -> 1" in run.stdout
    dry = bem("up", "--zip", str(make_zip("cli-2")), "--region", "us-west-2", "--dry-run")
    assert "dry run: nothing changed" in dry.stdout
    assert json.loads(bem("status", "--json").stdout)[0]["live_version"] == "1"
