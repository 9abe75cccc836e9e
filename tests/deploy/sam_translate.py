"""Run inside .venv-sam: print the CloudFormation that SAM makes of a template (offline).

Usage: .venv-sam/bin/python tests/deploy/sam_translate.py TEMPLATE '{"Param": "value"}'
The local CodeUri is swapped for an S3 URI first, as `sam validate` does.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The template uses no managed policy names, so none need looking up in IAM."""

    def load(self) -> dict[str, str]:
        return {}


def main() -> None:
    with open(sys.argv[1]) as handle:
        template: dict[str, Any] = yaml_parse(handle.read())
    parameters = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/deploy.zip"
    print(json.dumps(transform(template, parameters, NoManagedPolicies()), default=str))


if __name__ == "__main__":
    main()
