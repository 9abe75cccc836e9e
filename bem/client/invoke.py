"""Invoke the function for payloads of any size: calls sized by the service's own answer
estimate, parallel invokes, retries, failover, refused users sent again (see bem.client).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from bem.client.parts import (
    MAX_REQUEST_BYTES,
    Limits,
    Part,
    Unit,
    answer_items,
    failed_items,
    in_input_order,
    items_by_unit,
    one_budget_per_item,
    plan_parts,
    refusal,
    split_unit,
    units_of,
    users_of,
)
from budget_matcher import SERVICE_NAME
from budget_matcher import contract as c
from budget_matcher.answer_size import AnswerShape
from flattened_data_points import DEFAULT_ANSWER_BYTES, DEFAULT_MAX_PAIRS_PER_CALL

MAX_PAIRS_PER_CALL = DEFAULT_MAX_PAIRS_PER_CALL
MAX_ROUNDS = 4  # calls of refused users sent again, at most
RETRYABLE_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "ServiceException",
        "EC2ThrottledException",
        "ResourceNotReadyException",
        "RequestTimeoutException",
    }
)
TOO_LARGE_CODES = frozenset({"RequestTooLargeException", "RequestEntityTooLargeException"})
SPLITTABLE_FUNCTION_ERRORS = frozenset(
    {"Function.ResponseSizeTooLarge", "Sandbox.Timedout", "Runtime.OutOfMemory"}
)
# An invocation whose answer was lost on the way (a runtime cut off mid-response): retried.
RETRYABLE_FUNCTION_ERRORS = frozenset({"Runtime.TruncatedResponse"})


@dataclass
class ScoreRun:
    """The answer of `ScoresClient.score`: items in input order plus what it took."""

    items: list[dict[str, Any]] = field(default_factory=list)
    invocations: int = 0
    retries: int = 0
    failovers: int = 0
    splits: int = 0
    failed_parts: int = 0
    resent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, name: str) -> None:
        """Add one to a counter (parts run in threads)."""
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


class ScoresClient:
    """Invokes the function for payloads of any size; see the package doc."""

    def __init__(
        self,
        function_name: str = SERVICE_NAME,
        region: str | None = None,
        mirror_regions: Sequence[str] = (),
        *,
        qualifier: str | None = None,
        session: Any = None,
        endpoint_urls: Mapping[str, str] | None = None,
        clients: Mapping[str, Any] | None = None,
        max_workers: int = 8,
        max_attempts: int = 4,
        base_delay_s: float = 0.1,
        max_delay_s: float = 5.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        max_pairs_per_call: int = MAX_PAIRS_PER_CALL,
        answer_bytes: int = DEFAULT_ANSWER_BYTES,
        response_format: str = "list",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if session is None and clients is None:
            import boto3

            session = boto3.Session()
        if response_format not in ("list", c.COLUMNS_FORMAT):
            raise ValueError(
                f"response_format must be 'list' or 'columns', not {response_format!r}"
            )
        primary = region or (session.region_name if session is not None else None) or "us-east-1"
        self.regions = [primary, *[r for r in mirror_regions if r != primary]]
        self.function_name = function_name
        self.qualifier = qualifier
        self.max_workers = max_workers
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.response_format = response_format
        self.limits = Limits(
            max_request_bytes, answer_bytes, max_pairs_per_call, AnswerShape(response_format)
        )
        self._sleep = sleep
        self._clients = dict(clients or {})
        self._session = session
        self._endpoint_urls = dict(endpoint_urls or {})

    def _client(self, region: str) -> Any:
        if region not in self._clients:
            from botocore.config import Config

            endpoint = self._endpoint_urls.get(region)
            unsigned: dict[str, Any] = {}
            if _is_local(endpoint) and self._session.get_credentials() is None:
                from botocore import UNSIGNED  # the local emulator checks no signature

                unsigned["signature_version"] = UNSIGNED
            config = Config(
                retries={"total_max_attempts": 1},
                max_pool_connections=max(10, self.max_workers),
                read_timeout=910,  # longer than Lambda's 15-minute maximum
                connect_timeout=5,
                **unsigned,
            )
            self._clients[region] = self._session.client(
                "lambda", region_name=region, endpoint_url=endpoint, config=config
            )
        return self._clients[region]

    def score(self, payload: Any) -> ScoreRun:
        """Score a payload (one user, a batch, or a list of users); items in input order."""
        users, options = users_of(payload)
        options = {**(options or {}), "response_format": self.response_format}
        run = ScoreRun()
        pending = [unit for k, user in enumerate(users) for unit in units_of(k, user, self.limits)]
        answered: dict[int, list[tuple[Unit, list[dict[str, Any]]]]] = {}
        with ThreadPoolExecutor(max_workers=self.max_workers) as executor:
            for round_ in range(MAX_ROUNDS):
                parts = plan_parts(pending, self.limits)
                outcomes = executor.map(lambda part: self._score_part(part, options, run), parts)
                pending = []
                for unit, items in (pair for outcome in outcomes for pair in outcome):
                    code = refusal(items)
                    if code is None or round_ == MAX_ROUNDS - 1:
                        answered.setdefault(unit.position, []).append((unit, items))
                        continue
                    run.count("resent")  # refused: sent again, alone or in smaller units
                    smaller = code == "too_many_pairs" or unit.alone  # alone, yet refused
                    again = split_unit(unit, self.limits) if smaller else []
                    pending.extend(again if len(again) > 1 else [replace(unit, alone=True)])
                if not pending:
                    break
        for position in sorted(answered):
            shares = answered[position]
            items = [item for _, share in shares for item in share]
            if any(unit.cut for unit, _ in shares):
                items = in_input_order(users[position], items)
                one_budget_per_item(items)
            run.items.extend(in_input_order(users[position], items))
        return run

    def _score_part(
        self, part: Part, options: Mapping[str, Any], run: ScoreRun
    ) -> list[tuple[Unit, list[dict[str, Any]]]]:
        """Each unit of the part with its items (split and retried as needed)."""
        body = json.dumps(part.payload(options), separators=(",", ":")).encode()
        verdict: str = "failed"
        detail: Any = "no region answered"
        splittable = len(part.units) > 1 or len(split_unit(part.units[0], self.limits)) > 1
        for index, region in enumerate(self.regions):
            if index:
                run.count("failovers")
            verdict, detail = self._invoke_with_retries(region, body, run, splittable)
            if verdict in ("ok", "split", "function_error", "rejected"):
                break
        if verdict == "ok":
            items = answer_items(detail)
            if items is not None:
                return list(zip(part.units, items_by_unit(part, items), strict=True))
            verdict, detail = "failed", f"the function answered {str(detail)[:200]}"
        if verdict == "split" and splittable:
            run.count("splits")
            if len(part.units) > 1:
                half = len(part.units) // 2
                pieces = [Part(part.units[:half]), Part(part.units[half:])]
            else:
                pieces = [Part([unit]) for unit in split_unit(part.units[0], self.limits)]
            return [pair for piece in pieces for pair in self._score_part(piece, options, run)]
        run.count("failed_parts")
        code = {"function_error": "function_error", "rejected": "invoke_rejected"}.get(
            verdict, "invoke_failed"
        )
        return [(unit, failed_items(unit, code, str(detail))) for unit in part.units]

    def _invoke_with_retries(
        self, region: str, body: bytes, run: ScoreRun, splittable: bool = False
    ) -> tuple[str, Any]:
        """("ok", the decoded answer) | ("split", why) | ("function_error", why) |
        ("rejected", why) | ("failed", why)."""
        crashes = 0
        from botocore.exceptions import BotoCoreError, ClientError

        detail: Any = "not invoked"
        for attempt in range(self.max_attempts):
            if attempt:
                run.count("retries")
                cap = min(self.max_delay_s, self.base_delay_s * 2**attempt)
                self._sleep(random.uniform(0, cap))
            run.count("invocations")
            arguments: dict[str, Any] = {"FunctionName": self.function_name, "Payload": body}
            if self.qualifier:
                arguments["Qualifier"] = self.qualifier
            try:
                response = self._client(region).invoke(**arguments)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                detail = f"{region}: {code or status}: {error}"
                if code in TOO_LARGE_CODES or status == 413:
                    return "split", detail
                if code in RETRYABLE_CODES or status == 429 or status >= 500:
                    continue
                if status == 400:
                    return "rejected", detail  # the request itself is invalid: anywhere
                return "failed", detail  # not retryable here; the next region may answer
            except BotoCoreError as error:  # connection refused, timeouts, ...
                detail = f"{region}: {type(error).__name__}: {error}"
                continue
            answer = response["Payload"].read()
            if response.get("FunctionError"):
                error_type, message = _function_error(answer)
                detail = f"{region}: {error_type}: {message}"
                if error_type in SPLITTABLE_FUNCTION_ERRORS:
                    return "split", detail
                if error_type in RETRYABLE_FUNCTION_ERRORS:
                    continue  # the answer was lost, not refused: invoke again
                if error_type == "Runtime.ExitError":
                    crashes += 1
                    if splittable:
                        return "split", detail  # isolate what crashes it
                    if crashes == 1:
                        continue  # one pair: the sandbox may have died for another reason
                return "function_error", detail
            return "ok", _document(answer)
        return "failed", detail


def _is_local(endpoint: str | None) -> bool:
    """Whether `endpoint` is on this machine (`bem serve`): such calls need no credentials."""
    from urllib.parse import urlparse

    host = urlparse(endpoint).hostname if endpoint else None
    return host in ("127.0.0.1", "localhost", "::1")


def _function_error(answer: bytes) -> tuple[str, str]:
    try:
        document = json.loads(answer)
    except ValueError:
        return "Unhandled", answer[:200].decode("utf-8", "replace")
    if not isinstance(document, dict):
        return "Unhandled", str(document)[:200]
    return str(document.get("errorType", "Unhandled")), str(document.get("errorMessage", ""))


def _document(answer: bytes) -> Any:
    try:
        return json.loads(answer)
    except ValueError:
        return answer[:200].decode("utf-8", "replace")


def get_model_scores(
    payload: Any,
    function_name: str = SERVICE_NAME,
    region: str | None = None,
    mirror_regions: Sequence[str] = (),
    **options: Any,
) -> list[dict[str, Any]]:
    """Scores for every budget × line item pair of `payload`, in input order (see bem.client)."""
    client = ScoresClient(function_name, region, mirror_regions, **options)
    return client.score(payload).items
