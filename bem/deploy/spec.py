"""The one description of the Lambda function: what `bem deploy` deploys, what the SAM
template's defaults say, and what `bem serve` / `bem invoke` emulate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from budget_matcher import SERVICE_NAME
from budget_matcher.config import DEFAULT_ALIAS

# Lambda accepts a zip in the request body up to 50 MB; larger ones must come from S3.
DIRECT_UPLOAD_LIMIT_BYTES = 50_000_000
# Chosen from measurements (docs/deploy.md): 1,769 MB is one full vCPU; the handler is
# single-threaded, so more memory buys no speed, and less slows CPU-bound scoring in
# proportion while the GB-s price per call stays about the same.
DEFAULT_MEMORY_MB = 1769
# The largest request Lambda accepts (6 MB, ~900 users, ~40k pairs) takes ~0.54 s of one vCPU
# (bench/bench_deploy_cost.py), a cold start ≤ 1 s: 10 s leaves ~5x headroom for a slower vCPU
# and bounds what a stuck call can cost.
DEFAULT_TIMEOUT_S = 10
DEFAULT_RUNTIME = "python3.12"
DEFAULT_HANDLER = "lambda_handler.handler"
DEFAULT_ARCHITECTURE = "x86_64"
DEFAULT_LOG_RETENTION_DAYS = 30
# Set on the function unless --env overrides it: one vCPU, so OpenMP threads only spin
# (a one-user call of the scikit-learn form: 4.8 ms CPU with one thread, 62 ms without).
DEFAULT_ENVIRONMENT = {"OMP_NUM_THREADS": "1"}


@dataclass(frozen=True)
class FunctionSpec:
    """The function as it should be after the deployment."""

    name: str = SERVICE_NAME
    alias: str = DEFAULT_ALIAS
    runtime: str = DEFAULT_RUNTIME
    handler: str = DEFAULT_HANDLER
    architecture: str = DEFAULT_ARCHITECTURE
    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_s: float = DEFAULT_TIMEOUT_S  # Lambda takes whole seconds; the emulator any
    role_arn: str | None = None
    environment: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ENVIRONMENT))
    bucket: str | None = None  # may contain "{region}" and "{account}"
    direct_upload_limit: int = DIRECT_UPLOAD_LIMIT_BYTES
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS

    @property
    def role_name(self) -> str:
        """The IAM role created for the function when no role ARN is given."""
        return f"{self.name}-lambda-role"

    def wanted_configuration(self) -> dict[str, Any]:
        """The configuration fields compared with (and sent to) Lambda."""
        return {
            "Runtime": self.runtime,
            "Handler": self.handler,
            "MemorySize": self.memory_mb,
            "Timeout": math.ceil(self.timeout_s),
            "Environment": {"Variables": dict(self.environment)},
        }
