"""Lambda entry point `lambda_handler.handler`: event in, response out, never an exception.

Path of a request: events.parse_event → FlattenedDataPoints → features → predict → responses,
then one structured log line and the side paths (results store, metrics), whose faults are
logged and never reach the client. `answer` is the same call for Python callers: it returns the
answer as Python values; `handler` returns it encoded once as JSON bytes, which the runtime
interface client sends on as they are (budget_matcher.encoding).
"""

from __future__ import annotations

import gc
import os

# Init keeps nearly all it allocates (modules, the model): collecting during it is wasted work
# (~1.3 % of a cold start's instructions). Collection is on again once init is done.
_COLLECTING = gc.isenabled()
gc.disable()
# One BLAS thread: Lambda's CPU share is small and every extra thread costs memory at start.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import predict  # noqa: E402
from budget_matcher import config, encoding, events, responses  # noqa: E402
from budget_matcher import contract as c  # noqa: E402
from budget_matcher import side_paths as side_paths_module  # noqa: E402
from budget_matcher.answer_size import AnswerShape  # noqa: E402
from budget_matcher.outcome import AnswerStamp, Response, ScoringOutcome  # noqa: E402
from budget_matcher.preload import preload_shared_libraries  # noqa: E402
from budget_matcher.request_log import log_request, logger  # noqa: E402
from budget_matcher.scoring import ScoredPayload, score_payload  # noqa: E402
from flattened_data_points import DEFAULT_ANSWER_BYTES, DEFAULT_MAX_PAIRS_PER_CALL  # noqa: E402

Array = np.ndarray


PRELOADED = preload_shared_libraries(
    config.env_path(config.ENV_LIB_DIR, config.DEFAULT_LIB_DIR),
    config.env_path(config.ENV_MODEL_DIR, config.DEFAULT_MODEL_DIR),
)


def _warm_model() -> None:
    """Load the model during Lambda's init phase; a failure is kept and answered per request."""
    try:
        model = predict.get_model()
        fields = {"version": model.version, "form": model.form, "evaluator": model.evaluator}
        if model.evaluator_note:
            fields["evaluator_note"] = model.evaluator_note
        shipped = predict.TREES_FILE in (model.card.get("artifacts") or {})
        if model.evaluator == "numpy" and shipped:  # the build's library is there but unused
            logger.warning("model loaded", extra=fields)
        else:
            logger.info("model loaded", extra=fields)
    except predict.ModelUnavailable as error:
        logger.warning("model unavailable", extra={"code": error.code, "reason": error.message})


_warm_model()
if _COLLECTING:
    gc.enable()
_cold_start = True
# The largest answer one call gives (Lambda's 6 MB response bound; flattened_data_points).
ANSWER_BYTES = DEFAULT_ANSWER_BYTES
MAX_PAIRS_PER_CALL = DEFAULT_MAX_PAIRS_PER_CALL  # candidate pairs one call computes
RUNTIME_PASSES_BYTES = encoding.runtime_passes_bytes()


def handler(event: Any, context: Any) -> Any:
    """The Lambda entry: `answer`, as JSON bytes where the runtime sends bytes on unchanged."""
    value = answer(event, context)
    if not RUNTIME_PASSES_BYTES:
        return value
    try:
        return encoding.dumps(value)
    except Exception:  # an unencodable answer: the runtime's own encoder reports it
        logger.exception("answer not encoded; the runtime encodes it")
        return value


