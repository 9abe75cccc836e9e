"""What `bem deploy up` will do in one region: observe (read-only calls), then plan steps.

The plan is plain data (a list of `Step`), printed by `--dry-run` and carried out by
`bem.deploy.apply`. Observing makes only Get/List/Head calls, so a dry run changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from bem.deploy.alias import parse_history
from bem.deploy.aws import ClientFactory, is_not_found
from bem.deploy.results_policy import (
    RESULTS_POLICY_NAME,
    results_policy,
    results_resource,
    results_uri,
)
from bem.deploy.spec import FunctionSpec
from bem.model.identity import reading_of

MODEL_CARD_IN_ZIP = "model/model.json"


@dataclass(frozen=True)
class Artifact:
    """The zip to deploy and what it says about itself."""

    path: Path
    size_bytes: int
    code_sha256: str  # base64 of the SHA-256, as Lambda reports CodeSha256
    sha256_hex: str
    model_version: str
    git_commit: str
    model_sha256: str = ""  # the pickle's sha256 from the card: the model's identity
    model_card_sha256: str = ""  # sha256 of the model card in the zip
    reading: str = ""  # how the function reads numeric dates and amounts (the card's reading)

    @property
    def description(self) -> str:
        """The published version's description (Lambda allows 256 characters)."""
        sha = f" sha256 {self.model_sha256[:12]}" if self.model_sha256 else ""
        card = f" card {self.model_card_sha256[:12]}" if self.model_card_sha256 else ""
        return f"model {self.model_version}{sha}{card} commit {self.git_commit}"[:256]


def git_commit(cwd: Path | None = None) -> str:
    """The short commit of HEAD (with -dirty when the tree has changes), or "unknown"."""
    try:
        run = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return run.stdout.strip() or "unknown"


def read_artifact(
    zip_path: Path, commit: str | None = None, model_card: Path | None = None
) -> Artifact:
    """Hash the zip and read the model version from the model card inside it.

    The card shipped in the zip wins (it is what will run); `model_card` is the fallback.
    """
    data = zip_path.read_bytes()
    digest = hashlib.sha256(data)
    version, card_text, pickle_sha, reading = "unknown", b"", "", ""
    with zipfile.ZipFile(zip_path) as archive:
        if MODEL_CARD_IN_ZIP in archive.namelist():
            card_text = archive.read(MODEL_CARD_IN_ZIP)
    if not card_text and model_card is not None and model_card.is_file():
        card_text = model_card.read_bytes()
    if card_text:
        card = json.loads(card_text)
        version = str(card.get("version", version))
        pickle_sha = str(
            ((card.get("artifacts") or {}).get("model.joblib") or {}).get("sha256", "")
        )
        reading = reading_of({"reading": card.get("reading")})
    return Artifact(
        path=zip_path,
        size_bytes=len(data),
        code_sha256=base64.b64encode(digest.digest()).decode(),
        sha256_hex=digest.hexdigest(),
        model_version=version,
        git_commit=commit if commit is not None else git_commit(),
        model_sha256=pickle_sha,
        model_card_sha256=hashlib.sha256(card_text).hexdigest() if card_text else "",
        reading=reading,
    )


@dataclass(frozen=True)
class RegionState:
    """What exists in one region before the deployment (read-only observation)."""

    region: str
    account: str
    configuration: dict[str, Any] | None  # $LATEST, None when the function does not exist
    versions: tuple[str, ...] = ()  # published version numbers, ascending
    live_version: str | None = None
    live_routing: Mapping[str, float] = field(default_factory=dict)
    history: tuple[str, ...] = ()  # earlier live versions, newest first
    role_exists: bool = False
    bucket: str | None = None
    bucket_exists: bool = False
    object_exists: bool = False
    unobserved: str | None = None  # why the region could not be read (offline dry run)
    # the results-sink policy on the role bem deploy manages (None: absent or not managed)
    results_policy: Mapping[str, Any] | None = None

    @property
    def function_exists(self) -> bool:
        return self.configuration is not None


