"""The escalation inbox below the console: the filter and its SQL, counts that follow
it, age and time to first response, the audit trail, actions per state, bulk resolve,
the migration of a version-1 outbox file, grouping by the real model's embeddings and
the mailto: reply link."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from index.errors import EscalationStateError, PolicyQAError
from qa.escalation.context import check_page_url, clean_conversation
from qa.escalation.filters import UNASSIGNED, parse_filter
from qa.escalation.grouping import DEFAULT_THRESHOLD, group_similar
from qa.escalation.inbox import Inbox
from qa.escalation.outbox import Outbox
from qa.escalation.reply import mailto

INBOX = "privacy@example.com"
DAY = 86400.0
T0 = datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path: Path, clock: Clock) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite3", dedupe_window_seconds=3600,
                  escalations_per_hour=100, retention_days=30, clock=clock)


def test_filter_parses_form_values_or_names_the_bad_one() -> None:
    flt = parse_filter("open", "2026-03-01", " 2026-03-31 ", "  voice   notes ", "")
    assert (flt.status, flt.since, flt.until, flt.text) == (
        "open", date(2026, 3, 1), date(2026, 3, 31), "voice notes")
    start, end = flt.bounds()
    assert end - start == 31 * DAY  # both days inclusive
    with pytest.raises(PolicyQAError, match="from must be a date like 2026-01-31; got '1/3'"):
        parse_filter("all", "1/3")
    with pytest.raises(PolicyQAError, match="the date range is empty"):
        parse_filter("all", "2026-03-02", "2026-03-01")
    with pytest.raises(PolicyQAError, match="unknown status 'closed'"):
        parse_filter("closed")


def test_search_and_counts_follow_the_filter(outbox: Outbox, clock: Clock) -> None:
    inbox = Inbox(outbox)
    a = outbox.enqueue("Do you keep voice notes?", to=INBOX, email="a@example.org")
    clock.now += 2 * DAY
    b = outbox.enqueue("Where is my data stored? 100%_sure", to=INBOX)
    clock.now += 2 * DAY
    c = outbox.enqueue("Who is your DPO?", to=INBOX)
    outbox.resolve(c.id, "Named in section 9", actor="alice")
    inbox.assign(b.id, "bob", "alice")

    view = inbox.view(parse_filter("all"))
    assert [i.escalation.id for i in view.items] == [c.id, b.id, a.id]
    assert view.counts == {"queued": 2, "sent": 0, "failed": 0, "resolved": 1}
    view = inbox.view(parse_filter("open"))
    assert (view.matched, view.counts["resolved"]) == (2, 1)
    assert view.summary().startswith("2 of 3 escalations match — queued: 2")
    day_b = datetime.fromtimestamp(T0 + 2 * DAY, UTC).date()
    view = inbox.view(parse_filter("all", day_b, day_b))
    assert [i.escalation.id for i in view.items] == [b.id] and sum(view.counts.values()) == 1
    assert [i.escalation.id for i in inbox.view(parse_filter(text="VOICE")).items] == [a.id]
    assert [i.escalation.id for i in inbox.view(parse_filter(text="a@EXAMPLE")).items] == [a.id]
    # LIKE wildcards in the search text are literal
    assert [i.escalation.id for i in inbox.view(parse_filter(text="0%_s")).items] == [b.id]
    assert inbox.view(parse_filter(text="%")).matched == 1
    assert [i.escalation.id for i in inbox.view(parse_filter(assignee="bob")).items] == [b.id]
    assert inbox.view(parse_filter(assignee=UNASSIGNED)).matched == 2


def test_age_time_to_first_response_and_the_audit_trail(outbox: Outbox, clock: Clock) -> None:
    inbox = Inbox(outbox)
    esc = outbox.enqueue("Do you sell my data?", to=INBOX)
    clock.now += 3600
    inbox.assign(esc.id, "alice", "bob")
    clock.now += 1800
    inbox.replied(esc.id, "alice")
    clock.now += 600
    inbox.resolve(esc.id, "Answered", None, "alice")
    item = inbox.item(esc.id)
    assert item.age_seconds == 6000 and item.first_response_seconds == 5400
    clock.now += 60
    inbox.reopen(esc.id, "carol")
    inbox.assign(esc.id, "", "carol")
    trail = [(e.actor, e.action, e.detail, e.at - T0) for e in inbox.history(esc.id)]
    assert trail == [("bob", "assigned", "alice", 3600), ("alice", "replied", "", 5400),
                     ("alice", "resolved", "note: Answered", 6000),
                     ("carol", "reopened", "now queued", 6060),
                     ("carol", "unassigned", "alice", 6060)]
    reopened = outbox.get(esc.id)  # the note is no longer current, but kept in the trail
    assert (reopened.status, reopened.resolution_note, reopened.assignee) == (
        "queued", None, None)
    # durable: a new Outbox over the same file sees the same trail
    again = Outbox(outbox.path, dedupe_window_seconds=1, escalations_per_hour=1,
                   retention_days=1)
    assert [e.action for e in again.events(esc.id)] == [
        "assigned", "replied", "resolved", "reopened", "unassigned"]
    outbox.resolve(esc.id, "Answered\n again, " + "at length " * 80, "contact-us", "cli")
    outbox.resolve(esc.id, "Replaced", None, "cli")  # the CLI may resolve again
    said = [e.detail for e in inbox.history(esc.id) if e.action == "resolved"]
    assert said[0] == "note: Answered"
    assert said[1].startswith("section contact-us; note: Answered again, at length")
    assert len(said[1]) == 500 and said[1].endswith("\u2026")
    assert said[2] == "note: Replaced"


def test_actions_are_offered_per_state_only(outbox: Outbox) -> None:
    inbox = Inbox(outbox)
    esc = outbox.enqueue("Do you sell my data?", to=INBOX)
    assert inbox.item(esc.id).actions == ("assign", "reply", "resolve")
    with pytest.raises(EscalationStateError, match="only failed escalations can be resent"):
        inbox.resend(esc.id, "alice")
    with pytest.raises(EscalationStateError, match="cannot be reopened"):
        inbox.reopen(esc.id, "alice")
    (claim,) = outbox.claim_due()
    outbox.mark_failed(claim, "550 no such mailbox")
    assert "resend" in inbox.item(esc.id).actions
    inbox.resolve(esc.id, "Answered", None, "alice")
    assert inbox.item(esc.id).actions == ("assign", "reopen")
    with pytest.raises(EscalationStateError, match="cannot be resolved"):
        inbox.resolve(esc.id, "Again", None, "alice")
    assert inbox.reopen(esc.id, "alice").status == "failed"  # where delivery left it
    assert outbox.events(esc.id)[-1].action == "reopened"


def test_bulk_resolve_is_one_transaction_and_names_what_it_skipped(outbox: Outbox) -> None:
    inbox = Inbox(outbox)
    ids = [outbox.enqueue(q, to=INBOX).id for q in ("Q one?", "Q two?", "Q three?")]
    outbox.resolve(ids[2], "Done before", actor="alice")
    with pytest.raises(PolicyQAError, match="resolution note is required"):
        inbox.resolve_many(ids[:2], "  ", None, "bob")
    assert [outbox.get(i).status for i in ids[:2]] == ["queued", "queued"]  # nothing changed
    result = inbox.resolve_many([*ids, "esc_nope", ids[0]], "FAQ", "how-we-use-data", "bob")
    assert [e.id for e in result.resolved] == ids[:2]
    assert len(result.skipped) == 2 and "esc_nope" in result.skipped[1]
    assert "cannot be resolved" in result.skipped[0]
    assert {outbox.get(i).resolution_section for i in ids[:2]} == {"how-we-use-data"}
    assert [(e.actor, e.action) for e in outbox.events(ids[0])] == [("bob", "resolved")]
    with pytest.raises(PolicyQAError, match="select at least one"):
        inbox.resolve_many([], "x", None, "bob")


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE escalations (
    id TEXT PRIMARY KEY, question TEXT NOT NULL, question_key TEXT NOT NULL, email TEXT,
    passages TEXT NOT NULL DEFAULT '[]', client TEXT NOT NULL DEFAULT '',
    recipient TEXT NOT NULL, policy_title TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'resolved')),
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, lease_until REAL,
    lease_token TEXT, last_error TEXT, sent_at REAL, resolved_at REAL,
    resolution_note TEXT, resolution_section TEXT);
INSERT INTO escalations (id, question, question_key, email, recipient, created_at, status,
    next_attempt_at) VALUES ('esc_old', 'Old question?', 'k', 'a@example.org',
    'privacy@example.com', 1000.0, 'sent', 1000.0);
PRAGMA user_version = 1;
"""


