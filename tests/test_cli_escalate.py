"""`policy-qa ask --escalate`: unresolved questions reach the outbox (on disk) before the
answer says so; resolved ones never do; `outbox deliver` then writes the e-mail."""

from __future__ import annotations

import json
import mailbox

import pytest

from index.policy import parse_policy
from index.store import build_index, save_index
from qa.escalation.outbox import Outbox
from qa.settings import BUNDLED_POLICY
from ui.cli.main import main

UNANSWERABLE = "What is the price of the pro plan?"
ANSWERABLE = "Can I remove my testimonial?"


@pytest.fixture()
def env(monkeypatch, tmp_path, korero_index_dir):
    monkeypatch.setenv("POLICY_QA_INDEX", str(korero_index_dir))
    monkeypatch.setenv("POLICY_QA_OUTBOX", str(tmp_path / "outbox.sqlite3"))
    monkeypatch.setenv("POLICY_QA_MAILDIR", str(tmp_path / "maildir"))
    monkeypatch.delenv("POLICY_QA_SMTP_HOST", raising=False)
    return tmp_path


def _ask(capsys, *argv: str) -> tuple[list[dict], str]:
    """The Answer JSON lines, and what went to stderr."""
    assert main(["ask", "--json", *argv]) == 0
    out, err = capsys.readouterr()
    return [json.loads(line) for line in out.splitlines()], err


def test_escalate_forwards_only_unresolved_questions(env, capsys):
    (unresolved, resolved), note = _ask(capsys, "--escalate", UNANSWERABLE, ANSWERABLE)
    assert not unresolved["resolved"] and resolved["resolved"]
    assert resolved["escalation"] is None
    escalation = unresolved["escalation"]
    assert set(escalation) == {"id", "status", "to"}
    assert escalation["status"] in {"queued", "sent"}
    assert escalation["to"] == "privacy@koreroapp.com"
    assert f"forwarded your question to privacy@koreroapp.com (reference {escalation['id']})" \
        in unresolved["answer"]
    stored = Outbox(env / "outbox.sqlite3", dedupe_window_seconds=3600,
                    escalations_per_hour=100, retention_days=30).get(escalation["id"])
    assert stored.question == UNANSWERABLE
    # the CLI delivers nothing itself: it says the question waits, and how it is sent
    assert "1 question(s) queued" in note and "policy-qa outbox deliver" in note
    assert [p.anchor for p in stored.passages] == [p["anchor"] for p in unresolved["passages"]]

    assert main(["outbox", "deliver"]) == 0
    messages = list(mailbox.Maildir(env / "maildir", create=False))
    assert len(messages) == 1
    assert escalation["id"] in messages[0]["Message-ID"]
    assert messages[0]["To"] == "privacy@koreroapp.com"


def test_escalate_takes_the_reply_address_and_checks_it(env, capsys):
    (answer,), _ = _ask(capsys, "--escalate", "--email", "visitor@example.org", UNANSWERABLE)
    stored = Outbox(env / "outbox.sqlite3", dedupe_window_seconds=3600,
                    escalations_per_hour=100, retention_days=30).get(answer["escalation"]["id"])
    assert stored.email == "visitor@example.org"
    assert main(["ask", "--escalate", "--email", "not an address", "What about HIPAA?"]) == 2
    assert main(["ask", "--email", "visitor@example.org", UNANSWERABLE]) == 2
    assert "add --escalate" in capsys.readouterr().err


def test_ask_without_escalate_never_touches_the_outbox(env, capsys):
    (answer,), _ = _ask(capsys, UNANSWERABLE)
    assert not answer["resolved"] and answer["escalation"] is None
    assert "privacy@koreroapp.com" in answer["answer"]
    assert not (env / "outbox.sqlite3").exists()


def test_a_rights_request_is_neither_queued_nor_silently_dropped(env, capsys):
    """`ask --escalate "Delete my account"` files no escalation (a rights request is no
    unanswered question) and says where a request is submitted instead."""
    (answer,), note = _ask(capsys, "--escalate", "--email", "me@example.org",
                           "Please delete my account and all my data")
    assert answer["request"]["kind"] == "deletion" and answer["escalation"] is None
    assert "1 message(s) ask to exercise a privacy right; nothing was submitted" in note
    assert "POST /api/requests" in note and "queued" not in note


def test_two_policies_on_one_outbox_each_get_their_own_question(env, capsys, monkeypatch,
                                                                  embedder):
    """Two indexes share the default outbox file; the same question asked of each,
    from the same client, reaches each policy's inbox (an audit found the second one
    folded into the first: the CLI named one inbox, the mail went to the other)."""
    other_dir = env / "other-index"
    text = BUNDLED_POLICY.read_text("utf-8").replace("privacy@koreroapp.com",
                                                     "privacy@other.example")
    text = text.replace("title: Privacy", "title: Other Privacy")
    save_index(build_index(parse_policy(text, "other.md"), embedder), other_dir)
    (first,), _ = _ask(capsys, "--escalate", UNANSWERABLE)
    monkeypatch.setenv("POLICY_QA_INDEX", str(other_dir))
    (second,), note = _ask(capsys, "--escalate", UNANSWERABLE)
    assert first["escalation"]["to"] == "privacy@koreroapp.com"
    assert second["escalation"]["to"] == "privacy@other.example"
    assert second["escalation"]["id"] != first["escalation"]["id"]
    assert "for privacy@other.example" in note

    assert main(["outbox", "deliver"]) == 0
    messages = list(mailbox.Maildir(env / "maildir", create=False))
    assert sorted(m["To"] for m in messages) == ["privacy@koreroapp.com",
                                                 "privacy@other.example"]
