"""Live metrics of every answer: a CloudWatch EMF log line and, optionally, DogStatsD over UDP.

The EMF document comes from Powertools' `Metrics` (serialised once per model version and set of
metrics, then each answer's timestamp and figures put in; written to the injected stream): the
handler's Powertools Logger import already loads it, so it adds nothing measurable
to a cold start (bench/monitor_emf_cold_start.py: ~0.2 ms for import + one document).

EMF (CloudWatch Embedded Metric Format): one JSON log line,
`{"_aws": {"Timestamp": ms, "CloudWatchMetrics": [{"Namespace", "Dimensions": [["service",
"model_version"]], "Metrics": [{"Name", "Unit"}]}]}, "service": ..., "model_version": ...,
"PairsScored": [n], "MatchRate": [r], "ErrorItems": [e], "LatencyMs": [t]}`.

DogStatsD (when `BEM_DOGSTATSD=host:port`): one UDP datagram per answer holding
`bem.pairs_scored:n|c`, `bem.match_rate:r|g`, `bem.error_items:e|c`, `bem.latency_ms:t|d`,
each tagged `#service:...,model_version:...`. UDP: nothing waits for the agent.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np
from aws_lambda_powertools.metrics import Metrics, MetricUnit

from budget_matcher import SERVICE_NAME, config


@dataclass(frozen=True)
class RequestMetrics:
    """The figures of one answer.

    pairs_scored = items with a numeric score; match_rate = matched / pairs_scored (None when
    nothing was scored); error_items = items carrying an error; latency_ms = handler duration.
    """

    model_version: str
    pairs_scored: int
    match_rate: float | None
    error_items: int
    latency_ms: float


def metrics_from_outcome(outcome: Any) -> RequestMetrics:
    """Count the figures of a `ScoringOutcome` (from its score and decision arrays when it
    has them, else from its items)."""
    scores = getattr(outcome, "scores", None)
    matched = getattr(outcome, "matched", None)
    if scores is not None and matched is not None:
        rest = outcome.items[len(scores) :]  # the error items after the scored pairs
        n_scored = len(scores) + sum(1 for item in rest if item.get("score") is not None)
        # `matched` is decided per user (budget_matcher.decisions), not `score >= threshold`
        n_matched = int(np.count_nonzero(matched))
        return RequestMetrics(
            model_version=str(outcome.model_version or "unknown"),
            pairs_scored=n_scored,
            match_rate=n_matched / n_scored if n_scored else None,
            error_items=sum(1 for item in rest if item.get("error")),
            latency_ms=float(outcome.duration_ms or 0.0),
        )
    scored = [item for item in outcome.items if item.get("score") is not None]
    matched = sum(1 for item in scored if item.get("matched") is True)
    errors = sum(1 for item in outcome.items if item.get("error"))
    return RequestMetrics(
        model_version=str(outcome.model_version or "unknown"),
        pairs_scored=len(scored),
        match_rate=matched / len(scored) if scored else None,
        error_items=errors,
        latency_ms=float(outcome.duration_ms or 0.0),
    )


# Powertools `Metrics` emitters by (namespace, service), built on first use. Emitters share
# their metric set (a Powertools class attribute) and each document clears it before and after.
_EMITTERS: dict[tuple[str, str], Metrics] = {}
# Powertools' documents as JSON by (namespace, service, model version, metric names): the
# shape of every later document with the same key (see `emf_document`).
_SHAPES: dict[tuple[str, str, str, tuple[str, ...]], str] = {}


def emf_document(
    metrics: RequestMetrics, namespace: str, service: str, timestamp_ms: int
) -> dict[str, Any]:
    """The EMF document of one answer (MatchRate left out when nothing was scored).

    Powertools builds the document once per namespace, service, model version and set of
    metrics (its validation, units, dimensions and key order); each answer then only puts its
    timestamp and figures into a fresh copy, each figure as Powertools stores it (a one-float
    list): the same document, without Powertools' per-metric checks and debug formatting."""
    figures: dict[str, float] = {
        "PairsScored": metrics.pairs_scored,
        "ErrorItems": metrics.error_items,
        "LatencyMs": round(metrics.latency_ms, 3),
    }
    if metrics.match_rate is not None:
        figures["MatchRate"] = round(metrics.match_rate, 6)
    key = (namespace, service, metrics.model_version, tuple(figures))
    shape = _SHAPES.get(key)
    if shape is None:
        document = _powertools_document(metrics.model_version, namespace, service, figures)
        shape = _SHAPES[key] = json.dumps(document)
    document = json.loads(shape)
    document["_aws"]["Timestamp"] = timestamp_ms
    for name, value in figures.items():
        document[name] = [float(value)]
    return document


