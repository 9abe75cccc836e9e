"""Call the deployed function from Python: the 2017 boto3 helper, grown up.

    from bem.client import get_model_scores
    items = get_model_scores(payload, function_name="budget-expense-matcher",
                             region="us-west-2", mirror_regions=["us-east-1"])

- splits the request by user (a batch of users travels as `{"users": [...]}`) so that every
  call stays under Lambda's 6 MB request limit and its answer under the 6 MB response limit
  (estimated from the pair count); a user too large for one call is split by budgets, every
  part carrying all of the user's line items, so every feature but those that compare an
  item across its budgets sees the whole user (`amount_rank_in_item` and the item's gaps to
  its best budget see the budgets of their call only), and `matched` is decided again across
  the parts (each line item to at most one budget, `one_budget_per_item`). Only one budget
  with its line items over the limits is split by line items;
- invokes the parts in parallel, retries throttling (429), 5xx and connection faults with
  capped exponential backoff and full jitter, and fails over to mirror regions in order; a
  request the function refuses as invalid (400) is neither retried nor sent elsewhere;
- halves a part on 413 / `Function.ResponseSizeTooLarge` / timeout / out-of-memory, and on a
  crashed runtime (`Runtime.ExitError`), so one poisonous user cannot fail the others of its
  call (a part of one pair that crashes is retried once);
- returns one list in input order (users, then budgets, then line items, as sent; items of a
  record that names no pair after its user's pairs); a part that still fails becomes error
  items (`score: null`, `error: {code, message, field}`), one per pair it held — never an
  exception.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from budget_matcher import SERVICE_NAME
from budget_matcher import contract as c

MAX_REQUEST_BYTES = 6_000_000  # Lambda's limit is 6,291,456; keep a margin for framing
MAX_PAIRS_PER_CALL = 50_000  # ~100 bytes a result item: ~5 MB answers
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


@dataclass
class Part:
    """One invoke's worth of users (or of one user's budgets/items), and where it came from."""

    users: list[dict[str, Any]]
    position: int  # the first input user's index, for ordering
    sub_position: tuple[int, ...] = ()  # part index when a user was split

    def payload(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The request body: one user in the seed format, several as {"users": [...]}."""
        body: dict[str, Any] = dict(self.users[0]) if len(self.users) == 1 else {}
        if len(self.users) > 1:
            body[c.USERS_KEY] = self.users
        if options:
            body[c.OPTIONS_KEY] = dict(options)
        return body


@dataclass
class ScoreRun:
    """The answer of `score_payload`: items in input order plus what it took."""

    items: list[dict[str, Any]] = field(default_factory=list)
    invocations: int = 0
    retries: int = 0
    failovers: int = 0
    splits: int = 0
    failed_parts: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, name: str) -> None:
        """Add one to a counter (parts run in threads)."""
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


def _records(user: Mapping[str, Any], key: str) -> list[Any]:
    value = user.get(key)
    return value if isinstance(value, list) else []


def _n_pairs(user: Mapping[str, Any]) -> int:
    return len(_records(user, c.BUDGETS_KEY)) * len(_records(user, c.LINE_ITEMS_KEY))


def _size(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":")).encode())


