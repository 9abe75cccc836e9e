"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send the handler's log lines (file descriptor 1) to /dev/null while timing."""
    saved = os.dup(1)
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def as_the_runtime_sends(answer: object) -> bytes:
    """The handler's return value as the runtime interface client posts it (awslambdaric's
    marshaller: bytes unchanged, anything else through its JSON encoder)."""
    from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

    sent, _ = LambdaMarshaller().marshal_response(answer)
    return sent if isinstance(sent, bytes) else sent.encode("utf-8")
