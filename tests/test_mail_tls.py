"""SMTP over TLS against a real aiosmtpd server on loopback: STARTTLS and implicit TLS
with a throw-away CA trusted through SSL_CERT_FILE, and the failures that must not
lose an escalation (an untrusted or wrong-host certificate, a server without STARTTLS).

The CA and server certificates are generated per test in tmp_path (EC keys: fast).
"""

from __future__ import annotations

import ipaddress
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from smtp_server import SmtpServer, TlsRecordingHandler

from qa.escalation.delivery import DeliveryReport, deliver_due
from qa.escalation.outbox import Outbox
from qa.escalation.transport import SmtpTransport

INBOX = "privacy@koreroapp.example"
MAIL_FROM = "policy-qa@koreroapp.example"


# --- a throw-away PKI ----------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass(frozen=True)
class Ca:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    pem: Path

    @classmethod
    def create(cls, folder: Path, common_name: str) -> Ca:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256())
        )
        pem = folder / f"{common_name.replace(' ', '-').lower()}.pem"
        pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(cert, key, pem)

    def server_context(self, folder: Path, *, dns: str = "localhost",
                       ip: str | None = "127.0.0.1") -> ssl.SSLContext:
        """A server-side TLS context whose certificate this CA signed for dns (and ip)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        names: list[x509.GeneralName] = [x509.DNSName(dns)]
        if ip:
            names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(dns)).issuer_name(self.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=False, crl_sign=False,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                ca_ski), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_file, key_file = folder / f"server-{dns}.pem", folder / f"server-{dns}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_pem_key(key))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context


@pytest.fixture
def ca(tmp_path: Path) -> Ca:
    return Ca.create(tmp_path, "Policy QA Test CA")


@pytest.fixture
def other_ca(tmp_path: Path) -> Ca:
    return Ca.create(tmp_path, "Somebody Else CA")


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite3", dedupe_window_seconds=3600,
                  escalations_per_hour=100, retention_days=30)


def tls_server(mode: str, context: ssl.SSLContext | None) -> SmtpServer:
    """starttls: STARTTLS offered and required; ssl: implicit TLS; plain: no TLS at all."""
    options = {"starttls": {"tls_context": context, "require_starttls": True},
               "ssl": {"ssl_context": context}, "plain": {}}[mode]
    return SmtpServer(handler=TlsRecordingHandler(), **options)


def deliver(outbox: Outbox, server: SmtpServer, tls: str, now: float | None = None
            ) -> DeliveryReport:
    return deliver_due(outbox, SmtpTransport(server.host, server.port, tls=tls, timeout=2.0),
                       mail_from=MAIL_FROM, now=now, max_attempts=5, max_age_seconds=3600,
                       base=1.0, cap=10.0)


def trust(monkeypatch: pytest.MonkeyPatch, ca: Ca) -> None:
    """Trust `ca` the standard OpenSSL way, as an operator would for a private relay."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.pem))


# --- tests -----------------------------------------------------------------------------


def test_ssl_cert_file_decides_what_the_default_context_trusts(
        monkeypatch: pytest.MonkeyPatch, ca: Ca, other_ca: Ca) -> None:
    """The precondition of everything below: on this machine create_default_context()
    (what qa/escalation/transport.py uses) reads SSL_CERT_FILE each time it is called."""
    def trusted_subjects() -> list[tuple]:
        return [c["subject"] for c in ssl.create_default_context().get_ca_certs()]

    ours = ((("commonName", "Policy QA Test CA"),),)
    trust(monkeypatch, ca)
    assert trusted_subjects() == [ours]
    trust(monkeypatch, other_ca)
    assert ours not in trusted_subjects()


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_tls_delivery_to_a_private_ca_server_is_encrypted(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ca: Ca, outbox: Outbox,
        tls: str) -> None:
    trust(monkeypatch, ca)
    with tls_server(tls, ca.server_context(tmp_path)) as server:
        esc = outbox.enqueue("Do you encrypt my messages in transit?", to=INBOX)
        assert deliver(outbox, server, tls) == DeliveryReport(sent=1)
        handler = server.handler
        assert handler.message_ids() == [f"<{esc.id}@policy-qa.invalid>"]
        assert handler.received[0].rcpt_tos == (INBOX,)
        # the envelope and the message both travelled over TLS 1.2+ ...
        assert len(handler.mail_tls) == 1 and len(handler.data_tls) == 1
        assert handler.mail_tls[0] in {"TLSv1.2", "TLSv1.3"}
        assert handler.data_tls == handler.mail_tls
        # ... by the route configured: upgraded in-session, or TLS from the first byte
        assert handler.starttls_sessions == [tls == "starttls"]
    row = outbox.get(esc.id)
    assert (row.status, row.attempts) == ("sent", 1)