@dataclass(frozen=True)
class Step:
    """One state-changing call (or group of calls) of the deployment."""

    action: str
    detail: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One human-readable line."""
        text = ", ".join(f"{key}={value}" for key, value in self.detail.items())
        return f"{self.action}" + (f" ({text})" if text else "")


@dataclass(frozen=True)
class RegionPlan:
    """The steps for one region and the state they start from."""

    region: str
    state: RegionState
    steps: tuple[Step, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "unobserved": self.state.unobserved,
            "function_exists": self.state.function_exists,
            "live_version": self.state.live_version,
            "steps": [{"action": s.action, **s.detail} for s in self.steps],
        }


def manages_role(spec: FunctionSpec, configuration: Mapping[str, Any] | None) -> bool:
    """True when the function runs (or will run) on the role `bem deploy` creates, whose
    inline policies it may change; a --role-arn or a role made elsewhere is left alone."""
    if spec.role_arn:
        return False
    role = (configuration or {}).get("Role")
    return role is None or str(role).rsplit(":role/", 1)[-1] == spec.role_name


def resolve_bucket(spec: FunctionSpec, region: str, account: str) -> str:
    """The S3 bucket for large zips: spec.bucket (with placeholders) or a per-region default."""
    template = spec.bucket or "{function}-deploy-{account}-{region}"
    return template.format(function=spec.name, account=account, region=region)


def s3_key(spec: FunctionSpec, artifact: Artifact) -> str:
    """Content-addressed key: the same zip is uploaded once."""
    return f"{spec.name}/{artifact.sha256_hex}.zip"


def observe_region(
    clients: ClientFactory, spec: FunctionSpec, artifact: Artifact | None, region: str
) -> RegionState:
    """Read the current state of one region with Get/List/Head calls only."""
    lambda_client = clients("lambda", region)
    account = str(clients("sts", region).get_caller_identity()["Account"])
    try:
        configuration = lambda_client.get_function_configuration(FunctionName=spec.name)
    except ClientError as error:
        if not is_not_found(error):
            raise
        configuration = None
    versions: tuple[str, ...] = ()
    live_version: str | None = None
    routing: dict[str, float] = {}
    history: tuple[str, ...] = ()
    if configuration is not None:
        versions = list_published_versions(lambda_client, spec.name)
        try:
            alias = lambda_client.get_alias(FunctionName=spec.name, Name=spec.alias)
        except ClientError as error:
            if not is_not_found(error):
                raise
        else:
            live_version = str(alias["FunctionVersion"])
            routing = dict(alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}))
            history = parse_history(alias.get("Description", ""))
    role_exists = bool(spec.role_arn) or configuration is not None
    if not role_exists:
        role_exists = _role_exists(clients("iam", region), spec.role_name)
    policy = None
    if role_exists and manages_role(spec, configuration):
        policy = _role_policy(clients("iam", region), spec.role_name, RESULTS_POLICY_NAME)
    bucket, bucket_exists, object_exists = None, False, False
    if artifact is not None and artifact.size_bytes > spec.direct_upload_limit:
        bucket = resolve_bucket(spec, region, account)
        bucket_exists, object_exists = _object_state(
            clients("s3", region), bucket, s3_key(spec, artifact)
        )
    return RegionState(
        region=region,
        account=account,
        configuration=configuration,
        versions=versions,
        live_version=live_version,
        live_routing=routing,
        history=history,
        role_exists=role_exists,
        bucket=bucket,
        bucket_exists=bucket_exists,
        object_exists=object_exists,
        results_policy=policy,
    )


def list_published_versions(lambda_client: Any, function_name: str) -> tuple[str, ...]:
    """Published version numbers of the function, ascending ($LATEST left out)."""
    numbers: list[int] = []
    for page in lambda_client.get_paginator("list_versions_by_function").paginate(
        FunctionName=function_name
    ):
        numbers += [int(v["Version"]) for v in page["Versions"] if v["Version"].isdigit()]
    return tuple(str(n) for n in sorted(numbers))


def _role_exists(iam_client: Any, role_name: str) -> bool:
    try:
        iam_client.get_role(RoleName=role_name)
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return True


def _role_policy(iam_client: Any, role_name: str, policy_name: str) -> dict[str, Any] | None:
    """The inline policy's document (boto3 decodes it), None when the role has none so named."""
    try:
        document = iam_client.get_role_policy(RoleName=role_name, PolicyName=policy_name)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
    found = document["PolicyDocument"]
    return dict(json.loads(found) if isinstance(found, str) else found)


def _object_state(s3_client: Any, bucket: str, key: str) -> tuple[bool, bool]:
    try:
        s3_client.head_bucket(Bucket=bucket)
    except ClientError as error:
        if is_not_found(error):
            return False, False
        raise
    try:
        s3_client.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if is_not_found(error):
            return True, False
        raise
    return True, True


