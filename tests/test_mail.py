"""The escalation e-mail as the privacy team receives it (real aiosmtpd on loopback),
hostile input, and the Maildir default."""

from __future__ import annotations

import mailbox
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from smtp_server import SmtpServer

from index.errors import ConfigError, EmailError
from qa.escalation.delivery import deliver_due, deliver_once
from qa.escalation.mail import build_message
from qa.escalation.outbox import Outbox, validate_email
from qa.escalation.transport import MaildirTransport, SmtpTransport, transport_from_settings
from qa.settings import Settings, load_settings

INBOX = "privacy@koreroapp.example"
MAIL_FROM = "policy-qa@koreroapp.example"
TITLE = "Korero Privacy Policy"
PASSAGES = [{
    "section": "How long do we keep your information?",
    "anchor": "how-long-do-we-keep-your-information",
    "url": "https://koreroapp.com/privacy#how-long-do-we-keep-your-information",
    "quote": "We keep your information for as long as your account is active.",
    "score": 0.42,
}]
EXPECTED_HEADERS = {
    "from", "to", "reply-to", "subject", "date", "message-id", "auto-submitted",
    "x-policy-qa-escalation", "content-type", "content-transfer-encoding", "mime-version",
}


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite3", dedupe_window_seconds=3600,
                  escalations_per_hour=100, retention_days=30)


@pytest.fixture
def server():
    with SmtpServer() as srv:
        yield srv


def deliver(outbox: Outbox, transport, now: float | None = None):
    return deliver_due(outbox, transport, mail_from=MAIL_FROM, now=now, max_attempts=5,
                       max_age_seconds=3600, base=1.0, cap=10.0)


def smtp(server: SmtpServer) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, timeout=1.0)


def header_names(msg) -> set[str]:
    return {k.lower() for k in msg}


def test_delivered_message_headers_and_body(outbox: Outbox, server: SmtpServer) -> None:
    esc = outbox.enqueue("Do you keep my voice recordings after I delete my account?",
                         to=INBOX, email="Asker@Example.ORG", passages=PASSAGES,
                         policy_title=TITLE)
    assert deliver(outbox, smtp(server)).sent == 1

    [got] = server.handler.received
    assert got.rcpt_tos == (INBOX,)
    assert got.mail_from == MAIL_FROM
    msg = got.message
    assert header_names(msg) == EXPECTED_HEADERS
    assert all(len(v) == 1 for v in (msg.get_all(k) for k in EXPECTED_HEADERS))
    assert msg["From"] == MAIL_FROM
    assert msg["To"] == INBOX
    assert msg["Reply-To"] == "Asker@example.org"
    assert msg["Message-ID"] == f"<{esc.id}@policy-qa.invalid>"
    assert msg["X-Policy-QA-Escalation"] == esc.id
    assert msg["Subject"] == (f"[{TITLE}] Unanswered question: "
                              "Do you keep my voice recordings after I delete my account?")
    assert parsedate_to_datetime(msg["Date"]).timestamp() == int(esc.created_at)
    body = msg.get_content().replace("\r\n", "\n")
    for expected in (esc.question, "Asker@example.org", PASSAGES[0]["section"],
                     PASSAGES[0]["quote"], PASSAGES[0]["url"], esc.id,
                     "The closest passages the visitor was shown:", "Page: not known"):
        assert expected in body
    assert "score" not in body and "0.42" not in body
    assert "policy-qa outbox" not in body and "/console/" not in body  # no public_url
    assert outbox.get(esc.id).status == "sent"


def test_without_email_there_is_no_reply_to(outbox: Outbox, server: SmtpServer) -> None:
    outbox.enqueue("Who is your data protection officer?", to=INBOX)
    deliver(outbox, smtp(server))
    msg = server.handler.received[0].message
    assert header_names(msg) == EXPECTED_HEADERS - {"reply-to"}
    assert "cannot be answered directly" in msg.get_content()


def test_message_is_deterministic(outbox: Outbox) -> None:
    esc = outbox.enqueue("Do you sell my data?", to=INBOX, email="a@example.org",
                         passages=PASSAGES, policy_title=TITLE)
    first = build_message(esc, mail_from=MAIL_FROM, policy_title=TITLE).as_bytes()
    again = build_message(outbox.get(esc.id), mail_from=MAIL_FROM, policy_title=TITLE)
    assert first == again.as_bytes()


