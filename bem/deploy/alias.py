"""The `live` alias: moving it, remembering where it was, and rolling it back.

The alias description carries its own history ("previous: 4,3,2", newest first), so rolling
back needs no state outside Lambda: `up` pushes the version it moves away from; `rollback`
pops. An alias without history (made by SAM or by hand) rolls back to the highest published
version below the current one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bem.deploy.aws import DeployError, is_not_found

HISTORY_LIMIT = 20
_HISTORY = re.compile(r"previous:\s*([0-9,\s]*)")


def parse_history(description: str) -> tuple[str, ...]:
    """Earlier live versions, newest first, read from an alias description."""
    found = _HISTORY.search(description or "")
    if not found:
        return ()
    return tuple(v.strip() for v in found.group(1).split(",") if v.strip().isdigit())


def format_history(history: Sequence[str]) -> str:
    """An alias description holding `history` (bounded, well under Lambda's 256 characters)."""
    kept = [v for v in history if v][:HISTORY_LIMIT]
    return "managed by bem deploy; previous: " + ",".join(kept)


def pushed(history: Sequence[str], version: str | None, new_version: str) -> tuple[str, ...]:
    """History after moving from `version` to `new_version`."""
    items = [version] if version and version != new_version else []
    items += [v for v in history if v not in (version, new_version)]
    return tuple(items[:HISTORY_LIMIT])


def move_alias(
    lambda_client: Any,
    function_name: str,
    alias: str,
    version: str,
    history: Sequence[str],
    routing: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Point `alias` at `version` (creating it if needed), with history and routing set.

    `routing` None clears any weighted (canary) routing.
    """
    kwargs: dict[str, Any] = {
        "FunctionName": function_name,
        "Name": alias,
        "FunctionVersion": version,
        "Description": format_history(history),
        "RoutingConfig": {"AdditionalVersionWeights": dict(routing or {})},
    }
    try:
        lambda_client.get_alias(FunctionName=function_name, Name=alias)
    except ClientError as error:
        if not is_not_found(error):
            raise
        result: dict[str, Any] = lambda_client.create_alias(**kwargs)
        return result
    result = lambda_client.update_alias(**kwargs)
    return result


@dataclass(frozen=True)
class RollbackPlan:
    """Where the alias goes back to in one region, and the history left after it."""

    region: str
    from_version: str | None
    to_version: str
    history: tuple[str, ...]
    reason: str

    def describe(self) -> str:
        return (
            f"{self.region}: move alias {self.from_version} -> {self.to_version} "
            f"({self.reason}); history after: {','.join(self.history) or '-'}"
        )


def plan_rollback(
    region: str,
    live_version: str | None,
    history: Sequence[str],
    published: Sequence[str],
    to_version: str | None = None,
) -> RollbackPlan:
    """Choose the version to roll back to: explicit, else the last one live, else the one below.

    The version rolled away from is not kept in history: a second rollback goes further back,
    never forward to the version just abandoned.
    """
    if live_version is None:
        raise DeployError(f"{region}: no alias to roll back")
    if to_version is not None:
        if to_version not in published:
            raise DeployError(f"{region}: version {to_version} is not published")
        rest = tuple(v for v in history if v not in (to_version, live_version))
        return RollbackPlan(region, live_version, to_version, rest, "explicit version")
    candidates = [v for v in history if v in published and v != live_version]
    if candidates:
        target = candidates[0]
        rest = tuple(history[history.index(target) + 1 :])
        return RollbackPlan(region, live_version, target, rest, "previous live version")
    ceiling = int(live_version) if live_version.isdigit() else None
    older = [v for v in published if ceiling is None or int(v) < ceiling]
    if not older:
        raise DeployError(f"{region}: no version before {live_version} to roll back to")
    return RollbackPlan(region, live_version, older[-1], (), "highest version below live")
