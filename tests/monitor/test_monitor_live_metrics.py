"""Live metrics (EMF, DogStatsD) and the side paths' promise never to raise."""

from __future__ import annotations

import io
import json
import logging
import socket
from typing import Any

import pytest
from monitor_helpers import make_outcome

from budget_matcher import contract as c
from budget_matcher import side_paths
from budget_matcher.live_metrics import LiveMetrics
from budget_matcher.results_sink import ResultsSink, rows_from_line


def _emf(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if '"_aws"' in line]


def test_emf_line_has_namespace_dimensions_and_figures(batch_payload: Any) -> None:
    outcome = make_outcome(batch_payload, scores=None)
    stream = io.StringIO()
    LiveMetrics(stream=stream, dogstatsd="", clock=lambda: 1_795_000_000.5).emit(outcome)
    (document,) = _emf(stream)
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert document["_aws"]["Timestamp"] == 1_795_000_000_500
    assert directive["Namespace"] == "BudgetExpenseMatcher"
    assert sorted(directive["Dimensions"][0]) == ["model_version", "service"]
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {
        "PairsScored": "Count",
        "ErrorItems": "Count",
        "LatencyMs": "Milliseconds",
        "MatchRate": "None",
    }
    scored = [i for i in outcome.items if i["score"] is not None]
    matched = sum(1 for i in scored if i["matched"])
    assert document["PairsScored"] == [len(scored)]
    assert document["MatchRate"] == [pytest.approx(matched / len(scored))]
    assert document["ErrorItems"] == [0]
    assert document["LatencyMs"] == [4.5]
    assert document["model_version"] == "2026.1"
    assert document["service"] == "budget-expense-matcher"


def test_emf_leaves_out_match_rate_when_nothing_was_scored() -> None:
    outcome = make_outcome({"budgets": "not a list"})
    stream = io.StringIO()
    metrics = LiveMetrics(stream=stream, dogstatsd="", namespace="Test", service="svc")
    metrics.emit(outcome)
    (document,) = _emf(stream)
    assert "MatchRate" not in document
    assert document["ErrorItems"] == [len(outcome.items)] and document["ErrorItems"][0] >= 1
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Test"
    outcome.items = []  # e.g. GET service info: no metrics at all
    assert metrics.emit(outcome) is None
    assert len(_emf(stream)) == 1


def test_dogstatsd_datagram_over_udp(batch_payload: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as agent:
        agent.bind(("127.0.0.1", 0))
        agent.settimeout(5)
        monkeypatch.setenv("BEM_DOGSTATSD", f"127.0.0.1:{agent.getsockname()[1]}")
        monkeypatch.setenv("BEM_EMF_ENABLED", "0")
        stream = io.StringIO()
        metrics = LiveMetrics(stream=stream)
        metrics.emit(make_outcome(batch_payload))
        payload = agent.recv(65535).decode()
        metrics.close()
    assert stream.getvalue() == ""  # EMF switched off by the environment
    lines = dict(line.split(":", 1) for line in payload.splitlines())
    assert lines["bem.pairs_scored"].startswith("3|c|#service:budget-expense-matcher")
    assert "model_version:2026.1" in lines["bem.pairs_scored"]
    assert lines["bem.latency_ms"].startswith("4.500|d|")
    assert lines["bem.match_rate"].split("|")[1] == "g"
    assert lines["bem.error_items"].startswith("0|c|")


def test_dogstatsd_without_an_agent_is_silent(batch_payload: Any) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metrics = LiveMetrics(stream=io.StringIO(), dogstatsd=f"127.0.0.1:{port}")
    for _ in range(3):  # ICMP port-unreachable errors surface on later sends
        assert metrics.emit(make_outcome(batch_payload)) is not None
    metrics.close()


class _BrokenSink(ResultsSink):
    def write(self, rows: Any) -> str:
        raise RuntimeError("disk on fire")


class _BrokenMetrics(LiveMetrics):
    def emit(self, outcome: Any) -> Any:
        raise OSError("no stdout")


def test_publish_never_raises_and_reports_each_side_path(
    batch_payload: Any, caplog: pytest.LogCaptureFixture
) -> None:
    side_paths.configure(
        _BrokenSink(db_url="", log_lines="full"), _BrokenMetrics(stream=io.StringIO())
    )
    with caplog.at_level(logging.ERROR):
        published = side_paths.publish(make_outcome(batch_payload))
    assert published.results == "failed" and published.metrics is False
    assert "results side path failed" in caplog.text
    assert "metrics side path failed" in caplog.text

    stream = io.StringIO()
    side_paths.configure(
        _BrokenSink(db_url="", log_lines="full"), LiveMetrics(stream=stream, dogstatsd="")
    )
    assert side_paths.publish(make_outcome(batch_payload)).metrics is True  # one fault only
    assert len(_emf(stream)) == 1


def test_publish_survives_a_malformed_outcome() -> None:
    outcome = make_outcome({c.BUDGETS_KEY: []})
    outcome.items = [{"score": "high", "budget_id": 1, "itemization_id": 2, "matched": "yes"}]
    stream = io.StringIO()
    sink = ResultsSink(db_url="", stream=stream, log_lines="full")
    side_paths.configure(sink, LiveMetrics(stream=io.StringIO()))
    published = side_paths.publish(outcome)
    assert published.rows == 1 and published.results == "none"
    (row,) = rows_from_line(stream.getvalue()) or []
    assert (row["score"], row["matched"], row["budget_id"]) == (None, None, "1")


def test_metrics_from_the_score_array_equal_the_count_over_items() -> None:
    import numpy as np

    from budget_matcher.live_metrics import metrics_from_outcome

    payload = {
        c.USERS_KEY: [
            {
                c.BUDGETS_KEY: [{c.BUDGET_ID: f"b{u}-{k}"} for k in range(3)]
                + [{c.BUDGET_ID: f"bad{u}", c.BUDGET_PRICE: "not a number"}],
                c.LINE_ITEMS_KEY: [{c.ITEM_ID: f"i{u}-{k}"} for k in range(4)],
            }
            for u in range(5)
        ]
    }
    scores = np.random.default_rng(3).random(60)
    outcome = make_outcome(payload, scores=scores, threshold=0.4)
    assert len(outcome.items) == 80  # 60 scored pairs, then 20 error items
    by_items = metrics_from_outcome(outcome)
    outcome.scores = scores
    assert metrics_from_outcome(outcome) == by_items
    assert by_items.pairs_scored == 60 and by_items.error_items == 20
