"""`policy-qa requests ...` in-process: list, show, set-state, export (CSV and JSON,
to a file or standard output), deliver to the Maildir, and bad input as one line on
stderr with exit code 2."""

from __future__ import annotations

import csv
import io
import json
import mailbox

import pytest

from qa.rights.store import RequestStore
from ui.cli.main import main

INBOX = "privacy@koreroapp.example"


@pytest.fixture()
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("POLICY_QA_OUTBOX", str(tmp_path / "state" / "outbox.sqlite3"))
    monkeypatch.setenv("POLICY_QA_MAILDIR", str(tmp_path / "maildir"))
    monkeypatch.delenv("POLICY_QA_SMTP_HOST", raising=False)
    monkeypatch.delenv("POLICY_QA_CONFIG", raising=False)
    return tmp_path


@pytest.fixture()
def store(env) -> RequestStore:
    return RequestStore(env / "state" / "requests.sqlite3")


@pytest.fixture()
def two(store):
    deletion = store.submit("deletion", "eu_uk", "ana@example.org", "Please delete my account",
                            to=INBOX, details="user ana_k")
    access = store.submit("access", "california", "bo@example.org",
                          "Send me a copy of my data", to=INBOX)
    return deletion, access


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_requests_soonest_due_first(two, capsys):
    deletion, access = two
    code, out, err = run(capsys, "requests", "list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "KIND", "JURISDICTION", "STATE", "RECEIVED", "DUE",
                                "FLAG", "MAIL", "MESSAGE"]
    order = sorted(two, key=lambda r: (r.due, r.received_at))
    assert [line.split()[0] for line in lines[1:]] == [r.id for r in order]
    assert "Please delete my account" in out and deletion.due in out

    code, out, _ = run(capsys, "requests", "list", "--kind", "access", "--json")
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == [access.id]
    code, out, _ = run(capsys, "requests", "list", "--state", "done")
    assert code == 0 and "(no requests)" in out


def test_list_flags_overdue_requests_and_their_confirmations(env, capsys):
    """Received 60 and 12 days ago: the first past its response date, the second (in
    California, still "received") past its 10 business days to confirm receipt."""
    import time

    now = time.time()
    at = [now - 60 * 86400]
    old = RequestStore(env / "state" / "requests.sqlite3", clock=lambda: at[0])
    late = old.submit("deletion", "eu_uk", "ana@example.org", "Please delete my data", to=INBOX)
    at[0] = now - 16 * 86400
    unconfirmed = old.submit("access", "california", "bo@example.org", "Send me my data",
                             to=INBOX)
    at[0] = now
    fresh = old.submit("access", "eu_uk", "cy@example.org", "Send me my data", to=INBOX)
    code, out, _ = run(capsys, "requests", "list")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "OVERDUE by" in rows[late.id]
    assert "CONFIRM RECEIPT: OVERDUE by" in rows[unconfirmed.id]
    assert " - " in rows[fresh.id]
    code, out, _ = run(capsys, "requests", "list", "--overdue", "--json")
    flagged = {json.loads(line)["id"]: json.loads(line)["flag"] for line in out.splitlines()}
    assert set(flagged) == {late.id, unconfirmed.id}
    assert flagged[late.id].startswith("OVERDUE by 2")  # one month from 60 days ago


def test_show_and_set_state_record_the_history(two, store, capsys):
    deletion, _ = two
    code, out, err = run(capsys, "requests", "set-state", deletion.id, "identity_check",
                         "--note", "asked for a photo ID", "--actor", "sam")
    assert (code, err) == (0, "") and f"{deletion.id} is now identity_check" in out
    code, out, _ = run(capsys, "requests", "set-state", deletion.id, "extended",
                       "--reason", "several systems to search")
    assert code == 0 and f"due {deletion.extendable_to}" in out
    assert store.get(deletion.id).extended_due == deletion.extendable_to

    code, out, _ = run(capsys, "requests", "show", deletion.id)
    assert code == 0
    assert f"{deletion.id}  deletion  extended" in out
    assert f"extended to {deletion.extendable_to}" in out
    assert "received -> identity_check  by sam: asked for a photo ID" in out
    assert "identity_check -> extended  by cli: several systems to search" in out
    code, out, _ = run(capsys, "requests", "show", deletion.id, "--json")
    shown = json.loads(out)
    assert [e["to_state"] for e in shown["history"]] == ["received", "identity_check",
                                                         "extended"]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_to_a_file_and_to_stdout(two, store, env, capsys, fmt):
    out_file = env / "export" / f"requests.{fmt}"
    code, out, _ = run(capsys, "requests", "export", "--format", fmt, "--out", str(out_file))
    assert code == 0 and "wrote 2 requests" in out
    written = out_file.read_text("utf-8")
    if fmt == "csv":
        assert list(csv.DictReader(io.StringIO(written))) == store.export_rows()
    else:  # the same rows, with passages and history as arrays, not JSON text
        rows = json.loads(written)
        assert rows == [{**r, "passages": json.loads(r["passages"]),
                         "history": json.loads(r["history"])} for r in store.export_rows()]
        assert isinstance(rows[0]["history"], list) and rows[0]["history"][0]["to_state"]
    assert oct(out_file.stat().st_mode & 0o777) == "0o600"  # personal data
    code, out, _ = run(capsys, "requests", "export", "--format", fmt)
    assert code == 0 and out == written


def test_deliver_writes_each_request_mail_once(two, env, capsys):
    code, out, _ = run(capsys, "requests", "deliver")
    assert code == 0 and out.startswith("sent 2, retried 0, failed 0 via maildir")
    code, out, _ = run(capsys, "requests", "deliver")
    assert code == 0 and out.startswith("sent 0,")
    messages = list(mailbox.Maildir(env / "maildir", create=False))
    assert sorted(m["Message-ID"] for m in messages) == sorted(
        f"<{r.id}@policy-qa.invalid>" for r in two)
    assert {m["Reply-To"] for m in messages} == {"ana@example.org", "bo@example.org"}


@pytest.mark.parametrize(("argv", "needle"), [
    (["set-state", "{id}", "done"], "is received; it cannot move to done"),
    (["set-state", "{id}", "archived"], "state must be one of received"),
    (["set-state", "{id}", "refused"], "a reason is required"),
    (["set-state", "req_missing", "in_progress"], "no rights request with id"),
    (["show", "req_missing"], "no rights request with id 'req_missing'"),
    (["list", "--kind", "erasure"], "kind must be one of access"),
    (["list", "--jurisdiction", "mars"], "jurisdiction must be one of eu_uk"),
    (["export", "--format", "xml"], "--format must be csv or json"),
    (["export", "--out", "{dir}"], "--out must be a file"),
    (["resend-mail", "{id}"], "not failed"),
])
def test_bad_input_is_one_line_and_exit_2(two, env, capsys, argv, needle):
    deletion, _ = two
    argv = [a.format(id=deletion.id, dir=env) for a in argv]
    code, out, err = run(capsys, "requests", *argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("policy-qa: error: ")
    assert needle in err


def test_a_final_request_refuses_every_move(two, store, capsys):
    _, access = two
    store.set_state(access.id, "in_progress")
    store.set_state(access.id, "done")
    code, _, err = run(capsys, "requests", "set-state", access.id, "in_progress")
    assert code == 2 and len(err.splitlines()) == 1
    assert "is done; it cannot move to in_progress (allowed: none, it is final)" in err
    assert [e.to_state for e in store.history(access.id)] == ["received", "in_progress",
                                                              "done"]
