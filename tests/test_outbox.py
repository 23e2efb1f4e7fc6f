"""The outbox on a real SQLite file: durability settings, dedupe, rate limit, states,
retention, and the `policy-qa outbox` handlers."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest

from index.errors import (
    ConfigError,
    EmailError,
    NotFoundError,
    PolicyQAError,
    QuestionError,
    RateLimitedError,
)
from qa.escalation.outbox import EscalationStateError, Outbox
from qa.escalation.records import dedupe_key
from qa.settings import Settings
from ui.cli import outbox as cli_outbox

INBOX = "privacy@koreroapp.example"
DAY = 86400.0


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "outbox.sqlite3"


def make(db: Path, clock: Clock, **kw) -> Outbox:
    options = {"dedupe_window_seconds": 600, "escalations_per_hour": 3, "retention_days": 30}
    options.update(kw)
    return Outbox(db, clock=clock, **options)


def test_file_is_wal_with_full_sync_and_rows_survive_reopen(db: Path, clock: Clock) -> None:
    outbox = make(db, clock)
    esc = outbox.enqueue("  Do you sell my data?  ", to=INBOX, email="a@example.org",
                         passages=[{"section": "S", "anchor": "s", "url": "u", "quote": "q",
                                    "score": 0.5, "extra": "dropped"}],
                         client="203.0.113.7", policy_title="Korero Privacy Policy")
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    health = outbox.health()
    assert (health["journal_mode"], health["synchronous"]) == ("wal", "full")
    assert health["counts"]["queued"] == 1
    again = make(db, clock).get(esc.id)
    assert again == esc
    assert again.question == "Do you sell my data?"
    assert again.status == "queued" and again.attempts == 0
    assert again.passages[0].to_dict() == {"section": "S", "anchor": "s", "url": "u",
                                           "quote": "q", "score": 0.5}
    assert esc.id.startswith("esc_") and len(esc.id) == 16
    assert esc.ref().to_dict() == {"id": esc.id, "status": "queued", "to": INBOX}
    assert json.loads(json.dumps(esc.to_dict()))["passages"][0]["section"] == "S"


def test_client_is_stored_only_as_a_keyed_hash(db: Path, clock: Clock) -> None:
    outbox = make(db, clock)
    esc = outbox.enqueue("Do you sell my data?", to=INBOX, client="203.0.113.7")
    assert esc.client and "203.0.113.7" not in esc.client and len(esc.client) == 32
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir())
    assert b"203.0.113.7" not in raw
    assert make(db, clock).enqueue("Other question?", to=INBOX,
                                   client="203.0.113.7").client == esc.client


def test_dedupe_window_returns_the_same_escalation_and_records_email(
        db: Path, clock: Clock) -> None:
    outbox = make(db, clock)
    first = outbox.enqueue("Do you sell my data?", to=INBOX, client="c1")
    clock.advance(60)
    same = outbox.enqueue("do you SELL my data", to=INBOX, client="c1", email="a@example.org")
    assert same.id == first.id and same.email == "a@example.org"
    assert outbox.enqueue("Do you sell my data?", to=INBOX, client="c2").id != first.id
    clock.advance(600)  # window over: a new escalation
    assert outbox.enqueue("Do you sell my data?", to=INBOX, client="c1").id != first.id
    assert outbox.counts()["queued"] == 3


def test_the_same_question_to_another_policy_goes_to_its_own_inbox(
        db: Path, clock: Clock) -> None:
    """Two indexes on one outbox (the default file is shared): a visitor asking both
    the same question is two escalations, each to its policy's inbox (found by an
    audit: the second one was folded into the first and never reached its inbox)."""
    outbox = make(db, clock)
    first = outbox.enqueue("What's the price?", to=INBOX, client="cli",
                           policy_title="Korero Privacy Policy")
    other = outbox.enqueue("What's the price?", to="privacy@other.example", client="cli",
                           policy_title="Other Privacy Policy", email="a@example.org")
    assert other.id != first.id and other.to == "privacy@other.example"
    assert other.email == "a@example.org" and outbox.get(first.id).email is None
    # another policy with the same inbox (a team's privacy and cookie policies) too
    cookies = outbox.enqueue("What's the price?", to=INBOX, client="cli",
                             policy_title="Korero Cookie Policy")
    assert cookies.id not in (first.id, other.id)
    # and each one still dedupes against itself
    assert outbox.enqueue("what's the price", to=INBOX, client="cli",
                          policy_title="  Korero Privacy Policy ").id == first.id
    assert sorted(e.to for e in outbox.list()) == [INBOX, INBOX, "privacy@other.example"]


def test_dedupe_does_not_change_email_once_sent(db: Path, clock: Clock) -> None:
    outbox = make(db, clock)
    esc = outbox.enqueue("Do you sell my data?", to=INBOX, client="c1")
    [claim] = outbox.claim_due()
    assert outbox.mark_sent(claim)
    again = outbox.enqueue("Do you sell my data?", to=INBOX, client="c1")
    assert again.id == esc.id and again.status == "sent"  # nothing new: deduplicated
    late = outbox.enqueue("Do you sell my data?", to=INBOX, client="c1", email="a@example.org")
    assert outbox.get(esc.id).email is None and outbox.get(esc.id).status == "sent"
    # the sent mail cannot carry a new asker, so their address gets an escalation of its own
    assert late.id != esc.id and late.status == "queued" and late.email == "a@example.org"


def test_rate_limit_per_client_with_retry_after(db: Path, clock: Clock) -> None:
    outbox = make(db, clock)
    for n in range(3):
        outbox.enqueue(f"Question {n} about cookies?", to=INBOX, client="c1")
        clock.advance(100)
    with pytest.raises(RateLimitedError) as err:
        outbox.enqueue("One more about cookies?", to=INBOX, client="c1")
    assert err.value.retry_after == 3600 - 300
    assert "3 in the last hour" in str(err.value)
    # a duplicate is not a new escalation, so it is not limited
    assert outbox.enqueue("Question 0 about cookies?", to=INBOX, client="c1")
    assert outbox.enqueue("Another client asks?", to=INBOX, client="c2")  # others unaffected
    assert outbox.enqueue("An operator asks?", to=INBOX, client="")  # no client: no limit
    clock.advance(3600 - 300 + 1)
    assert outbox.enqueue("One more about cookies?", to=INBOX, client="c1").status == "queued"


@pytest.mark.parametrize("question", ["", "   ", "?!? ...", "\u200b\u200b", "12 34"])
def test_questions_without_words_are_refused(db: Path, clock: Clock, question: str) -> None:
    with pytest.raises(QuestionError):
        make(db, clock).enqueue(question, to=INBOX)


def test_over_long_and_broken_questions_are_refused(db: Path, clock: Clock) -> None:
    outbox = make(db, clock)
    with pytest.raises(QuestionError, match="too long: 20001"):
        outbox.enqueue("a" * 20_001, to=INBOX)
    with pytest.raises(QuestionError, match="surrogates"):
        outbox.enqueue("why \ud800", to=INBOX)
    with pytest.raises(EmailError):
        outbox.enqueue("Who reads this?", to="not an address")
    assert sum(outbox.counts().values()) == 0


def test_dedupe_key_is_the_question_key() -> None:
    """The dedupe key forgets case, spacing, Unicode form and closing punctuation (the
    one qa.normalize.question_key); it no longer merges "sell_my" with "sell my"."""
    assert dedupe_key("  Do you SELL my data?!  ") == dedupe_key("do you sell my data")
    assert dedupe_key("Ｄｏ you\tsell my\ndata") == dedupe_key("do you sell my data")
    assert dedupe_key("Do you sell my data?") != dedupe_key("Do you sell my date?")


def test_attach_email_only_while_queued(db: Path, clock: Clock) -> None:
    outbox = make(db, clock)
    esc = outbox.enqueue("Do you sell my data?", to=INBOX, hold_seconds=60)
    assert outbox.claim_due() == []  # held back so the asker can add an address
    assert outbox.attach_email(esc.id, "Asker@Example.org").email == "Asker@example.org"
    with pytest.raises(EmailError, match="invalid e-mail address 'x\\\\r\\\\ny'"):
        outbox.attach_email(esc.id, "x\r\ny")
    clock.advance(61)
    [claim] = outbox.claim_due()
    with pytest.raises(EscalationStateError, match="being delivered"):
        outbox.attach_email(esc.id, "b@example.org")
    outbox.mark_sent(claim)
    with pytest.raises(EscalationStateError, match="already sent"):
        outbox.attach_email(esc.id, "b@example.org")
    with pytest.raises(NotFoundError, match="esc_nope"):
        outbox.attach_email("esc_nope", "b@example.org")


def test_an_address_ends_the_hold_but_not_a_back_off(db: Path, clock: Clock) -> None:
    outbox = make(db, clock)
    esc = outbox.enqueue("Do you sell my data?", to=INBOX, hold_seconds=60)
    assert outbox.claim_due() == []  # held for an address
    outbox.attach_email(esc.id, "asker@example.org")
    [claim] = outbox.claim_due()  # due at once, the clock not moved
    outbox.mark_retry(claim, "421 try later", clock() + 100)
    outbox.attach_email(esc.id, "second@example.org")
    assert outbox.claim_due() == []  # a back-off is not a hold: it keeps its time


def test_every_commit_that_queues_mail_wakes_the_worker_after_it(db: Path, clock: Clock
                                                                 ) -> None:
    """What wakes the app's delivery worker on SQLite (PostgreSQL's NOTIFY does it
    there): a commit that queued mail, seen after the commit (another connection reads
    the row), an address added; never a rolled-back transaction."""
    outbox, woken = make(db, clock), []
    undo = outbox.database.wake_on_announce(
        lambda: woken.append([e.id for e in make(db, clock).list()]))
    esc = outbox.enqueue("Do you sell my data?", to=INBOX, hold_seconds=60)
    assert woken == [[esc.id]]  # the row was committed when the worker woke
    outbox.attach_email(esc.id, "asker@example.org")
    assert len(woken) == 2
    with pytest.raises(RuntimeError), outbox.database.transaction() as con:
        outbox.database.announce(con)
        raise RuntimeError("rolled back")
    assert len(woken) == 2
    undo()
    outbox.enqueue("Where are your servers?", to=INBOX)
    assert len(woken) == 2


def test_lost_lease_cannot_overwrite_a_newer_outcome(db: Path, clock: Clock) -> None:
    outbox = make(db, clock)
    esc = outbox.enqueue("Do you sell my data?", to=INBOX)
    [slow] = outbox.claim_due(lease_seconds=10)
    clock.advance(11)  # the slow deliverer's lease expired; another one takes over
    [fast] = outbox.claim_due(lease_seconds=10)
    assert outbox.mark_sent(fast)
    assert not outbox.mark_retry(slow, "timed out", clock() + 5)
    row = outbox.get(esc.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_states_list_counts_and_errors(db: Path, clock: Clock) -> None:
    outbox = make(db, clock)
    a = outbox.enqueue("First question?", to=INBOX)
    clock.advance(1)
    b = outbox.enqueue("Second question?", to=INBOX)
    [claim] = outbox.claim_due(limit=1)
    assert claim.escalation.id == a.id and claim.escalation.attempts == 1
    assert outbox.mark_failed(claim, "permanent: 550 no such user")
    assert [e.id for e in outbox.list()] == [b.id, a.id]  # newest first
    assert [e.id for e in outbox.list(status="failed")] == [a.id]
    assert outbox.counts() == {"queued": 1, "sent": 0, "failed": 1, "resolved": 0}
    with pytest.raises(EscalationStateError, match="queued, not failed"):
        outbox.resend(b.id)
    with pytest.raises(NotFoundError):
        outbox.get("esc_missing")
    with pytest.raises(PolicyQAError, match="unknown status 'lost'"):
        outbox.list(status="lost")


def test_resolve_and_retention_purge(db: Path, clock: Clock) -> None:
    outbox = make(db, clock, retention_days=30)
    old = outbox.enqueue("Do you keep my voice recordings?", to=INBOX, email="a@example.org")
    recent = outbox.enqueue("Where is my data stored?", to=INBOX, email="b@example.org")
    open_one = outbox.enqueue("Who is the controller?", to=INBOX, email="c@example.org")
    resolved = outbox.resolve(old.id, "Answered by e-mail", section="#how-long-do-we-keep")
    assert resolved.status == "resolved" and resolved.resolution_section == "how-long-do-we-keep"
    clock.advance(20 * DAY)
    outbox.resolve(recent.id, "Answered", section="where-we-store")
    with pytest.raises(PolicyQAError, match="note is required"):
        outbox.resolve(open_one.id, "  ")
    with pytest.raises(PolicyQAError, match="section must be"):
        outbox.resolve(open_one.id, "ok", section="two words")
    assert outbox.resolved_examples() == [
        {"question": "Do you keep my voice recordings?", "section": "how-long-do-we-keep"},
        {"question": "Where is my data stored?", "section": "where-we-store"}]

    clock.advance(11 * DAY)  # `old` resolved 31 days ago, `recent` 11 days ago
    assert outbox.purge() == 1
    purged = outbox.get(old.id)
    assert (purged.question, purged.email) == ("", None)
    assert purged.resolution_note == "Answered by e-mail" and purged.status == "resolved"
    assert outbox.get(recent.id).question == "Where is my data stored?"
    assert outbox.get(open_one.id).email == "c@example.org"  # unresolved: kept
    assert outbox.purge() == 0
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir())
    assert b"voice recordings" not in raw and b"a@example.org" not in raw  # really gone
    assert [e["section"] for e in outbox.resolved_examples()] == ["where-we-store"]
    from qa.escalation.inbox import Inbox  # a purged one stays resolved: nothing to work on
    with pytest.raises(EscalationStateError, match="purged"):
        Inbox(outbox).reopen(old.id, "alice")
    assert Inbox(outbox).reopen(recent.id, "alice").status == "queued"


def test_unusable_outbox_paths_are_clear_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "outbox.sqlite3"
    bad.write_bytes(b"this is not a database at all" * 100)
    options = {"dedupe_window_seconds": 1, "escalations_per_hour": 1, "retention_days": 1}
    with pytest.raises(ConfigError, match="outbox.sqlite3.*not a usable SQLite file"):
        Outbox(bad, **options)
    with pytest.raises(ConfigError, match="cannot create the outbox folder"):
        Outbox(bad / "under-a-file" / "outbox.sqlite3", **options)
    folder = tmp_path / "a-folder.sqlite3"
    folder.mkdir()
    with pytest.raises(ConfigError, match="a-folder.sqlite3"):
        Outbox(folder, **options)


# --- the `policy-qa outbox` handlers --------------------------------------------------


def run_cli(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="policy-qa")
    cli_outbox.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["outbox", *argv])
    return args.handler(args, settings)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(outbox=tmp_path / "outbox.sqlite3", maildir=tmp_path / "maildir",
                    mail_from="policy-qa@koreroapp.example", smtp_host="")


def test_cli_deliver_list_resend_resolve_export(settings: Settings, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                korero_index_dir: Path) -> None:
    settings = settings.replace(index=korero_index_dir)  # --section is checked against it
    outbox = Outbox.from_settings(settings)
    esc = outbox.enqueue("Do you sell my data?\r\nBcc: x@y.z " + "long " * 30, to=INBOX)
    assert run_cli(settings, "list") == 0
    table = capsys.readouterr().out
    assert esc.id in table and "queued" in table and "Do you sell my data? Bcc: x@y.z" in table
    assert "\r" not in table and max(len(line) for line in table.splitlines()) < 140

    assert run_cli(settings, "deliver") == 0
    assert "sent 1, retried 0, failed 0 via maildir" in capsys.readouterr().out
    assert len(list((tmp_path / "maildir" / "new").iterdir())) == 1

    assert run_cli(settings, "list", "--status", "sent", "--json") == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["id"] == esc.id and json.loads(line)["status"] == "sent"

    with pytest.raises(EscalationStateError):
        run_cli(settings, "resend", esc.id)
    with pytest.raises(NotFoundError):
        run_cli(settings, "resolve", "esc_unknown", "--note", "x")
    # a section the index does not have would become training data and a dead link
    with pytest.raises(PolicyQAError, match="unknown section 'nonexistent-anchor'"):
        run_cli(settings, "resolve", esc.id, "--note", "x", "--section", "nonexistent-anchor")
    assert outbox.get(esc.id).status == "sent"
    assert run_cli(settings, "resolve", esc.id, "--note", "answered", "--section",
                   "when-would-we-share-your-information") == 0
    out = tmp_path / "exports" / "resolved.jsonl"
    assert run_cli(settings, "export-resolved", "--out", str(out)) == 0
    assert "wrote 1" in capsys.readouterr().out
    [example] = [json.loads(x) for x in out.read_text().splitlines()]
    assert example == {"question": esc.question,
                       "section": "when-would-we-share-your-information"}


def test_cli_resend_requeues_a_failed_escalation(settings: Settings,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    outbox = Outbox.from_settings(settings)
    esc = outbox.enqueue("Do you sell my data?", to=INBOX)
    [claim] = outbox.claim_due()
    outbox.mark_failed(claim, "permanent: 550")
    assert run_cli(settings, "resend", esc.id) == 0
    assert f"{esc.id} queued for delivery" in capsys.readouterr().out
    assert outbox.get(esc.id).status == "queued"
    assert run_cli(settings, "purge") == 0
    assert "purged question text of 0" in capsys.readouterr().out
