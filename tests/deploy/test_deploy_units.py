"""Pure parts of the deployment: alias history, rollback choice, waits, retries, options."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from deploy_helpers import write_zip

from bem.deploy.alias import format_history, parse_history, plan_rollback, pushed
from bem.deploy.aws import DeployError, retry_while_role_propagates, wait_function_ready
from bem.deploy.options.cli import parse_environment, resolve_regions
from bem.deploy.plan import configuration_changes, read_artifact
from bem.deploy.spec import FunctionSpec
from budget_matcher.config import ENV_DEPLOY_REGIONS


def test_history_round_trips_through_the_alias_description() -> None:
    description = format_history(["4", "3", "2"])
    assert len(description) < 256
    assert parse_history(description) == ("4", "3", "2")
    assert parse_history("made by SAM") == ()
    assert parse_history("") == ()


def test_history_pushed_keeps_newest_first_without_duplicates() -> None:
    assert pushed(("2", "1"), "3", "4") == ("3", "2", "1")
    assert pushed(("2", "1"), "3", "3") == ("2", "1")  # unchanged version: nothing pushed
    assert pushed(("3", "1"), "2", "3") == ("2", "1")
    assert len(pushed(tuple(str(n) for n in range(40, 0, -1)), "41", "42")) == 20


def test_plan_rollback_prefers_history_then_the_version_below() -> None:
    plan = plan_rollback("r", "5", ("3", "1"), ("1", "2", "3", "4", "5"))
    assert (plan.to_version, plan.history, plan.reason) == ("3", ("1",), "previous live version")
    plan = plan_rollback("r", "5", (), ("1", "2", "4", "5"))
    assert (plan.to_version, plan.reason) == ("4", "highest version below live")
    # a history entry whose version was deleted is skipped
    plan = plan_rollback("r", "5", ("4", "2"), ("1", "2", "5"))
    assert plan.to_version == "2"


def test_plan_rollback_explicit_and_refusals() -> None:
    plan = plan_rollback("r", "5", ("4", "2"), ("1", "2", "4", "5"), to_version="2")
    assert (plan.to_version, plan.history) == ("2", ("4",))
    with pytest.raises(DeployError, match="not published"):
        plan_rollback("r", "5", (), ("5",), to_version="7")
    with pytest.raises(DeployError, match="no alias"):
        plan_rollback("r", None, (), ("1",))
    with pytest.raises(DeployError, match="no version before 1"):
        plan_rollback("r", "1", (), ("1",))


class FakeLambda:
    """get_function_configuration answers from a script of states."""

    def __init__(self, states: list[dict[str, Any]]) -> None:
        self.states = states
        self.calls = 0

    def get_function_configuration(self, **kwargs: Any) -> dict[str, Any]:
        state = self.states[min(self.calls, len(self.states) - 1)]
        self.calls += 1
        return state


def test_wait_function_ready_polls_until_successful() -> None:
    fake = FakeLambda(
        [
            {"State": "Pending"},
            {"State": "Active", "LastUpdateStatus": "InProgress"},
            {"State": "Active", "LastUpdateStatus": "Successful", "Version": "3"},
        ]
    )
    slept: list[float] = []
    config = wait_function_ready(fake, "f", sleep=slept.append, clock=lambda: 0.0)
    assert config["Version"] == "3"
    assert slept == [1.0, 1.0]


def test_wait_function_ready_raises_on_failed_and_on_timeout() -> None:
    failed = FakeLambda(
        [{"State": "Active", "LastUpdateStatus": "Failed", "LastUpdateStatusReason": "bad zip"}]
    )
    with pytest.raises(DeployError, match="bad zip"):
        wait_function_ready(failed, "f", sleep=lambda _s: None)
    times = iter([0.0, 100.0, 400.0])
    stuck = FakeLambda([{"State": "Pending"}])
    with pytest.raises(DeployError, match="State=Pending"):
        wait_function_ready(
            stuck, "f", timeout_s=300, sleep=lambda _s: None, clock=lambda: next(times)
        )


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "CreateFunction")


def test_retry_while_role_propagates_retries_only_the_role_error() -> None:
    attempts: list[int] = []

    def flaky() -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) < 3:
            raise client_error(
                "InvalidParameterValueException",
                "The role defined for the function cannot be assumed by Lambda.",
            )
        return {"ok": True}

    assert retry_while_role_propagates(flaky, sleep=lambda _s: None) == {"ok": True}
    assert len(attempts) == 3

    def broken() -> dict[str, Any]:
        raise client_error(
            "InvalidParameterValueException", "Unzipped size must be smaller than 262144000 bytes"
        )

    with pytest.raises(ClientError):
        retry_while_role_propagates(
            broken, sleep=lambda _s: pytest.fail("retried a non-role error")
        )


def test_resolve_regions_option_then_env_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_DEPLOY_REGIONS, raising=False)
    assert resolve_regions(()) == ["us-west-2"]
    monkeypatch.setenv(ENV_DEPLOY_REGIONS, "eu-west-1, us-east-1")
    assert resolve_regions(()) == ["eu-west-1", "us-east-1"]
    assert resolve_regions(("us-west-2,eu-west-1", "us-west-2")) == ["us-west-2", "eu-west-1"]


def test_parse_environment_requires_key_value() -> None:
    assert parse_environment(("A=1", "B=x=y", "C=")) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(Exception, match="KEY=VALUE"):
        parse_environment(("novalue",))


def test_read_artifact_hashes_and_reads_the_model_card_inside(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "d.zip", "2026.11.24-3", "x")
    artifact = read_artifact(path, commit="c0ffee")
    assert artifact.model_version == "2026.11.24-3"
    with zipfile.ZipFile(path) as archive:
        card = hashlib.sha256(archive.read("model/model.json")).hexdigest()
    assert artifact.model_card_sha256 == card
    assert artifact.description == f"model 2026.11.24-3 card {card[:12]} commit c0ffee"
    assert len(artifact.sha256_hex) == 64 and artifact.code_sha256.endswith("=")
    other = read_artifact(write_zip(tmp_path / "e.zip", "2026.11.24-3", "y"), commit="c0ffee")
    assert other.code_sha256 != artifact.code_sha256


def test_configuration_changes_compares_environment_as_a_mapping() -> None:
    spec = FunctionSpec(memory_mb=1769, environment={"A": "1"})
    current = {
        "Runtime": "python3.12",
        "Handler": "lambda_handler.handler",
        "MemorySize": 1769,
        "Timeout": spec.timeout_s,
        "Environment": {"Variables": {"A": "1"}},
    }
    assert configuration_changes(spec, current) == {}
    assert configuration_changes(spec, {**current, "Environment": None}) == {
        "Environment": {"Variables": {"A": "1"}}
    }
    assert configuration_changes(spec, {**current, "Runtime": "python3.11"}) == {
        "Runtime": "python3.12"
    }


def test_deploy_refuses_one_bucket_for_several_regions(tmp_path: Path) -> None:
    from bem.deploy.ops import deploy

    artifact = read_artifact(write_zip(tmp_path / "d.zip", "v", "x"), commit="c")
    spec = FunctionSpec(bucket="my-artifacts")

    def no_clients(service: str, region: str) -> Any:
        raise AssertionError("no AWS call expected")

    with pytest.raises(DeployError, match="must contain"):
        deploy(spec, artifact, ["us-west-2", "eu-west-1"], no_clients)
    with pytest.raises(DeployError, match="canary weight"):
        deploy(FunctionSpec(), artifact, ["us-west-2"], no_clients, canary_weight=1.5)