def test_subject_is_one_clean_capped_line(outbox: Outbox) -> None:
    question = ("Do you\r\nkeep\tmy \u202edata\u200b\u2066 =?utf-8?q?x=0D=0ABcc:_a@b.c?= "
                + "and more words " * 20)
    esc = outbox.enqueue(question, to=INBOX, policy_title="Evil\r\nBcc: x@y.z Policy")
    msg = build_message(esc, mail_from=MAIL_FROM)
    subject = str(msg["Subject"])
    assert "\r" not in subject and "\n" not in subject and "\t" not in subject
    assert not {"\u202e", "\u200b", "\u2066"} & set(subject)
    assert subject.startswith("[Evil Bcc: x@y.z Policy] Unanswered question: Do you keep my data")
    assert subject.endswith("…") and len(subject) < 140
    raw = msg.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # all headers are ASCII on the wire
    assert all(len(line) <= 78 for line in head.split("\r\n"))
    assert not any(line.lower().startswith("bcc") for line in head.split("\r\n"))


HOSTILE = ("Do you share my data?\r\nBcc: evil@attacker.example\r\nX-Injected: yes\r\n\r\n"
           "=?utf-8?q?=0D=0ABcc:_evil2@attacker.example?= \u202egnp.exe")


def test_header_injection_through_the_question_is_impossible(
        outbox: Outbox, server: SmtpServer) -> None:
    esc = outbox.enqueue(HOSTILE, to=INBOX, email="asker@example.org")
    assert deliver(outbox, smtp(server)).sent == 1
    [got] = server.handler.received
    assert got.rcpt_tos == (INBOX,)  # nobody else got it
    msg = got.message
    assert header_names(msg) == EXPECTED_HEADERS
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    body = msg.get_content().replace("\r\n", "\n")
    # nothing lost: the question's words are all there, as body text
    # quoted, so the visitor's lines cannot pass for the mail's own
    assert "> Bcc: evil@attacker.example\n> X-Injected: yes" in body
    assert "\nBcc:" not in body and "\nX-Injected" not in body
    assert "=?utf-8?q?=0D=0ABcc:_evil2@attacker.example?=" in body
    assert "\u202e" not in body
    assert outbox.get(esc.id).question == HOSTILE.strip()


@pytest.mark.parametrize("address", [
    "bob@example.com\r\nBcc: evil@attacker.example",
    "bob@example.com\nBcc: evil@attacker.example",
    "bob@example.com\r",
    "Bob <bob@example.com>",
    "bob@example.com, eve@example.com",
    "bob@@example.com",
    "bob",
    "@",
    "bob@localhost",
    "bob@[127.0.0.1]",
    "bob@127.0.0.1",
    "bob smith@example.com",
    ".bob@example.com",
    "bob.@example.com",
    "bo..b@example.com",
    "bob@exa_mple.com",
    "bob@-example.com",
    "bob@example..com",
    '"bob"@example.com',
    "bób@example.com",
    "bob@exam\u200bple.com",
    "bob@example.com\u202e",
    "bob\x00@example.com",
    "=?utf-8?q?a=0D=0ABcc:_x?=@example.com",
    "b" * 65 + "@example.com",
    "bob@" + "a" * 64 + ".com",
    "bob@" + ("a" * 60 + ".") * 5 + "com",
])
def test_invalid_addresses_are_refused_with_a_clear_message(
        outbox: Outbox, address: str) -> None:
    with pytest.raises(EmailError) as err:
        validate_email(address)
    assert "invalid e-mail address" in str(err.value)
    assert repr(address[:20])[:-1] in str(err.value)  # names the value, escaped
    with pytest.raises(EmailError):
        outbox.enqueue("Can I opt out of analytics?", to=INBOX, email=address)
    assert sum(outbox.counts().values()) == 0  # nothing half-written
    # and the question itself is not lost: it can still be sent without the address
    assert outbox.enqueue("Can I opt out of analytics?", to=INBOX).status == "queued"


@pytest.mark.parametrize(("address", "normalised"), [
    ("Bob.Smith+tag@Example.COM", "Bob.Smith+tag@example.com"),
    ("  bob@example.com ", "bob@example.com"),
    ("user@bücher.de", "user@xn--bcher-kva.de"),
    ("user@BÜCHER.de", "user@xn--bcher-kva.de"),
    # IDNA2008: straße.de is its own domain (IDNA2003, Python's codec, made it strasse.de)
    ("hans@straße.de", "hans@xn--strae-oqa.de"),
    ("x@рaypal.com", "x@xn--aypal-uye.com"),  # a Cyrillic look-alike shows as punycode
    ("o'brien@sub.example.co.uk", "o'brien@sub.example.co.uk"),
])
def test_valid_addresses_are_normalised(address: str, normalised: str) -> None:
    assert validate_email(address) == normalised


