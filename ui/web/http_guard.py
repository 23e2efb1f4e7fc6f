"""uvicorn's HTTP/1.1 protocol (httptools) with the limits it lacks, for a server that
faces visitors without a proxy in front (`make run`):

- a request's head (request line and headers) may be at most `MAX_HEAD_BYTES`: more is
  answered 431 and the connection closed (httptools has no cap: a 96 MB header held the
  event loop for seconds in a security audit);
- a head must arrive within `HEAD_SECONDS` of the connection opening or of the request
  starting, and a body within `BODY_SECONDS` of its head; a connection that trickles
  bytes (slowloris) or sends nothing is closed instead of being held open forever.

The timers are armed and cancelled with the parser's callbacks; a long response (the
chat's event stream) is not limited, and a WebSocket leaves these limits behind once
upgraded. How many connections one server holds is uvicorn's `limit_concurrency`
(ui/web/server.py).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024
HEAD_SECONDS = 15.0
BODY_SECONDS = 60.0
_TOO_LARGE = "the request's headers are too large"


class GuardedHttpProtocol(HttpToolsProtocol):
    max_head_bytes = MAX_HEAD_BYTES
    head_seconds = HEAD_SECONDS
    body_seconds = BODY_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0  # bytes read while in a head (a head not yet parsed counts)
        self._parsed = 0  # the head's request line and headers as parsed, exactly
        self._in_head = True
        self._refused = False
        self._deadline: asyncio.TimerHandle | None = None
        self._arm(self.head_seconds)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            if self._head_bytes > self.max_head_bytes:  # an unfinished head, read so far
                self._refuse_head()
                return
            self._head_bytes += len(data)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # a next request on a kept-alive connection
            self._in_head, self._head_bytes = True, 0
            self._arm(self.head_seconds)
        self._parsed = 0

    def on_url(self, url: bytes) -> None:
        if self._counted(len(url)):
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._counted(len(name) + len(value) + 4):  # "name: value\r\n"
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:  # the rest of a read the head was refused in: nothing runs
            return
        self._in_head = False
        self._arm(self.body_seconds)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        if not self._refused:
            super().on_message_complete()

    def _counted(self, size: int) -> bool:
        """Count `size` bytes of the head as parsed; False (and the head refused) once
        the head is over the cap, even when it came in one read."""
        self._parsed += size
        if self._parsed > self.max_head_bytes and not self._refused:
            self._refuse_head()
        return not self._refused

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse_head(self) -> None:
        self._refused = True
        self._disarm()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(_TOO_LARGE)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + _TOO_LARGE.encode())
        self.transport.close()
