"""Lambda entry point `lambda_handler.handler`: event in, response out, never an exception.

Path of a request: events.parse_event → FlattenedDataPoints → features → predict → responses,
then one structured log line and the side paths (results store, metrics), whose faults are
logged and never reach the client.
"""

from __future__ import annotations

import os

# One BLAS thread: Lambda's CPU share is small and every extra thread costs memory at start.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import ctypes  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import predict  # noqa: E402
from budget_matcher import config, events, responses  # noqa: E402
from budget_matcher import contract as c  # noqa: E402
from budget_matcher import side_paths as side_paths_module  # noqa: E402
from budget_matcher.outcome import ScoringOutcome  # noqa: E402
from budget_matcher.request_log import log_request, logger  # noqa: E402
from budget_matcher.scoring import score_payload  # noqa: E402


def preload_shared_libraries(lib_dir: Path) -> list[str]:
    """Load every shared library under `lib_dir` (not `.a`) once; returns the loaded names.

    Libraries that need another one first are retried until a pass loads nothing new.
    """
    if not lib_dir.is_dir():
        return []
    pending = sorted(p for p in lib_dir.rglob("*") if p.is_file() and p.suffix != ".a")
    loaded: list[str] = []
    while pending:
        failed = []
        for path in pending:
            try:
                ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
                loaded.append(path.name)
            except OSError:
                failed.append(path)
        if len(failed) == len(pending):
            logger.warning("shared libraries not loaded", extra={"libs": [p.name for p in failed]})
            break
        pending = failed
    return loaded


PRELOADED = preload_shared_libraries(config.env_path(config.ENV_LIB_DIR, config.DEFAULT_LIB_DIR))


def _warm_model() -> None:
    """Load the model during Lambda's init phase; a failure is kept and answered per request."""
    try:
        predict.get_model()
    except predict.ModelUnavailable as error:
        logger.warning("model unavailable", extra={"code": error.code, "reason": error.message})


_warm_model()
_cold_start = True


def handler(event: Any, context: Any) -> Any:
    """Score the budgets × line items of the event; answer in the event source's shape."""
    global _cold_start
    started = time.perf_counter()
    received_at = datetime.now(UTC)
    request_id = str(getattr(context, "aws_request_id", "") or uuid.uuid4())
    request = events.parse_event(event)
    try:
        response, outcome = _answer(request, request_id, received_at, started)
    except Exception as error:  # the last guard: a bug must still give the client an answer
        logger.exception("unexpected failure")
        response, outcome = _internal_error(request, request_id, received_at, started, error)
    log_request(
        {
            "request_id": request_id,
            "source": request.source,
            "method": request.method,
            "cold_start": _cold_start,
            "users": outcome.n_users,
            "pairs": len(outcome.items),
            "errors": outcome.n_errors,
            "model_version": outcome.model_version,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        },
        request.raw_body if request.raw_body is not None else request.payload,
        outcome.items,
    )
    _cold_start = False
    try:
        side_paths_module.publish(outcome)
    except Exception:
        logger.exception("side path failed; the answer is unaffected")
    return response


def _answer(
    request: events.ClientRequest, request_id: str, received_at: datetime, started: float
) -> tuple[Any, ScoringOutcome]:
    try:
        model: predict.LoadedModel | None = predict.get_model()
        unavailable = None
    except predict.ModelUnavailable as error:
        model, unavailable = None, error
    version = model.version if model else None
    threshold = model.threshold if model else None
    outcome = ScoringOutcome(
        request_id, received_at, 0.0, version, threshold, [], None, None, 0, 0, request.source
    )

    if request.method == "GET":
        info = responses.service_info(version, threshold, model.form if model else None)
        if unavailable is not None:
            info["model_error"] = {"code": unavailable.code, "message": unavailable.message}
        return _http(200, info, request_id, version, threshold), outcome
    if request.method != "POST":
        refusal = {"error": c.error_body("method_not_allowed", "use POST or GET")}
        return _http(405, refusal, request_id, version, threshold), outcome
    if request.problem is not None:
        outcome.items = [c.error_item(**request.problem)]
        outcome.n_errors = 1
        if request.is_http:
            return _http(400, {"error": request.problem}, request_id, version, threshold), outcome
        return outcome.items, outcome

    scored = score_payload(request.payload, model, unavailable)
    batch = scored.batch
    outcome.pairs, outcome.n_users = batch.pairs, batch.n_users
    outcome.features = scored.features
    outcome.items = scored.items
    outcome.n_errors = sum(1 for item in outcome.items if "error" in item)
    outcome.duration_ms = (time.perf_counter() - started) * 1000

    wanted = batch.response_format or request.query.get("format")
    wanted = wanted or config.env_str(config.ENV_RESPONSE_FORMAT, config.DEFAULT_RESPONSE_FORMAT)
    body: Any = outcome.items
    if wanted == "envelope":
        body = responses.envelope(outcome.items, request_id, version, threshold, batch.n_users)
    if not request.is_http:
        return body, outcome
    status = 200 if model is not None else 503
    return _http(status, body, request_id, version, threshold), outcome


def _http(
    status: int, body: Any, request_id: str, version: str | None, threshold: float | None
) -> dict[str, Any]:
    return responses.http_response(status, body, request_id, version, threshold)


def _internal_error(
    request: events.ClientRequest,
    request_id: str,
    received_at: datetime,
    started: float,
    error: Exception,
) -> tuple[Any, ScoringOutcome]:
    message = f"internal error ({type(error).__name__}); request id {request_id}"
    items = [c.error_item("internal_error", message)]
    outcome = ScoringOutcome(
        request_id,
        received_at,
        (time.perf_counter() - started) * 1000,
        None,
        None,
        items,
        None,
        None,
        0,
        1,
        request.source,
    )
    if request.is_http:
        return _http(500, {"error": items[0]["error"]}, request_id, None, None), outcome
    return items, outcome