def test_starttls_server_really_refuses_clear_text(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ca: Ca, outbox: Outbox) -> None:
    """So the STARTTLS delivery above could not have happened in clear text."""
    trust(monkeypatch, ca)
    with tls_server("starttls", ca.server_context(tmp_path)) as server:
        esc = outbox.enqueue("Is my password stored in plain text?", to=INBOX)
        assert deliver(outbox, server, "none").failed == 1  # 530: a permanent refusal
        assert server.handler.mail_tls == [] and server.handler.received == []
    row = outbox.get(esc.id)
    assert row.status == "failed"
    assert "530" in row.last_error and "STARTTLS" in row.last_error


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_untrusted_certificate_keeps_the_escalation_until_the_ca_is_trusted(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ca: Ca, other_ca: Ca,
        outbox: Outbox, tls: str) -> None:
    trust(monkeypatch, other_ca)  # the server's CA is not among those trusted
    with tls_server(tls, ca.server_context(tmp_path)) as server:
        esc = outbox.enqueue("Who can read my support tickets?", to=INBOX)
        assert deliver(outbox, server, tls) == DeliveryReport(retried=1)
        assert server.handler.mail_tls == [] and server.handler.received == []
        row = outbox.get(esc.id)
        assert (row.status, row.attempts) == ("queued", 1)
        assert "certificate verify failed" in row.last_error
        assert "unable to get local issuer certificate" in row.last_error

        trust(monkeypatch, ca)  # the operator fixes the trust store; the retry goes out
        assert deliver(outbox, server, tls, now=row.next_attempt_at + 0.01).sent == 1
        assert server.handler.message_ids() == [f"<{esc.id}@policy-qa.invalid>"]
        assert server.handler.mail_tls[0] in {"TLSv1.2", "TLSv1.3"}
    assert (outbox.get(esc.id).status, outbox.get(esc.id).attempts) == ("sent", 2)


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_certificate_for_another_host_is_refused(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ca: Ca, outbox: Outbox,
        tls: str) -> None:
    """A trusted CA is not enough: the certificate must name the host we dialled."""
    trust(monkeypatch, ca)
    context = ca.server_context(tmp_path, dns="mail.elsewhere.example", ip=None)
    with tls_server(tls, context) as server:
        esc = outbox.enqueue("Do you sell my contacts?", to=INBOX)
        assert deliver(outbox, server, tls) == DeliveryReport(retried=1)
        assert server.handler.mail_tls == [] and server.handler.received == []
    row = outbox.get(esc.id)
    assert row.status == "queued"
    assert "certificate verify failed" in row.last_error
    assert "IP address mismatch" in row.last_error


def test_starttls_required_but_not_offered_sends_nothing_in_clear_text(
        outbox: Outbox) -> None:
    with tls_server("plain", None) as server:
        esc = outbox.enqueue("Can I delete my voice notes?", to=INBOX,
                             email="asker@example.org")
        started = time.monotonic()
        assert deliver(outbox, server, "starttls") == DeliveryReport(retried=1)
        assert time.monotonic() - started < 2.0  # refused at once, not by a timeout
        assert server.handler.mail_tls == []  # not even the envelope sender
        assert server.handler.attempts == 0 and server.handler.received == []
    row = outbox.get(esc.id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert "STARTTLS extension not supported by server" in row.last_error