def test_blank_address_is_refused_by_the_validator_and_means_none_to_the_outbox(
        outbox: Outbox) -> None:
    for blank in ("", "   "):
        with pytest.raises(EmailError, match="empty"):
            validate_email(blank)
        assert outbox.enqueue(f"Question {len(blank)}?", to=INBOX, email=blank).email is None


def test_local_inbox_address_is_allowed_only_when_asked() -> None:
    assert validate_email("privacy@localhost", allow_local=True) == "privacy@localhost"
    with pytest.raises(EmailError):
        validate_email("privacy@localhost")


def test_ten_thousand_character_question_is_delivered_whole(
        outbox: Outbox, server: SmtpServer) -> None:
    words = " ".join(f"word{n}" for n in range(2000))
    question = ("Why " + words)[:9_999] + "?"
    assert len(question) == 10_000
    esc = outbox.enqueue(question, to=INBOX)
    assert deliver(outbox, smtp(server)).sent == 1
    got = server.handler.received[0]
    assert all(len(line) <= 998 for line in got.data.split(b"\r\n"))
    msg = got.message
    assert len(str(msg["Subject"])) < 140
    assert question in msg.get_content()
    assert outbox.get(esc.id).question == question


def test_maildir_is_the_default_and_writes_a_parseable_message(
        outbox: Outbox, tmp_path: Path) -> None:
    settings = Settings(maildir=tmp_path / "maildir", smtp_host="")
    transport = transport_from_settings(settings)
    assert isinstance(transport, MaildirTransport)
    esc = outbox.enqueue("Do you use my photos to train AI?", to=INBOX,
                         email="asker@example.org", policy_title=TITLE)
    assert deliver(outbox, transport).sent == 1

    new = list((tmp_path / "maildir" / "new").iterdir())
    assert len(new) == 1
    box = mailbox.Maildir(tmp_path / "maildir", create=False)
    [msg] = list(box)
    assert msg["Message-ID"] == f"<{esc.id}@policy-qa.invalid>"
    assert msg["Reply-To"] == "asker@example.org"
    assert msg["To"] == INBOX
    assert "Do you use my photos to train AI?" in msg.get_payload(decode=True).decode()
    # delivering the very same message again (a retry after a crash) adds no file
    transport.send(build_message(outbox.get(esc.id), mail_from=MAIL_FROM))
    assert len(list((tmp_path / "maildir" / "new").iterdir())) == 1


def test_smtp_settings_select_smtp_transport() -> None:
    settings = Settings(smtp_host="mail.example.org", smtp_port=2525, smtp_tls="starttls",
                        smtp_user="u", smtp_password="secret", smtp_timeout=3)
    transport = transport_from_settings(settings)
    assert transport == SmtpTransport("mail.example.org", 2525, "starttls", "u", "secret", 3)
    assert "secret" not in repr(transport)


# --- what the privacy officer reads (issue 17) -------------------------------------

PUBLIC = "https://help.koreroapp.example"


def test_the_body_links_to_the_console_and_says_where_the_visitor_was(
        outbox: Outbox, server: SmtpServer) -> None:
    esc = outbox.enqueue("Do you keep my voice recordings?", to=INBOX, email="a@example.org",
                         passages=PASSAGES, policy_title=TITLE,
                         page_url="https://koreroapp.com/pricing?x=1",
                         conversation=["Do you sell my data?", "Hello\r\nBcc: x@evil.example"])
    report = deliver_due(outbox, smtp(server), mail_from="privacy-bot@koreroapp.example",
                         public_url=PUBLIC, max_attempts=5, max_age_seconds=3600, base=1.0,
                         cap=10.0)
    assert report.sent == 1
    [got] = server.handler.received
    assert got.mail_from == "privacy-bot@koreroapp.example"  # the configured sender
    msg = got.message
    assert msg["From"] == "privacy-bot@koreroapp.example"
    body = msg.get_content().replace("\r\n", "\n")
    assert f"  {PUBLIC}/console/?escalation={esc.id}\n" in body
    assert "Page: https://koreroapp.com/pricing?x=1\n" in body
    assert ("Earlier in this conversation the visitor asked:\n  1. Do you sell my data?\n"
            "  2. Hello Bcc: x@evil.example\n") in body
    assert "The closest passages the visitor was shown:" in body
    assert "score" not in body and "0.42" not in body and "policy-qa outbox" not in body
    raw = got.data.split(b"\r\n\r\n", 1)[0]
    assert b"evil" not in raw and b"pricing" not in raw  # visitor context: body only
    assert all(b"\r" not in v.encode() and b"\n" not in v.encode() for v in msg.values())