_UNITS = {
    "PairsScored": MetricUnit.Count,
    "ErrorItems": MetricUnit.Count,
    "LatencyMs": MetricUnit.Milliseconds,
    "MatchRate": MetricUnit.NoUnit,
}


def _powertools_document(
    model_version: str, namespace: str, service: str, figures: dict[str, float]
) -> dict[str, Any]:
    """The document Powertools' `Metrics` serialises for these figures (timestamp now)."""
    emitter = _EMITTERS.get((namespace, service))
    if emitter is None:  # one per namespace and service: building one costs more than using it
        emitter = _EMITTERS[(namespace, service)] = Metrics(namespace=namespace, service=service)
    emitter.clear_metrics()
    emitter.add_dimension(name="model_version", value=model_version)
    for name, value in figures.items():
        emitter.add_metric(name=name, unit=_UNITS[name], value=value)
    try:
        return dict(emitter.serialize_metric_set())
    finally:
        emitter.clear_metrics()


def dogstatsd_payload(metrics: RequestMetrics, service: str) -> str:
    """The DogStatsD datagram of one answer (metrics separated by newlines)."""
    tags = f"#service:{_tag(service)},model_version:{_tag(metrics.model_version)}"
    lines = [
        f"bem.pairs_scored:{metrics.pairs_scored}|c|{tags}",
        f"bem.error_items:{metrics.error_items}|c|{tags}",
        f"bem.latency_ms:{metrics.latency_ms:.3f}|d|{tags}",
    ]
    if metrics.match_rate is not None:
        lines.append(f"bem.match_rate:{metrics.match_rate:.6f}|g|{tags}")
    return "\n".join(lines)


def _tag(value: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-/" else "_" for ch in value)


def parse_host_port(value: str) -> tuple[str, int]:
    """'host:port' -> (host, port)."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected host:port, got {value!r}")
    return host, int(port)


class LiveMetrics:
    """Emits the metrics of each answer; settings: argument > environment > default."""

    def __init__(
        self,
        namespace: str | None = None,
        service: str | None = None,
        emf_enabled: bool | None = None,
        dogstatsd: str | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.namespace = namespace or config.env_str(
            config.ENV_METRICS_NAMESPACE, config.DEFAULT_METRICS_NAMESPACE
        )
        self.service = service or config.env_str(config.ENV_SERVICE_NAME, SERVICE_NAME)
        if emf_enabled is None:
            emf_enabled = os.environ.get(config.ENV_EMF_ENABLED, "1") != "0"
        self.emf_enabled = emf_enabled
        target = dogstatsd if dogstatsd is not None else os.environ.get(config.ENV_DOGSTATSD, "")
        self.dogstatsd = parse_host_port(target) if target else None
        self.stream = stream
        self.clock = clock
        self._socket: Any = None

    def emit(self, outcome: Any) -> RequestMetrics | None:
        """Write the EMF line and send the DogStatsD datagram for one answer.

        Answers without items (GET service info, refused methods) emit nothing.
        """
        if not outcome.items:
            return None
        metrics = metrics_from_outcome(outcome)
        if self.emf_enabled:
            document = emf_document(metrics, self.namespace, self.service, int(self.clock() * 1000))
            out = self.stream or sys.stdout
            out.write(json.dumps(document, separators=(",", ":")) + "\n")
            out.flush()
        if self.dogstatsd is not None:
            if self._socket is None:
                import socket  # only when DogStatsD is configured

                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._socket.setblocking(False)
            payload = dogstatsd_payload(metrics, self.service).encode("utf-8")
            with contextlib.suppress(OSError):  # no agent listening: metrics are best effort
                self._socket.sendto(payload, self.dogstatsd)
        return metrics

    def close(self) -> None:
        """Close the UDP socket."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
