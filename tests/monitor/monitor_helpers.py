"""Helpers shared by the monitoring tests (a uniquely named module, importable from tests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from budget_matcher import responses
from budget_matcher.decisions import decide
from budget_matcher.outcome import ScoringOutcome
from flattened_data_points import FlattenedDataPoints

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load_event(name: str) -> Any:
    """A JSON fixture from tests/events/."""
    return json.loads((EVENTS / name).read_text())


def make_outcome(
    payload: Any,
    request_id: str = "req-1",
    scores: np.ndarray | None = None,
    threshold: float = 0.5,
    model_version: str = "2026.1",
    received_at: datetime | None = None,
    seed: int | None = None,
) -> ScoringOutcome:
    """A ScoringOutcome from the real flattening; scores given, random by `seed`, or spread."""
    batch = FlattenedDataPoints(payload).all()
    n = len(batch.pairs)
    if scores is None and seed is not None:
        scores = np.random.default_rng(seed).random(n)
    if scores is None:
        scores = np.linspace(0.05, 0.95, n) if n else np.zeros(0)
    matched = decide(batch.pairs, scores, threshold)
    items = responses.scored_items(batch.pairs, scores, matched) + batch.error_items
    return ScoringOutcome(
        request_id=request_id,
        received_at=received_at or datetime(2026, 11, 20, 12, 30, tzinfo=UTC),
        duration_ms=4.5,
        model_version=model_version,
        threshold=threshold,
        items=items,
        pairs=batch.pairs,
        features=None,
        n_users=batch.n_users,
        n_errors=sum(1 for item in items if "error" in item),
        source="direct",
    )


class SmtpSink:
    """A minimal SMTP server on 127.0.0.1 that keeps the raw messages it receives."""

    def __init__(self) -> None:
        import socketserver
        import threading

        self.messages: list[bytes] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 localhost test SMTP\r\n")
                while line := self.rfile.readline():
                    command = line.strip().upper()
                    if command.startswith((b"EHLO", b"HELO")):
                        self.wfile.write(b"250 localhost\r\n")
                    elif command == b"DATA":
                        self.wfile.write(b"354 end with .\r\n")
                        body = bytearray()
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            body += chunk
                        sink.messages.append(bytes(body))
                        self.wfile.write(b"250 queued\r\n")
                    elif command == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
