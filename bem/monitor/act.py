"""Acting on alerts: roll the deployment back when an alert is put down to the live version.

The live model version comes from the deployment itself (`bem.deploy.ops.status`: the alias's
Lambda version, whose description reads "model <version> commit <sha>"), the attribution from
the report (`bem.monitor.attribution`). For each alert of the report:

- not attributed to a version change → nothing (the reason is recorded);
- dated before the live version went live (per the results), or attributed to a version that
  is not the live one → nothing: rolling back would undo a version the alert cannot blame;
- attributed to the live version → `bem.deploy.ops.rollback` in every region (once per run;
  and not again when the store already records a rollback away from that model version).

Every decision is a row of `monitor_actions` (when, what, which alert, which versions, why).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bem.deploy.aws import ClientFactory
from bem.deploy.ops import rollback, status
from bem.deploy.spec import FunctionSpec
from bem.monitor.store import actions

_MODEL = re.compile(r"model\s+(\S+)")


@dataclass(frozen=True)
class Deployment:
    """What the primary region's alias serves."""

    region: str
    lambda_version: str | None
    model_version: str | None


@dataclass
class Decision:
    """What was decided about one alert, and done."""

    action: str  # "rollback", "would_rollback" or "none"
    reason: str
    alert: dict[str, Any]
    model_version: str | None = None
    moves: list[tuple[str, str | None, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "action": self.action,
            "reason": self.reason,
            "model_version": self.model_version,
            "alert": self.alert,
            "moves": [list(m) for m in self.moves],
        }

    def line(self) -> str:
        """One line: the action in capitals, the reason, the alias moves (region: from -> to)."""
        moves = ", ".join(f"{r}: {a} -> {b}" for r, a, b in self.moves)
        return f"{self.action.upper()} {self.reason}" + (f" ({moves})" if moves else "")


def live_deployment(
    spec: FunctionSpec, regions: Sequence[str], clients: ClientFactory
) -> Deployment:
    """The primary region's live Lambda version and the model version it says it carries."""
    entry = status(spec, regions[:1], clients)[0]
    live = entry.get("live_version")
    model = None
    for version in entry.get("versions", []):
        if version["version"] == live:
            found = _MODEL.search(version.get("description") or "")
            model = found.group(1) if found else None
    return Deployment(entry["region"], live, model)


def _rolled_back_before(connection: Connection, model_version: str) -> datetime | None:
    found: datetime | None = connection.execute(
        sa.select(sa.func.max(actions.c.acted_at)).where(
            actions.c.action == "rollback", actions.c.model_version == model_version
        )
    ).scalar()
    return found


def decide(
    alerts: Sequence[dict[str, Any]],
    deployment: Deployment,
    connection: Connection,
    versions: Sequence[dict[str, Any]] = (),
) -> list[Decision]:
    """One decision per alert (module docstring); at most one rollback. `versions` are the
    report's version spans: when the live version went live, per the results."""
    decisions: list[Decision] = []
    rolling = False
    live = deployment.model_version
    starts = [date.fromisoformat(v["first_day"]) for v in versions if v["model_version"] == live]
    live_since = max(starts) if starts else None
    for alert in alerts:
        attribution = alert.get("attribution") or {}
        version = attribution.get("model_version")
        if live_since is not None and date.fromisoformat(alert["day"]) < live_since:
            reason = f"the alert predates the live version {live} (live since {live_since})"
            decisions.append(Decision("none", reason, alert, version))
        elif not attribution.get("attributed"):
            reason = f"not attributed to a version change: {attribution.get('reason', '-')}"
            decisions.append(Decision("none", reason, alert, version))
        elif live is None:
            decisions.append(Decision("none", "live model version unknown", alert, version))
        elif version != live:
            reason = f"attributed to {version}, but {live} is live"
            decisions.append(Decision("none", reason, alert, version))
        elif rolling:
            decisions.append(Decision("none", "rolled back in this run", alert, version))
        elif (before := _rolled_back_before(connection, live)) is not None:
            reason = f"a rollback away from {live} is already recorded ({before:%Y-%m-%d %H:%M})"
            decisions.append(Decision("none", reason, alert, version))
        else:
            rolling = True
            reason = f"alert attributed to the live version {live}: {attribution.get('reason')}"
            decisions.append(Decision("rollback", reason, alert, version))
    return decisions


def act_on_alerts(
    connection: Connection,
    summary: dict[str, Any],
    spec: FunctionSpec,
    regions: Sequence[str],
    clients: ClientFactory,
    dry_run: bool = False,
    now: datetime | None = None,
    echo: Callable[[str], None] | None = None,
) -> list[Decision]:
    """Decide about each alert of a report `summary`, roll back when one blames the live
    version, record it all."""
    deployment = live_deployment(spec, regions, clients)
    decisions = decide(summary["alerts"], deployment, connection, summary.get("versions", []))
    for decision in decisions:
        if decision.action != "rollback":
            continue
        if dry_run:
            decision.action = "would_rollback"
        plans = rollback(spec, regions, clients, dry_run=dry_run, echo=echo or (lambda _l: None))
        decision.moves = [(p.region, p.from_version, p.to_version) for p in plans]
    moment = (now or datetime.now(UTC)).replace(tzinfo=None)
    rows = []
    for decision in decisions:
        alert = decision.alert
        moves = decision.moves or [(deployment.region, deployment.lambda_version, "")]
        for region, from_version, to_version in moves:
            rows.append(
                {
                    "acted_at": moment,
                    "action": decision.action,
                    "model_version": decision.model_version,
                    "alert_day": date.fromisoformat(alert["day"]) if alert.get("day") else None,
                    "alert_metric": alert.get("metric"),
                    "alert_segment": alert.get("segment"),
                    "alert_source": alert.get("source"),
                    "region": region,
                    "from_version": from_version,
                    "to_version": to_version or None,
                    "reason": decision.reason,
                }
            )
    if rows:
        connection.execute(actions.insert(), rows)
    return decisions