def answer(event: Any, context: Any) -> Any:
    """Score the budgets × line items of the event; answer in the event source's shape.

    One guard covers everything from reading the event to shaping the answer: whatever the
    event holds, the caller gets an answer (an `internal_error` item, HTTP 500, at worst).
    """
    global _cold_start
    started = time.perf_counter()
    received_at = datetime.now(UTC)
    request_id = _request_id(context)
    stamp = AnswerStamp(request_id)
    request = events.ClientRequest(events.source_of(event))
    try:
        request = events.parse_event(event)
        model, unavailable = _model()
        stamp = AnswerStamp(
            request_id,
            model.version if model else unavailable.version if unavailable else None,
            model.threshold if model else None,
        )
        response, items, scored = _answer(request, model, unavailable, stamp)
        shaped = response.for_event(request.is_http, stamp)
    except Exception as error:  # the last guard: a bug must still give the client an answer
        logger.exception("unexpected failure")
        message = f"internal error ({type(error).__name__}); request id {request_id}"
        items = [c.error_item("internal_error", message)]
        scored, model = None, None
        response = Response(500, {"error": items[0]["error"]} if request.is_http else items)
        shaped = response.for_event(request.is_http, stamp)
    outcome = ScoringOutcome(
        request_id=request_id,
        received_at=received_at,
        source=request.source,
        duration_ms=(time.perf_counter() - started) * 1000,
        model_version=stamp.model_version,
        threshold=stamp.threshold,
        items=items,
        pairs=scored.batch.pairs if scored else None,
        features=scored.features if scored else None,
        n_users=scored.batch.n_users if scored else 0,
        n_errors=_count_errors(items, scored.scores if scored else None),
        evaluator=model.evaluator if model else None,
        scores=scored.scores if scored else None,
        matched=scored.matched if scored else None,
    )
    _after_answer(request, outcome, started)
    _cold_start = False
    return shaped


def _count_errors(items: list[dict[str, Any]], scores: np.ndarray | None) -> int:
    """Error items of the answer; the first len(scores) items are scored pairs, never errors."""
    start = len(scores) if scores is not None else 0
    return sum(1 for item in items[start:] if "error" in item)


def _request_id(context: Any) -> str:
    try:
        return str(getattr(context, "aws_request_id", "") or uuid.uuid4())
    except Exception:
        return str(uuid.uuid4())


def _model() -> tuple[predict.LoadedModel | None, predict.ModelUnavailable | None]:
    try:
        return predict.get_model(), None
    except predict.ModelUnavailable as error:
        return None, error


def _answer(
    request: events.ClientRequest,
    model: predict.LoadedModel | None,
    unavailable: predict.ModelUnavailable | None,
    stamp: AnswerStamp,
) -> tuple[Response, list[dict[str, Any]], ScoredPayload | None]:
    """The response, its items, and the scored payload when the request was scored."""
    if request.method == "GET":
        info = responses.service_info(
            stamp.model_version,
            stamp.threshold,
            model.form if model else None,
            model.evaluator if model else None,
        )
        if unavailable is not None:
            info["model_error"] = {"code": unavailable.code, "message": unavailable.message}
        return Response(200, info), [], None
    if request.method != "POST":
        refusal = {"error": c.error_body("method_not_allowed", "use POST or GET")}
        return Response(405, refusal), [], None
    if request.problem is not None:
        items = [c.error_item(**request.problem)]
        refused = {"error": request.problem} if request.is_http else items
        return Response(400, refused), items, None

    shape = AnswerShape(request.response_format, escaped=request.is_http)
    scored = score_payload(
        request.payload,
        model,
        unavailable,
        answer_bytes=ANSWER_BYTES,
        max_pairs_per_call=MAX_PAIRS_PER_CALL,
        shape=shape,
    )
    body: Any = scored.items
    if request.response_format == c.COLUMNS_FORMAT:
        body = scored.columns()
    elif request.response_format == "envelope":
        body = responses.envelope(
            scored.items,
            stamp.request_id,
            stamp.model_version,
            stamp.threshold,
            scored.batch.n_users,
            scored.matched,
        )
    status = 200 if model is not None else 503
    return Response(status, body), scored.items, scored


def _after_answer(request: events.ClientRequest, outcome: ScoringOutcome, started: float) -> None:
    """The request's log line and side paths; their faults are logged, never raised."""
    try:
        log_request(
            {
                "request_id": outcome.request_id,
                "source": request.source,
                "method": request.method,
                "cold_start": _cold_start,
                "users": outcome.n_users,
                "pairs": len(outcome.items),
                "errors": outcome.n_errors,
                "model_version": outcome.model_version,
                "evaluator": outcome.evaluator,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            },
            request.raw_body if request.raw_body is not None else request.payload,
            outcome.items,
        )
    except Exception:
        logger.exception("request log line failed; the answer is unaffected")
    try:
        side_paths_module.publish(outcome)
    except Exception:
        logger.exception("side path failed; the answer is unaffected")
