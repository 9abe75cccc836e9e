"""boto3 plumbing for `bem deploy`: a client factory and the waits Lambda needs.

Everything that talks to AWS takes a `ClientFactory` — `(service, region) -> client` — so the
same code runs against AWS, against a moto server (`endpoint_url`) or against a test double.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

ClientFactory = Callable[[str, str], Any]
Sleep = Callable[[float], None]
Clock = Callable[[], float]


class DeployError(RuntimeError):
    """A deployment step failed; the message says which and why."""


def boto3_client_factory(
    session: Any | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
) -> ClientFactory:
    """A cached client factory over a boto3 session (built lazily from `profile`)."""
    cache: dict[tuple[str, str], Any] = {}
    state: dict[str, Any] = {"session": session}

    def factory(service: str, region: str) -> Any:
        key = (service, region)
        if key not in cache:
            if state["session"] is None:
                import boto3

                state["session"] = boto3.Session(profile_name=profile)
            cache[key] = state["session"].client(
                service, region_name=region, endpoint_url=endpoint_url
            )
        return cache[key]

    return factory


def error_code(error: ClientError) -> str:
    """The AWS error code of a botocore ClientError."""
    return str(error.response.get("Error", {}).get("Code", ""))


def is_not_found(error: ClientError) -> bool:
    """True when the error says the resource does not exist."""
    return error_code(error) in {
        "ResourceNotFoundException",
        "NotFoundException",
        "NoSuchEntity",
        "NoSuchBucket",
        "NotFound",
        "404",
        "NoSuchKey",
    }


def wait_function_ready(
    lambda_client: Any,
    function_name: str,
    qualifier: str | None = None,
    timeout_s: float = 300.0,
    poll_s: float = 1.0,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> dict[str, Any]:
    """Poll until State is Active and LastUpdateStatus is Successful; return the configuration.

    Lambda rejects a second update while one is in progress (ResourceConflictException), so
    every create/update is followed by this wait. A Failed status raises DeployError.
    """
    kwargs: dict[str, Any] = {"FunctionName": function_name}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    deadline = clock() + timeout_s
    while True:
        config: dict[str, Any] = lambda_client.get_function_configuration(**kwargs)
        state = config.get("State", "Active")
        update = config.get("LastUpdateStatus") or "Successful"
        if state == "Failed" or update == "Failed":
            reason = config.get("StateReason") or config.get("LastUpdateStatusReason") or ""
            raise DeployError(f"{function_name}: update failed: {reason}")
        if state == "Active" and update == "Successful":
            return config
        if clock() >= deadline:
            raise DeployError(
                f"{function_name}: still State={state} LastUpdateStatus={update} "
                f"after {timeout_s:.0f} s"
            )
        sleep(poll_s)


def retry_while_role_propagates(
    call: Callable[[], dict[str, Any]],
    attempts: int = 12,
    delay_s: float = 5.0,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    """Run `call`, retrying while a new IAM role cannot yet be assumed by Lambda.

    IAM is eventually consistent: create_function with a role created seconds ago fails with
    InvalidParameterValueException "The role defined for the function cannot be assumed".
    """
    for attempt in range(attempts):
        try:
            return call()
        except ClientError as error:
            message = str(error.response.get("Error", {}).get("Message", ""))
            retryable = error_code(error) == "InvalidParameterValueException" and (
                "role" in message.lower()
            )
            if not retryable or attempt == attempts - 1:
                raise
            sleep(delay_s)
    raise AssertionError("unreachable")
