"""Helpers of the deployment tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from bem.deploy_aws import ClientFactory

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
