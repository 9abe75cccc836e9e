"""The connection layer of `bem serve`: deadlines, strict framing and the connection cap.

`http.server` applies its socket timeout per read: a client that sends one byte just before
each timeout keeps a connection (and a slot under the cap) forever. Here:

- a request has a whole deadline, REQUEST_DEADLINE_S from its first byte until its body is
  read (headers and body together); between requests a keep-alive connection may stay idle
  for the idle timeout, no longer;
- at the connection cap, the connection that has waited longest while sending a request (not
  one whose request is being answered) is closed to make room, so slow connections do not hold
  the cap; only when every connection is being answered is a new one refused;
- framing a proxy could read otherwise is refused with 400 (request smuggling): two different
  Content-Length values, a Transfer-Encoding other than `chunked`, both Transfer-Encoding and
  Content-Length, a folded header line (obs-fold) or a header name with white space;
- an HTTP/0.9 request line (`GET /path`, no version: no headers follow) is answered at once
  with 400 instead of waiting for headers that never come.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from email.message import Message
from typing import Any

REQUEST_DEADLINE_S = 30.0
_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class FramingError(ValueError):
    """Headers whose framing is ambiguous or obsolete (answered 400, connection closed)."""


class DeadlineReader(io.RawIOBase):
    """The socket's bytes, each read bounded by what is left of the request's deadline.

    `start_request()` arms the deadline at the next byte that arrives; until then a read
    waits at most `idle_s` (the keep-alive idle bound). The socket's timeout is put back to
    `idle_s` after every read, so writes keep their usual bound."""

    def __init__(self, connection: socket.socket, idle_s: float) -> None:
        super().__init__()
        self.connection = connection
        self.idle_s = idle_s
        self.deadline: float | None = None
        self._armed = False

    def readable(self) -> bool:
        return True

    def start_request(self) -> None:
        """The next byte starts a request: its deadline runs from then."""
        self.deadline, self._armed = None, True

    def request_read(self) -> None:
        """The request is read in full: no deadline while it is answered."""
        self.deadline, self._armed = None, False

    def readinto(self, buffer: Any) -> int:
        timeout = self.idle_s
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("request deadline passed")
            timeout = min(timeout, left)
        self.connection.settimeout(timeout)
        try:
            count = self.connection.recv_into(buffer)
        finally:
            self.connection.settimeout(self.idle_s)
        if count and self._armed and self.deadline is None:
            self.deadline = time.monotonic() + REQUEST_DEADLINE_S
        return count


def check_framing(headers: Message) -> None:
    """FramingError for framing that a proxy in front could read another way (module doc)."""
    if headers.defects or headers.get_payload():  # a line that is no `name: value` header
        raise FramingError("malformed header line")
    for name, value in headers.items():
        if not name or not _TCHAR.issuperset(name.encode("latin-1", "replace")):
            raise FramingError(f"bad header name {name[:40]!r}")
        if "\n" in value or "\r" in value:
            raise FramingError(f"folded header line (obs-fold) in {name[:40]}")
    lengths = {value.strip() for value in headers.get_all("Content-Length") or []}
    if len(lengths) > 1:
        raise FramingError("more than one Content-Length")
    codings = headers.get_all("Transfer-Encoding") or []
    if codings:
        if [c.strip().lower() for c in ",".join(codings).split(",")] != ["chunked"]:
            raise FramingError(f"unsupported Transfer-Encoding {', '.join(codings)[:40]!r}")
        if lengths:
            raise FramingError("both Transfer-Encoding and Content-Length")


class ConnectionSlots:
    """The open connections of a server, at most `limit`; at the limit the one that has been
    sending its request longest is closed to make room (module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reading: dict[socket.socket, float] = {}  # sending a request, since
        self._answering: set[socket.socket] = set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._reading) + len(self._answering)

    def admit(self, connection: socket.socket, limit: int) -> bool:
        """Take a slot for `connection`, closing the longest-waiting reader at the limit;
        False when every slot is answering a request."""
        with self._lock:
            if len(self._reading) + len(self._answering) >= limit:
                if not self._reading:
                    return False
                oldest = min(self._reading, key=self._reading.__getitem__)
                del self._reading[oldest]
                with contextlib.suppress(OSError):  # its thread sees the end and leaves
                    oldest.shutdown(socket.SHUT_RDWR)
            self._reading[connection] = time.monotonic()
            return True

    def answering(self, connection: socket.socket) -> None:
        """Its request is read: it is not evicted while it is answered."""
        with self._lock:
            if self._reading.pop(connection, None) is not None:
                self._answering.add(connection)

    def reading(self, connection: socket.socket) -> None:
        """Answered; it waits for (or reads) its next request."""
        with self._lock:
            if connection in self._answering:
                self._answering.discard(connection)
                self._reading[connection] = time.monotonic()

    def release(self, connection: socket.socket) -> None:
        """The connection is closed."""
        with self._lock:
            self._reading.pop(connection, None)
            self._answering.discard(connection)
