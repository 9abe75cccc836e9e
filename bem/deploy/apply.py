"""Carry out a `RegionPlan`: upload, create/update, wait, publish, move the alias."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bem.deploy.alias import move_alias, pushed
from bem.deploy.aws import (
    ClientFactory,
    DeployError,
    Sleep,
    error_code,
    retry_while_role_propagates,
    wait_function_ready,
)
from bem.deploy.plan import Artifact, RegionPlan, Step, s3_key
from bem.deploy.results_policy import results_policy
from bem.deploy.spec import FunctionSpec

LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def logging_policy(function_name: str) -> dict[str, Any]:
    """Create and write the function's log group in any region (the mirrors share the role)."""
    group = f"arn:aws:logs:*:*:log-group:/aws/lambda/{function_name}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup"],
                "Resource": group,
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{group}:*",
            },
        ],
    }


@dataclass(frozen=True)
class RegionResult:
    """What one region runs after the deployment."""

    region: str
    version: str
    code_sha256: str
    previous_version: str | None
    alias: str
    canary_weight: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "version": self.version,
            "code_sha256": self.code_sha256,
            "previous_version": self.previous_version,
            "alias": self.alias,
            "canary_weight": self.canary_weight,
        }


class RegionDeployment:
    """Runs the steps of one region's plan in order, keeping what later steps need."""

    def __init__(
        self,
        plan: RegionPlan,
        spec: FunctionSpec,
        artifact: Artifact,
        clients: ClientFactory,
        sleep: Sleep = time.sleep,
        echo: Callable[[str], None] = lambda _line: None,
        wait_timeout_s: float = 300.0,
    ) -> None:
        self.plan, self.spec, self.artifact = plan, spec, artifact
        self.region = plan.region
        self.lambda_client = clients("lambda", self.region)
        self.clients, self.sleep, self.echo = clients, sleep, echo
        self.wait_timeout_s = wait_timeout_s
        self.role_arn = spec.role_arn or f"arn:aws:iam::{plan.state.account}:role/{spec.role_name}"
        self.version: str | None = None
        self.published_sha: str | None = None
        self.canary_weight: float | None = None

    def run(self) -> RegionResult:
        """Every step, then the result; a failing step raises DeployError naming it."""
        for number, step in enumerate(self.plan.steps, start=1):
            self.echo(f"{self.region} [{number}/{len(self.plan.steps)}] {step.describe()}")
            handler = getattr(self, f"_do_{step.action}")
            try:
                handler(step)
            except ClientError as error:
                raise DeployError(f"{self.region}: {step.action} failed: {error}") from error
        assert self.version is not None and self.published_sha is not None
        return RegionResult(
            region=self.region,
            version=self.version,
            code_sha256=self.published_sha,
            previous_version=self.plan.state.live_version,
            alias=self.spec.alias,
            canary_weight=self.canary_weight,
        )

    def _code(self) -> dict[str, Any]:
        if self.artifact.size_bytes > self.spec.direct_upload_limit:
            return {"S3Bucket": self.plan.state.bucket, "S3Key": s3_key(self.spec, self.artifact)}
        return {"ZipFile": self.artifact.path.read_bytes()}

    def _wait(self, qualifier: str | None = None) -> dict[str, Any]:
        return wait_function_ready(
            self.lambda_client,
            self.spec.name,
            qualifier=qualifier,
            timeout_s=self.wait_timeout_s,
            sleep=self.sleep,
        )

    def _do_create_bucket(self, step: Step) -> None:
        s3 = self.clients("s3", self.region)
        kwargs: dict[str, Any] = {"Bucket": step.detail["bucket"]}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        s3.create_bucket(**kwargs)
        s3.put_public_access_block(
            Bucket=step.detail["bucket"],
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )

    def _do_upload_s3(self, step: Step) -> None:
        self.clients("s3", self.region).upload_file(
            str(self.artifact.path), step.detail["bucket"], step.detail["key"]
        )

    def _do_reuse_s3_object(self, step: Step) -> None:
        """The same zip (same SHA-256 key) is already in the bucket."""

    def _do_create_role(self, step: Step) -> None:
        """The execution role, allowed to write the function's own log group (and, with
        BEM_RESULTS_S3_URI, its results prefix: `put_results_policy`) and nothing else.

        IAM is global: with mirrors, the first region creates it and the others reuse it.
        """
        iam = self.clients("iam", self.region)
        try:
            role = iam.create_role(
                RoleName=step.detail["role"],
                AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY),
                Description=f"Execution role of the {self.spec.name} Lambda function",
            )
        except ClientError as error:
            if error_code(error) != "EntityAlreadyExists":
                raise
            role = iam.get_role(RoleName=step.detail["role"])
        iam.put_role_policy(
            RoleName=step.detail["role"],
            PolicyName="write-own-logs",
            PolicyDocument=json.dumps(logging_policy(self.spec.name)),
        )
        self.role_arn = role["Role"]["Arn"]

    def _do_put_results_policy(self, step: Step) -> None:
        """Let the role put the S3 results sink's objects (idempotent: mirrors share the role)."""
        self.clients("iam", self.region).put_role_policy(
            RoleName=step.detail["role"],
            PolicyName=step.detail["policy"],
            PolicyDocument=json.dumps(results_policy(step.detail["resource"])),
        )

    def _do_delete_results_policy(self, step: Step) -> None:
        """BEM_RESULTS_S3_URI is gone: so is the permission (a mirror may have removed it)."""
        try:
            self.clients("iam", self.region).delete_role_policy(
                RoleName=step.detail["role"], PolicyName=step.detail["policy"]
            )
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise

    def _do_results_policy_not_managed(self, step: Step) -> None:
        """The role is not one `bem deploy` created: granting s3:PutObject is the owner's job."""

    def _do_create_function(self, step: Step) -> None:
        wanted = self.spec.wanted_configuration()
        retry_while_role_propagates(
            lambda: self.lambda_client.create_function(
                FunctionName=self.spec.name,
                Role=self.role_arn,
                Code=self._code(),
                Architectures=[self.spec.architecture],
                Description="Scores how likely an expense line item belongs to a travel budget",
                Publish=False,
                **wanted,
            ),
            sleep=self.sleep,
        )
        self._wait()

    def _do_set_log_retention(self, step: Step) -> None:
        logs = self.clients("logs", self.region)
        group = f"/aws/lambda/{self.spec.name}"
        try:
            logs.create_log_group(logGroupName=group)
        except ClientError as error:
            if error_code(error) != "ResourceAlreadyExistsException":
                raise
        logs.put_retention_policy(logGroupName=group, retentionInDays=step.detail["days"])

    def _do_update_code(self, step: Step) -> None:
        self.lambda_client.update_function_code(
            FunctionName=self.spec.name,
            Architectures=[self.spec.architecture],
            Publish=False,
            **self._code(),
        )
        self._wait()

    def _do_update_configuration(self, step: Step) -> None:
        self.lambda_client.update_function_configuration(
            FunctionName=self.spec.name, **self.spec.wanted_configuration()
        )
        self._wait()

    def _do_publish_version(self, step: Step) -> None:
        published = self.lambda_client.publish_version(
            FunctionName=self.spec.name,
            CodeSha256=self.artifact.code_sha256,
            Description=self.artifact.description,
        )
        self.version = str(published["Version"])
        self.published_sha = str(published["CodeSha256"])
        if self.published_sha != self.artifact.code_sha256:
            raise DeployError(
                f"{self.region}: version {self.version} has code {self.published_sha}, "
                f"expected {self.artifact.code_sha256}"
            )
        self._wait(qualifier=self.version)

    def _do_create_alias(self, step: Step) -> None:
        self._do_move_alias(step)

    def _do_move_alias(self, step: Step) -> None:
        assert self.version is not None
        state = self.plan.state
        history = pushed(state.history, state.live_version, self.version)
        move_alias(self.lambda_client, self.spec.name, self.spec.alias, self.version, history)

    def _do_route_canary(self, step: Step) -> None:
        """Keep the alias on the stable version and send `weight` of calls to the new one."""
        assert self.version is not None
        state = self.plan.state
        stable = state.live_version
        if stable is None or stable == self.version:
            self._do_move_alias(step)
            return
        self.canary_weight = float(step.detail["weight"])
        move_alias(
            self.lambda_client,
            self.spec.name,
            self.spec.alias,
            stable,
            state.history,
            routing={self.version: self.canary_weight},
        )