def test_a_version_1_outbox_file_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with sqlite3.connect(path) as con:
        con.executescript(V1_SCHEMA)
    outbox = Outbox(path, dedupe_window_seconds=1, escalations_per_hour=1, retention_days=1)
    old = outbox.get("esc_old")
    assert (old.question, old.status, old.page_url, old.conversation, old.reason,
            old.assignee) == ("Old question?", "sent", None, (), "unanswered", None)
    Inbox(outbox).assign("esc_old", "alice", "bob")
    assert [e.action for e in outbox.events("esc_old")] == ["assigned"]
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    Outbox(path, dedupe_window_seconds=1, escalations_per_hour=1, retention_days=1)  # again
    assert outbox.get("esc_old").assignee == "alice"


def test_page_url_and_conversation_are_checked_and_purged(outbox: Outbox, clock: Clock) -> None:
    assert check_page_url(" https://shop.example/pricing ") == "https://shop.example/pricing"
    assert check_page_url("") is None and check_page_url(None) is None
    for bad, why in (("javascript:alert(1)", "http"), ("https://a.example/\r\nBcc: x", "control"),
                     ("https://u:p@a.example/", "user name"), ("/relative", "absolute"),
                     ("https://a.example/" + "x" * 2000, "too long")):
        with pytest.raises(PolicyQAError, match=why):
            check_page_url(bad)
    earlier = clean_conversation([f"question {n}\n\u202e" for n in range(15)] + [None, " "])
    assert earlier == tuple(f"question {n}" for n in range(5, 15))
    assert clean_conversation(["coo\u2060kies\u200b?\x00"]) == ("cookies ?",)
    assert clean_conversation(["a\ud800b"]) == ("a b",)  # stored, then written as UTF-8
    esc = outbox.enqueue("Do you sell my data?", to=INBOX, page_url="https://shop.example/",
                         conversation=["Hi there?", "What about cookies?"], reason="unhelpful")
    assert (esc.page_url, esc.conversation, esc.reason) == (
        "https://shop.example/", ("Hi there?", "What about cookies?"), "unhelpful")
    outbox.resolve(esc.id, "Answered")
    clock.now += 31 * DAY
    assert outbox.purge() == 1
    gone = outbox.get(esc.id)
    assert (gone.question, gone.page_url, gone.conversation) == ("", None, ())


