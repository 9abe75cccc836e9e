"""The execution role's permission for the S3 results sink (`BEM_RESULTS_S3_URI`).

The handler puts one object per answer under `prefix/dt=…/hour=…/` (`budget_matcher.results_s3`),
so the role `bem deploy up` creates gets, while the function's environment sets the variable, an
inline policy allowing `s3:PutObject` on exactly that prefix (the whole bucket without one), and
loses it when the variable goes. The SAM template grants the same from its `ResultsS3Bucket` and
`ResultsS3Prefix` parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bem.deploy.aws import DeployError
from budget_matcher.config import ENV_RESULTS_S3_URI
from budget_matcher.results_s3 import parse_s3_uri

RESULTS_POLICY_NAME = "write-results-s3"
# S3 bucket naming rules: 3-63 characters, lower-case letters, digits, dots and hyphens,
# starting and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# IAM would read these in a resource as wildcards or policy variables: the grant would widen.
_IAM_SPECIAL = re.compile(r"[*?$]")
_EXAMPLE = f"{ENV_RESULTS_S3_URI}=s3://my-results-bucket/bem/results"


def results_uri(environment: Mapping[str, str]) -> str:
    """The sink's URI in a function environment; "" when unset or empty (the sink is off)."""
    return environment.get(ENV_RESULTS_S3_URI, "").strip()


def results_resource(uri: str) -> str:
    """The object ARN the sink writes to: `arn:aws:s3:::BUCKET/PREFIX/*` (or `BUCKET/*`).

    A malformed URI raises DeployError saying what is wrong and what a valid value looks like.
    """

    def refuse(why: str) -> DeployError:
        return DeployError(
            f"{ENV_RESULTS_S3_URI}={uri!r}: {why}; expected s3://BUCKET or s3://BUCKET/PREFIX, "
            f"e.g. {_EXAMPLE}"
        )

    try:
        bucket, prefix = parse_s3_uri(uri)
    except ValueError:
        raise refuse("not an s3:// URI with a bucket") from None
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise refuse(
            f"{bucket!r} is not a valid S3 bucket name (3-63 lower-case letters, digits, "
            "dots or hyphens)"
        )
    if _IAM_SPECIAL.search(prefix):
        raise refuse(f"the prefix {prefix!r} contains *, ? or $, which IAM reads as wildcards")
    return f"arn:aws:s3:::{bucket}/{prefix}/*" if prefix else f"arn:aws:s3:::{bucket}/*"


def results_policy(resource: str) -> dict[str, Any]:
    """Put objects under `resource` and nothing else (no read, list or delete)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": resource}],
    }
