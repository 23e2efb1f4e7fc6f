"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, on a port picked up front.

The handler records every message it accepts and can be scripted to misbehave:
reply 451 to the next N messages, reply 550 to everything, refuse the recipient, or
store the next N messages and then stall past the client's timeout (the ambiguous
failure). `TlsRecordingHandler` also notes whether each envelope arrived encrypted, and
`SmtpServer` passes extra options (`tls_context`, `require_starttls`, `ssl_context`)
through to aiosmtpd's Controller for STARTTLS and implicit-TLS servers.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A port nothing listens on (aiosmtpd refuses port 0, so bind-and-close first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=email_policy.default)  # type: ignore[return-value]


class RecordingHandler:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.attempts = 0  # DATA commands seen, accepted or not
        self.fail_next = 0  # reply 451 to this many messages
        self.reject = False  # reply 550 to every message
        self.stall_next = 0  # store, then sleep `stall_seconds` before replying
        self.stall_seconds = 3.0
        self.rcpt_reply = ""  # e.g. "550 5.1.1 No such user" to refuse the recipient
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.attempts += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                return "451 4.3.0 Temporary local problem, try again later"
            if self.reject:
                return "550 5.1.1 Mailbox unavailable"
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos),
                                          bytes(envelope.original_content or envelope.content)))
            stall = self.stall_next > 0
            self.stall_next -= 1 if stall else 0
        if stall:
            await asyncio.sleep(self.stall_seconds)
        return "250 2.0.0 OK"

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.received]


class TlsRecordingHandler(RecordingHandler):
    """A RecordingHandler that notes how every MAIL FROM and DATA arrived: the TLS
    version of the connection at that moment, or None for clear text."""

    def __init__(self) -> None:
        super().__init__()
        self.mail_tls: list[str | None] = []  # one per MAIL FROM the server accepted
        self.data_tls: list[str | None] = []  # one per DATA, accepted or not
        self.starttls_sessions: list[bool] = []  # per MAIL FROM: upgraded by STARTTLS?

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        self.mail_tls.append(_tls_version(server))
        self.starttls_sessions.append(session.ssl is not None)  # set only by STARTTLS
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_tls.append(_tls_version(server))
        return await super().handle_DATA(server, session, envelope)


def _tls_version(server: Any) -> str | None:
    ssl_object = server.transport.get_extra_info("ssl_object")
    return ssl_object.version() if ssl_object is not None else None


class SmtpServer:
    """Start/stop a recording aiosmtpd server on a fixed loopback port.

    Extra keyword arguments go to aiosmtpd's Controller: `tls_context=...,
    require_starttls=True` for STARTTLS, `ssl_context=...` for implicit TLS (SMTPS).
    """

    def __init__(self, port: int | None = None, *, handler: RecordingHandler | None = None,
                 **controller_options: Any) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.handler = handler or RecordingHandler()
        self._options = controller_options
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.handler, hostname=self.host, port=self.port,
                                      **self._options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