def test_similar_unresolved_questions_group_by_the_real_embeddings(
        outbox: Outbox, clock: Clock, embedder) -> None:
    questions = ["Do you sell my personal data?", "Is my data sold to advertisers?",
                 "Do you sell my information to third parties?",
                 "How long do you keep my voice recordings?",
                 "How long are voice recordings stored?", "What is your office address?",
                 "Do you share my data with the police?"]  # 0.68 to the first: apart
    for q in questions:
        outbox.enqueue(q, to=INBOX)
        clock.now += 60
    done = outbox.enqueue("Do you sell data to brokers?", to=INBOX)
    outbox.resolve(done.id, "No")
    groups = group_similar(outbox.list(), embedder.encode, DEFAULT_THRESHOLD)
    sizes = [g.size for g in groups]
    assert sizes == [3, 2, 1, 1], [(g.size, g.questions) for g in groups]
    assert groups[0].example == questions[0]  # the oldest starts the group
    assert set(groups[1].questions) == set(questions[3:5])
    assert done.id not in {i for g in groups for i in g.ids}  # resolved ones are not grouped


def test_mailto_reply_is_percent_encoded_and_has_no_line_breaks_in_the_subject(
        outbox: Outbox) -> None:
    question = "Do you sell\r\nBcc: evil@example.com\nmy data & more? <b>?"
    esc = outbox.enqueue(question, to=INBOX, email="a@example.org",
                         passages=[{"section": "Sharing", "anchor": "sharing",
                                    "url": "https://k.example/p#sharing",
                                    "quote": "We do not sell your data.", "score": 0.3}])
    outbox.attach_email(esc.id, "b+tag@example.org")
    link = mailto(outbox.get(esc.id))
    assert link is not None and link.startswith("mailto:a@example.org,b%2Btag@example.org?")
    assert not any(c in link for c in "\r\n <>&\"'" if c != "&") and link.count("&") == 1
    parts = parse_qs(urlsplit(link).query)
    assert parts["subject"] == ["Re: Do you sell Bcc: evil@example.com my data & more? <b>?"]
    body = parts["body"][0]
    assert "\r\n> Do you sell\r\n" in body and "> We do not sell your data.\r\n" in body
    assert "(Sharing: https://k.example/p#sharing)" in body
    assert unquote(urlsplit(link).path) == "a@example.org,b+tag@example.org"
    assert mailto(outbox.enqueue("No address here?", to=INBOX)) is None
