"""The deployment operations over one or several regions (mirrors): up, rollback, promote,
status. Library functions; `bem.deploy` is the Click layer on top.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bem.deploy.alias import RollbackPlan, move_alias, plan_rollback, pushed
from bem.deploy.apply import RegionDeployment, RegionResult
from bem.deploy.aws import ClientFactory, DeployError, Sleep, is_not_found
from bem.deploy.plan import (
    Artifact,
    RegionPlan,
    RegionState,
    observe_region,
    plan_region,
    resolve_bucket,
)
from bem.deploy.spec import FunctionSpec

Echo = Callable[[str], None]


def _quiet(_line: str) -> None:
    """Default echo: say nothing."""


@dataclass(frozen=True)
class DeployOutcome:
    """The plans of every region and, unless it was a dry run, what each now runs."""

    plans: tuple[RegionPlan, ...]
    results: tuple[RegionResult, ...] = field(default_factory=tuple)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "plans": [p.as_dict() for p in self.plans],
            "results": [r.as_dict() for r in self.results],
        }


OFFLINE_ERRORS = ("NoCredentialsError", "PartialCredentialsError", "EndpointConnectionError")


def _observe(
    clients: ClientFactory, spec: FunctionSpec, artifact: Artifact, region: str, dry_run: bool
) -> RegionState:
    """The region's state; for a dry run without credentials or network, the plan of a first
    deployment (the region could not be read, and the state says why)."""
    try:
        return observe_region(clients, spec, artifact, region)
    except Exception as error:
        if not dry_run or type(error).__name__ not in OFFLINE_ERRORS:
            raise
        why = f"{type(error).__name__}: {error}; planned as a first deployment"
        bucket = None
        if artifact.size_bytes > spec.direct_upload_limit:
            bucket = resolve_bucket(spec, region, "ACCOUNT")
        return RegionState(
            region=region, account="ACCOUNT", configuration=None, bucket=bucket, unobserved=why
        )


def deploy(
    spec: FunctionSpec,
    artifact: Artifact,
    regions: Sequence[str],
    clients: ClientFactory,
    dry_run: bool = False,
    canary_weight: float | None = None,
    sleep: Sleep = time.sleep,
    echo: Echo = _quiet,
) -> DeployOutcome:
    """Deploy `artifact` to every region in order (the first is the primary).

    All regions are observed before any is changed; a failure stops before the next region,
    leaving the regions already done on the new version (say `rollback` to undo them).
    """
    if not regions:
        raise DeployError("no region given")
    if canary_weight is not None and not 0.0 < canary_weight < 1.0:
        raise DeployError("canary weight must be between 0 and 1")
    if len(regions) > 1 and spec.bucket and "{region}" not in spec.bucket:
        raise DeployError(
            "with several regions the bucket must contain {region}: Lambda reads the zip from a "
            "bucket in its own region, and bucket names are global"
        )
    plans = tuple(
        plan_region(spec, artifact, _observe(clients, spec, artifact, r, dry_run), canary_weight)
        for r in regions
    )
    if dry_run:
        return DeployOutcome(plans=plans, dry_run=True)
    results: list[RegionResult] = []
    for plan in plans:
        results.append(RegionDeployment(plan, spec, artifact, clients, sleep, echo).run())
    shas = {r.code_sha256 for r in results}
    if shas != {artifact.code_sha256}:
        raise DeployError(f"mirrors run different code: {sorted(shas)}")
    return DeployOutcome(plans=plans, results=tuple(results))


def rollback(
    spec: FunctionSpec,
    regions: Sequence[str],
    clients: ClientFactory,
    to_version: str | None = None,
    dry_run: bool = False,
    echo: Echo = _quiet,
) -> list[RollbackPlan]:
    """Move the alias back in every region (or abort a canary: all traffic to the stable one).

    Version numbers are per region: `to_version` names the same number in each region.
    """
    plans: list[RollbackPlan] = []
    for region in regions:
        state = observe_region(clients, spec, None, region)
        if not state.function_exists:
            raise DeployError(f"{region}: function {spec.name} does not exist")
        if state.live_routing and to_version is None and state.live_version is not None:
            canary = next(iter(state.live_routing))
            plans.append(
                RollbackPlan(region, canary, state.live_version, state.history, "abort canary")
            )
        else:
            plans.append(
                plan_rollback(region, state.live_version, state.history, state.versions, to_version)
            )
    for plan in plans:
        echo(("would " if dry_run else "") + plan.describe())
        if not dry_run:
            move_alias(
                clients("lambda", plan.region),
                spec.name,
                spec.alias,
                plan.to_version,
                plan.history,
            )
    return plans


def promote(
    spec: FunctionSpec,
    regions: Sequence[str],
    clients: ClientFactory,
    dry_run: bool = False,
    echo: Echo = _quiet,
) -> list[tuple[str, str, str]]:
    """Send all traffic to the canary version: (region, from, to) per region moved."""
    moves: list[tuple[str, str, str]] = []
    for region in regions:
        state = observe_region(clients, spec, None, region)
        if not state.live_routing or state.live_version is None:
            echo(f"{region}: no canary in progress (alias on {state.live_version})")
            continue
        canary = next(iter(state.live_routing))
        verb = "would move" if dry_run else "move"
        echo(f"{region}: {verb} alias {state.live_version} -> {canary}")
        if not dry_run:
            history = pushed(state.history, state.live_version, canary)
            move_alias(clients("lambda", region), spec.name, spec.alias, canary, history)
        moves.append((region, state.live_version, canary))
    return moves


def status(
    spec: FunctionSpec, regions: Sequence[str], clients: ClientFactory
) -> list[dict[str, Any]]:
    """Per region: the alias, its routing and history, and the published versions."""
    report: list[dict[str, Any]] = []
    for region in regions:
        state = observe_region(clients, spec, None, region)
        entry: dict[str, Any] = {
            "region": region,
            "function_exists": state.function_exists,
            "alias": spec.alias,
            "live_version": state.live_version,
            "routing": dict(state.live_routing),
            "history": list(state.history),
            "versions": [],
        }
        if state.function_exists:
            entry["versions"] = _version_details(clients("lambda", region), spec.name)
        report.append(entry)
    return report


def _version_details(lambda_client: Any, function_name: str) -> list[dict[str, Any]]:
    details: list[dict[str, Any]] = []
    try:
        pages = lambda_client.get_paginator("list_versions_by_function").paginate(
            FunctionName=function_name
        )
        for page in pages:
            for version in page["Versions"]:
                if version["Version"] == "$LATEST":
                    continue
                details.append(
                    {
                        "version": version["Version"],
                        "description": version.get("Description", ""),
                        "code_sha256": version.get("CodeSha256"),
                        "last_modified": version.get("LastModified"),
                    }
                )
    except ClientError as error:
        if not is_not_found(error):
            raise
    return sorted(details, key=lambda d: int(d["version"]))
