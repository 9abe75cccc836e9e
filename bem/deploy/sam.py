"""Glue between the SAM files in deploy/ and the zip: the per-region parameters of
deploy/samconfig.toml plus the model version and commit read from deploy.zip.
"""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path
from typing import Any

from bem.deploy.aws import DeployError
from bem.deploy.plan import Artifact

DEFAULT_SAMCONFIG = Path("deploy/samconfig.toml")


def read_samconfig(path: Path) -> dict[str, Any]:
    """The parsed samconfig.toml."""
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise DeployError(f"cannot read {path}: {error}") from error


def config_env_parameters(config: dict[str, Any], config_env: str) -> dict[str, str]:
    """The parameter_overrides of one config env (SAM writes a "K=V K=V" string or a list)."""
    if config_env not in config:
        known = ", ".join(k for k in config if k != "version")
        raise DeployError(f"no config env {config_env!r} (known: {known})")
    raw = config[config_env].get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    tokens = shlex.split(raw) if isinstance(raw, str) else [str(t) for t in raw]
    parameters: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep:
            raise DeployError(f"{config_env}: parameter override {token!r} is not KEY=VALUE")
        parameters[key] = value
    return parameters


def sam_parameter_overrides(config: dict[str, Any], config_env: str, artifact: Artifact) -> str:
    """The --parameter-overrides string for `sam deploy`: the env's parameters plus the
    ModelVersion and GitCommit of the zip (which win: they describe what is deployed)."""
    parameters = config_env_parameters(config, config_env)
    parameters["ModelVersion"] = artifact.model_version
    parameters["GitCommit"] = artifact.git_commit
    return " ".join(f"{key}={shlex.quote(value)}" for key, value in parameters.items())