def test_a_thumbs_down_hand_off_says_the_visitor_found_the_answer_unhelpful(
        outbox: Outbox, server: SmtpServer) -> None:
    outbox.enqueue("Do you sell my data?", to=INBOX, passages=PASSAGES, policy_title=TITLE,
                   reason="unhelpful")
    assert deliver(outbox, smtp(server)).sent == 1
    msg = server.handler.received[0].message
    assert msg["Subject"] == f"[{TITLE}] Unhelpful answer: Do you sell my data?"
    body = msg.get_content().replace("\r\n", "\n")
    assert f"The visitor found this answer unhelpful:\n1. {PASSAGES[0]['section']}\n" in body
    assert f'   "{PASSAGES[0]["quote"]}"' in body
    assert "good enough" not in body and "could not be answered" not in body
    assert "Page: not known" in body and "Earlier in this conversation" not in body
    assert "/console/" not in body  # no POLICY_QA_PUBLIC_URL: no link, and no CLI command
    assert "Answer and resolve it in the support console (Escalations" in body


def test_public_url_setting_is_checked() -> None:
    assert Settings(public_url=PUBLIC + "/").public_url == PUBLIC
    assert load_settings(env={"POLICY_QA_PUBLIC_URL": PUBLIC}).public_url == PUBLIC
    for bad in ("help.example.com", "ftp://x.example", PUBLIC + "/?a=1", "https://u:p@x.example"):
        with pytest.raises(ConfigError, match="public_url must be the server's address"):
            Settings(public_url=bad)


def test_a_passage_from_another_document_is_named_with_that_document(
        outbox: Outbox, server: SmtpServer) -> None:
    """An index of several documents (the policy and its cookie notice): the mail names
    the document a passage comes from when it is not the policy itself, and the stored
    escalation keeps it."""
    cookie = {"section": "Analytics cookies", "anchor": "analytics-cookies",
              "url": "https://koreroapp.com/cookies#analytics-cookies",
              "quote": "We use analytics cookies to count visits.", "score": 0.3,
              "document": {"id": "cookies", "title": "Korero Cookie Notice",
                           "url": "https://koreroapp.com/cookies"}}
    own = {**PASSAGES[0], "document": {"id": "privacy", "title": TITLE,
                                       "url": "https://koreroapp.com/privacy"}}
    esc = outbox.enqueue("Which cookies count my visits?", to=INBOX,
                         passages=[own, cookie], policy_title=TITLE)
    stored = outbox.get(esc.id)
    assert [p.document.title for p in stored.passages] == [TITLE, "Korero Cookie Notice"]
    deliver(outbox, smtp(server))
    body = server.handler.received[0].message.get_content().replace("\r\n", "\n")
    assert f"1. {PASSAGES[0]['section']}\n" in body  # the policy's own: not repeated
    assert "2. Korero Cookie Notice: Analytics cookies\n" in body


def test_the_default_sender_is_on_the_public_hosts_domain(
        outbox: Outbox, server: SmtpServer) -> None:
    outbox.enqueue("Do you keep my voice recordings?", to=INBOX, passages=PASSAGES)
    settings = Settings(smtp_host=server.host, smtp_port=server.port, public_url=PUBLIC)
    assert deliver_once(outbox, settings).sent == 1  # POLICY_QA_MAIL_FROM unset
    [got] = server.handler.received
    assert got.mail_from == "policy-qa@help.koreroapp.example"
    assert got.message["From"] == "policy-qa@help.koreroapp.example"


@pytest.mark.parametrize(("mail_from", "public_url", "sender"), [
    ("", "", "policy-qa@localhost"),
    ("", "http://127.0.0.1:8000", "policy-qa@localhost"),  # an address, not a domain
    ("", "https://help.example.com:8443/chat", "policy-qa@help.example.com"),
    (" privacy-bot@example.com ", "https://help.example.com", "privacy-bot@example.com"),
])
def test_sender_setting(mail_from: str, public_url: str, sender: str) -> None:
    settings = load_settings(env={"POLICY_QA_MAIL_FROM": mail_from,
                                  "POLICY_QA_PUBLIC_URL": public_url})
    assert settings.sender == sender
    assert Settings().replace(public_url=public_url, mail_from=mail_from).sender == sender


def test_a_cut_line_ends_at_a_word() -> None:
    from qa.escalation.mail import one_line

    cut = one_line("Do you share my personal information with advertisers?", 30)
    assert cut == "Do you share my personal…"
    assert one_line("x" * 50, 10) == "x" * 9 + "…"  # no word end near: cut where it must