def users_of(payload: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The users of a seed payload, a `{"users": [...]}` batch or a list, and its options."""
    options = payload.get(c.OPTIONS_KEY) if isinstance(payload, dict) else None
    if isinstance(payload, dict) and c.USERS_KEY in payload:
        users = payload[c.USERS_KEY]
    elif isinstance(payload, dict):
        users = [{k: v for k, v in payload.items() if k != c.OPTIONS_KEY}]
    else:
        users = payload
    if not isinstance(users, list):
        raise TypeError("payload must be a user's payload, {'users': [...]} or a list of them")
    return users, options


def split_user(user: dict[str, Any], max_bytes: int, max_pairs: int) -> list[dict[str, Any]]:
    """One user as several payloads of the same user, each within the limits: split by budgets
    with every line item in every part; by line items only for one budget over the limits."""
    if _size(user) <= max_bytes and _n_pairs(user) <= max_pairs:
        return [user]
    budgets = _records(user, c.BUDGETS_KEY)
    items = _records(user, c.LINE_ITEMS_KEY)
    if len(budgets) > 1:
        half = len(budgets) // 2
        halves = [budgets[:half], budgets[half:]]
        return [
            piece
            for part in halves
            for piece in split_user({**user, c.BUDGETS_KEY: part}, max_bytes, max_pairs)
        ]
    if len(items) > 1:
        half = len(items) // 2
        halves = [items[:half], items[half:]]
        return [
            piece
            for part in halves
            for piece in split_user({**user, c.LINE_ITEMS_KEY: part}, max_bytes, max_pairs)
        ]
    return [user]  # one budget and one item over the limit: let the service answer it


def plan_parts(
    users: Sequence[dict[str, Any]],
    max_bytes: int = MAX_REQUEST_BYTES,
    max_pairs: int = MAX_PAIRS_PER_CALL,
) -> list[Part]:
    """Users packed greedily, in order, into parts within the byte and pair limits."""
    parts: list[Part] = []
    current: list[dict[str, Any]] = []
    current_bytes = current_pairs = 0
    start = 0
    for position, user in enumerate(users):
        pieces = split_user(user, max_bytes, max_pairs)
        if len(pieces) > 1:
            if current:
                parts.append(Part(current, start))
                current, current_bytes, current_pairs = [], 0, 0
            parts.extend(Part([piece], position, (k,)) for k, piece in enumerate(pieces))
            continue
        size, pairs = _size(user) + 1, _n_pairs(user)
        if current and (current_bytes + size > max_bytes or current_pairs + pairs > max_pairs):
            parts.append(Part(current, start))
            current, current_bytes, current_pairs = [], 0, 0
        if not current:
            start = position
        current.append(user)
        current_bytes += size
        current_pairs += pairs
    if current:
        parts.append(Part(current, start))
    return parts


def _position_key(value: Any) -> str:
    """An id as the answer echoes it (ids are text; lone surrogates become U+FFFD)."""
    from budget_matcher.values import utf8_safe

    return utf8_safe(str(value).strip()) if value is not None else ""


def in_input_order(part: Part, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`items` sorted as the part's input: user, budget, line item (stable for ties/unknowns).

    The handler lists a call's scored pairs first and its error items after them; this puts
    each error item back at its pair's place.
    """
    last = float("inf")
    users: dict[str, int] = {}
    budgets: dict[tuple[str, str], int] = {}
    line_items: dict[tuple[str, str], int] = {}
    for u, user in enumerate(part.users):
        uid = _position_key(user.get(c.USER_ID_KEY)) if len(part.users) > 1 else ""
        users.setdefault(uid, u)
        for k, budget in enumerate(_records(user, c.BUDGETS_KEY)):
            if isinstance(budget, dict):
                budgets.setdefault((uid, _position_key(budget.get(c.BUDGET_ID))), k)
        for k, line_item in enumerate(_records(user, c.LINE_ITEMS_KEY)):
            if isinstance(line_item, dict):
                line_items.setdefault((uid, _position_key(line_item.get(c.ITEM_ID))), k)

    def key(item: dict[str, Any]) -> tuple[float, float, float]:
        uid = _position_key(item.get(c.USER_ID_KEY)) if len(part.users) > 1 else ""
        return (
            users.get(uid, last),
            budgets.get((uid, _position_key(item.get(c.BUDGET_ID))), last),
            line_items.get((uid, _position_key(item.get(c.ITEM_ID))), last),
        )

    return sorted(items, key=key)


def one_budget_per_item(items: list[dict[str, Any]]) -> None:
    """Decide `matched` across the calls of one split user, as the service decides it within a
    call (`budget_matcher.decisions`, method `best`): a line item stays matched only on its
    highest-scoring budget (the first in input order on ties)."""
    best: dict[str, int] = {}
    for k, item in enumerate(items):
        if item.get("matched") and item.get("score") is not None:
            key = _position_key(item.get(c.ITEM_ID))
            if key not in best or item["score"] > items[best[key]]["score"]:
                best[key] = k
    for k, item in enumerate(items):
        if item.get("matched") and best.get(_position_key(item.get(c.ITEM_ID))) != k:
            item["matched"] = False


def failed_items(part: Part, code: str, message: str) -> list[dict[str, Any]]:
    """Error items for every pair of a part that could not be scored."""
    items: list[dict[str, Any]] = []
    for user in part.users:
        user_id = user.get(c.USER_ID_KEY)
        budgets = _records(user, c.BUDGETS_KEY)
        line_items = _records(user, c.LINE_ITEMS_KEY)
        if not budgets or not line_items:
            items.append(c.error_item(code, message, user_id=user_id))
        for budget in budgets:
            for line_item in line_items:
                items.append(
                    c.error_item(
                        code,
                        message,
                        budget_id=budget.get(c.BUDGET_ID) if isinstance(budget, dict) else None,
                        itemization_id=(
                            line_item.get(c.ITEM_ID) if isinstance(line_item, dict) else None
                        ),
                        user_id=user_id,
                    )
                )
    return items


class ScoresClient:
    """Invokes the function for payloads of any size; see the module doc."""

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
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if session is None and clients is None:
            import boto3

            session = boto3.Session()
        primary = region or (session.region_name if session is not None else None) or "us-east-1"
        self.regions = [primary, *[r for r in mirror_regions if r != primary]]
        self.function_name = function_name
        self.qualifier = qualifier
        self.max_workers = max_workers
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.max_request_bytes = max_request_bytes
        self.max_pairs_per_call = max_pairs_per_call
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
        run = ScoreRun()
        parts = plan_parts(users, self.max_request_bytes, self.max_pairs_per_call)
        with ThreadPoolExecutor(max_workers=self.max_workers) as executor:
            answers = list(executor.map(lambda part: self._score_part(part, options, run), parts))
        split_users: dict[int, list[dict[str, Any]]] = {}
        for part, answer in zip(parts, answers, strict=True):
            if part.sub_position:
                split_users.setdefault(part.position, []).extend(answer)
            run.items.extend(answer)
        for items in split_users.values():
            one_budget_per_item(items)
        return run

    def _score_part(
        self, part: Part, options: Mapping[str, Any] | None, run: ScoreRun
    ) -> list[dict[str, Any]]:
        body = json.dumps(part.payload(options), separators=(",", ":")).encode()
        verdict: str = "failed"
        detail: Any = "no region answered"
        splittable = self._can_split(part)
        for index, region in enumerate(self.regions):
            if index:
                run.count("failovers")
            verdict, detail = self._invoke_with_retries(region, body, run, splittable)
            if verdict in ("ok", "split", "function_error", "rejected"):
                break
        if verdict == "ok":
            return in_input_order(part, detail)
        if verdict == "split" and self._can_split(part):
            run.count("splits")
            halves = self._halves(part)
            return [item for half in halves for item in self._score_part(half, options, run)]
        run.count("failed_parts")
        code = {"function_error": "function_error", "rejected": "invoke_rejected"}.get(
            verdict, "invoke_failed"
        )
        return failed_items(part, code, str(detail))

    def _can_split(self, part: Part) -> bool:
        return len(part.users) > 1 or len(split_user(part.users[0], 0, 0)) > 1

    def _halves(self, part: Part) -> list[Part]:
        if len(part.users) > 1:
            half = len(part.users) // 2
            return [Part(part.users[:half], part.position), Part(part.users[half:], part.position)]
        user = part.users[0]
        pieces = split_user(user, max(1, _size(user) // 2), max(1, _n_pairs(user) // 2))
        return [
            Part([piece], part.position, (*part.sub_position, k)) for k, piece in enumerate(pieces)
        ]

    def _invoke_with_retries(
        self, region: str, body: bytes, run: ScoreRun, splittable: bool = False
    ) -> tuple[str, Any]:
        """("ok", items) | ("split", why) | ("function_error", why) | ("rejected", why) |
        ("failed", why)."""
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
                if error_type == "Runtime.ExitError":
                    crashes += 1
                    if splittable:
                        return "split", detail  # isolate what crashes it
                    if crashes == 1:
                        continue  # one pair: the sandbox may have died for another reason
                return "function_error", detail
            return "ok", _result_items(answer)
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


def _result_items(answer: bytes) -> list[dict[str, Any]]:
    try:
        document = json.loads(answer)
    except ValueError:
        document = answer[:200].decode("utf-8", "replace")
    if isinstance(document, dict) and isinstance(document.get("results"), list):
        return list(document["results"])
    if isinstance(document, list):
        return document
    return [c.error_item("unexpected_response", f"the function answered {str(document)[:200]}")]


def get_model_scores(
    payload: Any,
    function_name: str = SERVICE_NAME,
    region: str | None = None,
    mirror_regions: Sequence[str] = (),
    **options: Any,
) -> list[dict[str, Any]]:
    """Scores for every budget × line item pair of `payload`, in input order (see module doc)."""
    client = ScoresClient(function_name, region, mirror_regions, **options)
    return client.score(payload).items