def configuration_changes(spec: FunctionSpec, current: Mapping[str, Any]) -> dict[str, Any]:
    """The wanted configuration fields that differ from the current ones."""
    changes: dict[str, Any] = {}
    for key, wanted in spec.wanted_configuration().items():
        have = current.get(key)
        if key == "Environment":
            have = {"Variables": dict((have or {}).get("Variables", {}) or {})}
        if have != wanted:
            changes[key] = wanted
    return changes


def plan_region(
    spec: FunctionSpec,
    artifact: Artifact,
    state: RegionState,
    canary_weight: float | None = None,
) -> RegionPlan:
    """The steps that take `state` to `spec` running `artifact` behind the alias.

    With `canary_weight` (0 < w < 1) and an alias already live, the alias stays on its version
    and sends that share of calls to the new one until `bem deploy promote`.
    """
    steps: list[Step] = []
    grant, revoke = results_policy_steps(spec, state)
    via_s3 = artifact.size_bytes > spec.direct_upload_limit
    code: dict[str, Any] = {"size_bytes": artifact.size_bytes}
    if via_s3:
        assert state.bucket is not None
        key = s3_key(spec, artifact)
        if not state.bucket_exists:
            steps.append(Step("create_bucket", {"bucket": state.bucket}))
        if state.object_exists:
            steps.append(Step("reuse_s3_object", {"bucket": state.bucket, "key": key}))
        else:
            steps.append(Step("upload_s3", {"bucket": state.bucket, "key": key, **code}))
        code = {"s3": f"s3://{state.bucket}/{key}"}
    else:
        code["upload"] = "direct"
    if not state.function_exists:
        if not state.role_exists:
            steps.append(Step("create_role", {"role": spec.role_name}))
        steps += grant
        steps.append(
            Step(
                "create_function",
                {"function": spec.name, **code, **_config_detail(spec.wanted_configuration())},
            )
        )
        steps.append(Step("set_log_retention", {"days": spec.log_retention_days}))
    else:
        steps += grant
        current_sha = state.configuration.get("CodeSha256") if state.configuration else None
        if current_sha != artifact.code_sha256:
            steps.append(Step("update_code", {"function": spec.name, **code}))
        changes = configuration_changes(spec, state.configuration or {})
        if changes:
            steps.append(Step("update_configuration", _config_detail(changes)))
    steps.append(
        Step(
            "publish_version",
            {"code_sha256": artifact.code_sha256, "description": artifact.description},
        )
    )
    if canary_weight is not None and state.live_version:
        steps.append(
            Step(
                "route_canary",
                {
                    "alias": spec.alias,
                    "stable_version": state.live_version,
                    "weight": canary_weight,
                },
            )
        )
    else:
        action = "move_alias" if state.live_version else "create_alias"
        steps.append(Step(action, {"alias": spec.alias, "from_version": state.live_version}))
    steps += revoke
    return RegionPlan(region=state.region, state=state, steps=tuple(steps))


def results_policy_steps(spec: FunctionSpec, state: RegionState) -> tuple[list[Step], list[Step]]:
    """(grant, revoke): the role's `s3:PutObject` for BEM_RESULTS_S3_URI, before the function
    changes, or its removal once the alias has moved off the version that wrote (a malformed
    URI raises DeployError here, before anything changes).

    A role not managed by `bem deploy` gets a no-op step saying what to grant by hand.
    """
    uri = results_uri(spec.environment)
    resource = results_resource(uri) if uri else None
    if not manages_role(spec, state.configuration):
        if resource is None:
            return [], []
        role = spec.role_arn or (state.configuration or {}).get("Role")
        return [Step("results_policy_not_managed", {"role": role, "grant": resource})], []
    detail = {"role": spec.role_name, "policy": RESULTS_POLICY_NAME}
    if resource is None:
        return [], [Step("delete_results_policy", detail)] if state.results_policy else []
    if state.results_policy == results_policy(resource):
        return [], []
    return [Step("put_results_policy", {**detail, "resource": resource})], []


def _config_detail(config: Mapping[str, Any]) -> dict[str, Any]:
    detail = {k: v for k, v in config.items() if k != "Environment"}
    if "Environment" in config:
        detail["Environment"] = sorted(config["Environment"].get("Variables", {}))
    return detail
