"""Helpers of the deployment tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from bem.deploy.aws import ClientFactory

REPO_ROOT = Path(__file__).resolve().parents[2]
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def write_zip(path: Path, model_version: str, marker: str, blob: bytes = b"") -> Path:
    """A stand-in deploy.zip: a handler module, a model card and an optional stored blob."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "lambda_handler.py", f"# {marker}\ndef handler(event, context):\n    return []\n"
        )
        archive.writestr("model/model.json", json.dumps({"version": model_version}))
        if blob:
            archive.writestr(
                zipfile.ZipInfo("model/blob.bin"), blob, compress_type=zipfile.ZIP_STORED
            )
    return path


class RecordingClients:
    """A client factory that records every operation called through it."""

    def __init__(self, inner: ClientFactory) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __call__(self, service: str, region: str) -> Any:
        client = self.inner(service, region)
        calls = self.calls

        class Proxy:
            def __getattr__(self, name: str) -> Any:
                attribute = getattr(client, name)
                if not callable(attribute):
                    return attribute

                def call(*args: Any, **kwargs: Any) -> Any:
                    target = args[0] if name == "get_paginator" else name
                    calls.append(f"{service}.{target}")
                    return attribute(*args, **kwargs)

                return call

        return Proxy()


def snapshot(clients: ClientFactory, regions: list[str]) -> dict[str, Any]:
    """Everything a deployment can change, per region, as comparable data."""
    state: dict[str, Any] = {
        "roles": sorted(r["RoleName"] for r in clients("iam", regions[0]).list_roles()["Roles"])
    }
    for region in regions:
        lam = clients("lambda", region)
        functions = {}
        for function in lam.list_functions()["Functions"]:
            name = function["FunctionName"]
            versions = lam.list_versions_by_function(FunctionName=name)["Versions"]
            aliases = lam.list_aliases(FunctionName=name)["Aliases"]
            functions[name] = {
                "sha": function["CodeSha256"],
                "memory": function["MemorySize"],
                "versions": [v["Version"] for v in versions],
                "aliases": [
                    (a["Name"], a["FunctionVersion"], a.get("Description")) for a in aliases
                ],
            }
        buckets = [b["Name"] for b in clients("s3", region).list_buckets()["Buckets"]]
        state[region] = {"functions": functions, "buckets": sorted(buckets)}
    return state


TEMPLATE = REPO_ROOT / "deploy" / "template.yaml"
SAMCONFIG = REPO_ROOT / "deploy" / "samconfig.toml"
ENV_SAM_CLI = "BEM_SAM_CLI"  # path of a `sam` executable, for machines without .venv-sam


def sam_executable() -> Path:
    """The aws-sam-cli that scripts/bootstrap.sh installs in .venv-sam (or $BEM_SAM_CLI)."""
    import shutil

    candidates = [os.environ.get(ENV_SAM_CLI, ""), str(REPO_ROOT / ".venv-sam" / "bin" / "sam")]
    candidates.append(shutil.which("sam") or "")
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FileNotFoundError("aws-sam-cli not found: run scripts/bootstrap.sh (makes .venv-sam/)")


def sam_environment() -> dict[str, str]:
    """Environment for sam: offline, no telemetry, dummy credentials, a region."""
    return {
        **os.environ,
        **DUMMY_CREDENTIALS,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-west-2",
    }


def unresolved_references(template: dict[str, Any]) -> set[str]:
    """Names used by Ref/GetAtt/Sub in a CloudFormation template that nothing declares."""
    import re

    known = set(template.get("Resources", {})) | set(template.get("Parameters", {}))
    missing: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref" and isinstance(value, str):
                    names = [value]
                elif key == "Fn::GetAtt":
                    names = [value[0] if isinstance(value, list) else value.split(".")[0]]
                elif key == "Fn::Sub":
                    text, local = (value, {}) if isinstance(value, str) else value
                    found = re.findall(r"\$\{([^}!]+)\}", text)
                    names = [n.split(".")[0] for n in found if n not in local]
                else:
                    names = []
                missing.update(n for n in names if not n.startswith("AWS::") and n not in known)
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(template.get("Resources", {}))
    visit(template.get("Outputs", {}))
    return missing
