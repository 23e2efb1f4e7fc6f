"""The transports that carry an e-mail: SMTP (plain, STARTTLS or TLS), or a local Maildir
(the embedded default). Failures are sorted into transient (retried) and permanent."""

from __future__ import annotations

import hashlib
import mailbox
import os
import re
import smtplib
import socket
import ssl
import time
from contextlib import suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class TransientDeliveryError(Exception):
    """Worth retrying: connection refused, timeout, 4xx reply (internal, not user-facing)."""


class PermanentDeliveryError(Exception):
    """Retrying will not help: a 5xx reply (internal, not user-facing)."""


class Transport(Protocol):
    def send(self, msg: EmailMessage) -> None: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class SmtpTransport:
    """Delivery over SMTP; failures are sorted into transient and permanent."""

    host: str
    port: int = 0
    tls: str = "none"
    user: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 10.0

    def describe(self) -> str:
        return f"smtp://{self.host}:{self.port or DEFAULT_PORTS.get(self.tls, 25)} ({self.tls})"

    def send(self, msg: EmailMessage) -> None:
        try:
            self._send(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (-1, b""))
            raise _by_code(code, reply, "recipient refused") from exc
        except (smtplib.SMTPConnectError, smtplib.SMTPAuthenticationError) as exc:
            raise TransientDeliveryError(f"{type(exc).__name__}: {_reply(exc)}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, exc.smtp_error, "server replied") from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, timeout, reset, TLS
            raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc

    def _send(self, msg: EmailMessage) -> None:
        port = self.port or DEFAULT_PORTS.get(self.tls, 25)
        if self.tls == "ssl":
            context = ssl.create_default_context()
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, port, timeout=self.timeout,
                                                  context=context)
        else:
            smtp = smtplib.SMTP(self.host, port, timeout=self.timeout)
        try:
            if self.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
            recipient = msg["To"].addresses[0].addr_spec
            smtp.send_message(msg, to_addrs=[recipient])
            with suppress(smtplib.SMTPException, OSError):
                smtp.quit()
        finally:
            smtp.close()


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
        else str(exc.smtp_error)
    return f"{exc.smtp_code} {' '.join(text.split())}"[:300]


def _by_code(code: int, reply: Any, what: str) -> Exception:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    detail = f"{what}: {code} {' '.join(text.split())}"[:300]
    return PermanentDeliveryError(detail) if 500 <= code < 600 else TransientDeliveryError(detail)


@dataclass(frozen=True)
class MaildirTransport:
    """The embedded default: each e-mail becomes a file in a local Maildir's new/.

    The file name carries a digest of the Message-ID, so delivering the same message
    again is a no-op; the file and directory are fsynced before send() returns.
    """

    path: Path

    def describe(self) -> str:
        return f"maildir {self.path}"

    def send(self, msg: EmailMessage) -> None:
        try:
            self._write(msg)
        except OSError as exc:
            raise TransientDeliveryError(f"cannot write to Maildir {self.path}: {exc}") from exc

    def _write(self, msg: EmailMessage) -> None:
        root = Path(self.path)
        mailbox.Maildir(root, create=True)  # creates tmp/, new/ and cur/
        token = hashlib.sha256(str(msg["Message-ID"]).encode()).hexdigest()[:24]
        if any(f".{token}." in name for sub in ("new", "cur") for name in os.listdir(root / sub)):
            return
        host = re.sub(r"[^A-Za-z0-9-]", "_", socket.gethostname()) or "localhost"
        name = f"{int(time.time())}.{token}.{host}"
        tmp = root / "tmp" / f"{name}.{os.getpid()}"
        with open(tmp, "xb") as fh:
            fh.write(msg.as_bytes(policy=msg.policy.clone(linesep="\n")))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, root / "new" / name)
        _fsync_dir(root / "new")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def transport_from_settings(settings: Any) -> SmtpTransport | MaildirTransport:
    """SMTP when smtp_host is set; otherwise the local Maildir (no server needed)."""
    if settings.smtp_host:
        return SmtpTransport(
            host=settings.smtp_host, port=settings.smtp_port, tls=settings.smtp_tls,
            user=settings.smtp_user, password=settings.smtp_password,
            timeout=settings.smtp_timeout,
        )
    return MaildirTransport(Path(settings.maildir))
