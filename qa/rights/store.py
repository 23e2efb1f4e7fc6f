"""The durable log of privacy rights requests: one SQLite file (WAL, synchronous=FULL,
secure_delete), by default `requests.sqlite3` next to the escalation outbox, or the
`rights` schema of the PostgreSQL `database_url` (the database layer is qa/database/).

    store = RequestStore.from_settings(settings)
    request = store.submit("deletion", "eu_uk", "ana@example.org", "Delete my account",
                           to=inbox, passages=answer.passages, client=ip)
    store.set_state(request.id, "identity_check", note="asked for ID", actor="sam")

`submit` commits the request, with its legal due date (qa.rights.deadlines), before
it returns; as the escalation outbox does, it returns the request already taken when the
same client sends the same request again within the dedupe window (a retried POST, a
double click), and refuses a client past its requests per hour. Every state change
is checked against the allowed moves (the records and the state machine are in
qa/rights/records.py) and appended to `request_events`, which triggers keep
append-only. The request's e-mail to the privacy inbox is leased
to one deliverer at a time (`claim_mail` / `mark_mail_*`, driven by
`qa.rights.mail.deliver_pending`).
"""

from __future__ import annotations

import builtins
import json
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from index.errors import ConfigError, RateLimitedError
from qa.clients import bucket_of
from qa.database import client_hash, open_database
from qa.escalation.mail import one_line
from qa.escalation.records import check_question, clean_passages, validate_email
from qa.rights import deadlines, queries
from qa.rights.clock_file import load_clock
from qa.rights.features import KINDS
from qa.rights.records import (
    FINAL_STATES,
    STATES,
    MailClaim,
    RequestEvent,
    RequestStateError,
    RightsRequest,
    check_choice,
    check_transition,
    clean_actor,
    clean_details,
    clean_note,
    export_row,
)
from qa.rights.urgency import urgency

__all__ = ["FILE_NAME", "RequestStore", "default_path"]

FILE_NAME = "requests.sqlite3"
MAX_ERROR_CHARS = 500
HOUR = 3600.0


def default_path(settings: Any) -> Path:
    """Where the request log lives: `requests.sqlite3` in the outbox's folder."""
    return Path(settings.outbox).expanduser().parent / FILE_NAME


class RequestStore:
    """Durable store of rights requests in one SQLite file, held as `database`.

    Every call opens its own short-lived connection, so one store can be shared by
    request threads and a delivery worker, and several processes can share the file.
    Due dates count from the calendar day of receipt in the rules' time zone (UTC unless
    the deadlines file sets `time_zone`) under `rules` and `holidays`.
    A client (never the empty one: operators, the CLI) may submit `requests_per_hour`
    requests (0: no limit); a repeat within `dedupe_window_seconds` is the same request.
    """

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time,
                 rules: deadlines.Rules = deadlines.DEFAULT_RULES,
                 holidays: Iterable[date] = (), dedupe_window_seconds: float = 0.0,
                 requests_per_hour: int = 0) -> None:
        self.database = open_database(path, "rights request log", store="rights",
                                      synchronous="FULL", secure_delete=True)
        self.clock = clock
        self.rules = rules
        self.holidays = frozenset(holidays)
        self.dedupe_window_seconds = float(dedupe_window_seconds)
        self.requests_per_hour = int(requests_per_hour)
        self.database.prepare()
        self._secret = self.database.create(queries.SCHEMA, queries.SCHEMA_VERSION)

    @property
    def path(self) -> Path | str:
        return self.database.path

    @classmethod
    def from_settings(cls, settings: Any, **options: Any) -> RequestStore:
        """The store at `default_path(settings)` with the escalations' dedupe window and
        per-client hourly limit, and the deadline rules and holidays of the
        `request_deadlines` file (qa/rights/clock_file.py) if one is set; `options` go
        to the constructor."""
        deadline_file = str(getattr(settings, "request_deadlines", "") or "")
        if deadline_file:
            rules, holidays = load_clock(Path(deadline_file).expanduser())
            options.setdefault("rules", rules)
            options.setdefault("holidays", holidays)
        options.setdefault("dedupe_window_seconds",
                           getattr(settings, "dedupe_window_seconds", 0.0))
        options.setdefault("requests_per_hour", getattr(settings, "escalations_per_hour", 0))
        return cls(getattr(settings, "database_url", "") or default_path(settings), **options)

    # --- taking requests in ---------------------------------------------------------

    def submit(self, kind: str, jurisdiction: str, email: str, question: str, *, to: str,
               details: str | None = None, passages: Iterable[Any] = (),
               client: str = "") -> RightsRequest:
        """Commit a new request (state received, its e-mail queued) and return it.

        `question` is the visitor's message; `passages` the policy passages offered
        (dicts or Hit-like objects); `to` the privacy inbox; `client` any stable client
        identifier, counted as its bucket (`qa.clients.bucket_of`: an IPv6 address's
        /64), of which only a keyed hash is stored. The same request (kind,
        jurisdiction, e-mail, message, details, inbox) from the same bucket within the
        dedupe window, still open, is returned as it is; RateLimitedError past the
        bucket's requests per hour.
        """
        check_choice(kind, KINDS, "kind")
        check_choice(jurisdiction, deadlines.JURISDICTIONS, "jurisdiction")
        email = validate_email(email)
        to = validate_email(to, allow_local=True)
        _, text = check_question(question)
        details = clean_details(details)
        offered = json.dumps([p.to_dict() for p in clean_passages(passages)])
        now = self.clock()
        limits = deadlines.due_dates(kind, jurisdiction, deadlines.local_day(now, self.rules),
                                     self.rules, self.holidays)
        ckey = client_hash(self._secret, bucket_of(client))
        with self.database.transaction() as con:
            if ckey and self.dedupe_window_seconds > 0:
                same = queries.find_duplicate(
                    con, ckey, {"kind": kind, "jurisdiction": jurisdiction, "email": email,
                                "question": text, "details": details, "recipient": to},
                    now - self.dedupe_window_seconds)
                if same is not None:
                    return queries.get(con, same, self.rules.time_zone)
            self._check_rate(con, ckey, now)
            req_id = "req_" + secrets.token_urlsafe(9)
            con.execute(
                "INSERT INTO requests (id, kind, jurisdiction, email, details, question,"
                " passages, client, recipient, received_at, confirm_by, due, extendable_to,"
                " state, mail_next_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'received',?)",
                (req_id, kind, jurisdiction, email, details, text, offered, ckey, to, now,
                 deadlines.iso_day(limits.confirm_by), limits.respond_by.isoformat(),
                 deadlines.iso_day(limits.extended_to), now))
            queries.append_event(con, req_id, now, None, "received", "", "", "assistant")
            self.database.announce(con)  # every replica's worker wakes on the commit
            return queries.get(con, req_id, self.rules.time_zone)

    def _check_rate(self, con: Any, ckey: str, now: float) -> None:
        limit = self.requests_per_hour
        if not ckey or limit <= 0:
            return
        recent = queries.received_since(con, ckey, now - HOUR)
        if len(recent) >= limit:
            retry = recent[len(recent) - limit] + HOUR - now
            raise RateLimitedError(
                f"too many rights requests from this client: {len(recent)} in the last "
                f"hour (limit {limit}); try again in {int(retry) + 1} s", retry)

    # --- reading --------------------------------------------------------------------

    def get(self, req_id: str) -> RightsRequest:
        """One request with its history, or NotFoundError naming the id."""
        with self.database.connect() as con:
            return queries.get(con, req_id, self.rules.time_zone)

    def list(self, kind: str | None = None, state: str | None = None,
             jurisdiction: str | None = None) -> builtins.list[RightsRequest]:
        """Requests, soonest due first (the extended date once extended), optionally
        only one kind, state and/or jurisdiction."""
        filters = {}
        for column, value, choices in (("kind", kind, KINDS), ("state", state, STATES),
                                       ("jurisdiction", jurisdiction,
                                        deadlines.JURISDICTIONS)):
            if value is not None:
                filters[column] = check_choice(value, choices, column)
        with self.database.connect() as con:
            return queries.select(con, filters, self.rules.time_zone)

    def history(self, req_id: str) -> builtins.list[RequestEvent]:
        """Every state change of one request, oldest first (the submission included)."""
        return builtins.list(self.get(req_id).history)

    def export_rows(self) -> builtins.list[dict[str, str]]:
        """Every request as a flat row of text (see qa.rights.records.to_csv/to_json)."""
        return [export_row(r) for r in self.list()]

    def counts(self) -> dict[str, Any]:
        """Totals by kind and by state; done on time (on or before the due date in
        force) ÷ done as `on_time_rate` (None before any is done); open requests past
        their due date, or past the date to confirm receipt (today in the rules' time
        zone), as `overdue`: the requests the console and `requests list` flag so."""
        requests = self.list()
        done = [r for r in requests if r.state == "done"]
        on_time = sum(1 for r in done if r.on_time)
        today = deadlines.local_day(self.clock(), self.rules)
        return {
            "total": len(requests),
            "by_kind": {k: sum(r.kind == k for r in requests) for k in KINDS},
            "by_state": {s: sum(r.state == s for r in requests) for s in STATES},
            "done": len(done), "done_on_time": on_time,
            "on_time_rate": on_time / len(done) if done else None,
            "overdue": sum(urgency(r, today) == "overdue" for r in requests),
        }

    # --- the privacy team -----------------------------------------------------------

    def set_state(self, req_id: str, state: str, note: str | None = "", actor: str = "",
                  *, reason: str | None = "") -> RightsRequest:
        """Move a request to `state` and append the change to its history.

        refused and extended need a `reason`; extended moves the due date to the one
        `qa.rights.deadlines.extend` allows (once, and only until the first due date).
        """
        note, reason, actor = clean_note(note), clean_note(reason, "reason"), \
            clean_actor(actor)
        now = self.clock()
        with self.database.transaction() as con:
            request = queries.get(con, req_id, self.rules.time_zone)
            check_transition(request, state, reason)
            sets, params = "state = ?", [state]
            if state == "extended":
                try:
                    on = deadlines.local_day(now, self.rules)
                    extended = deadlines.extend(request.deadlines(), on=on)
                except ConfigError as exc:
                    raise RequestStateError(f"request {request.id}: {exc}") from None
                sets += ", extended_due = ?"
                params.append(extended.respond_by.isoformat())
            if state in FINAL_STATES:
                sets += ", closed_at = ?"
                params.append(now)
            con.execute(f"UPDATE requests SET {sets} WHERE id = ?", (*params, request.id))
            queries.append_event(con, request.id, now, request.state, state, note, reason, actor)
            return queries.get(con, request.id, self.rules.time_zone)

    # --- delivery of the request's e-mail (leases) ------------------------------------

    def claim_mail(self, now: float | None = None, lease_seconds: float = 300.0, *,
                   due_by: float | None = None) -> MailClaim | None:
        """Lease the next queued e-mail due by `due_by` (default `now`) whose lease is
        free at `now`, until now + lease_seconds; each claim counts as an attempt."""
        now = self.clock() if now is None else now
        due_by = now if due_by is None else due_by
        with self.database.transaction("ROWS") as con:  # SKIP LOCKED on PostgreSQL
            row = con.execute(
                "SELECT id FROM requests WHERE mail_status = 'queued' AND mail_next_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?)"
                " ORDER BY mail_next_at, received_at LIMIT 1" + self.database.skip_locked,
                (due_by, now)).fetchone()
            if row is None:
                return None
            token = secrets.token_hex(8)
            con.execute("UPDATE requests SET lease_until = ?, lease_token = ?,"
                        " mail_attempts = mail_attempts + 1 WHERE id = ?",
                        (now + lease_seconds, token, row["id"]))
            return MailClaim(queries.get(con, row["id"], self.rules.time_zone), token)

    def mark_mail_sent(self, claim: MailClaim, now: float | None = None) -> bool:
        """The transport accepted the e-mail; False if the lease was lost meanwhile."""
        return self._release(claim, "mail_status = 'sent', mail_sent_at = ?",
                             self.clock() if now is None else now)

    def mark_mail_retry(self, claim: MailClaim, error: str, next_at: float) -> bool:
        """Keep the e-mail queued, due again at `next_at`; False if the lease was lost."""
        return self._release(claim, "mail_error = ?, mail_next_at = ?",
                             one_line(str(error), MAX_ERROR_CHARS), next_at)

    def mark_mail_failed(self, claim: MailClaim, error: str) -> bool:
        """Give up on the e-mail (it keeps `error`); False if the lease was lost."""
        return self._release(claim, "mail_status = 'failed', mail_error = ?",
                             one_line(str(error), MAX_ERROR_CHARS))

    def resend_mail(self, req_id: str) -> RightsRequest:
        """Queue a failed e-mail again, with a fresh attempt budget."""
        with self.database.transaction() as con:
            request = queries.get(con, req_id, self.rules.time_zone)
            if request.mail_status != "failed":
                raise RequestStateError(f"the e-mail of request {request.id} is "
                                        f"{request.mail_status}, not failed")
            con.execute("UPDATE requests SET mail_status = 'queued', mail_attempts = 0,"
                        " mail_next_at = ?, mail_error = NULL WHERE id = ?",
                        (self.clock(), request.id))
            self.database.announce(con)
            return queries.get(con, request.id, self.rules.time_zone)

    def _release(self, claim: MailClaim, sets: str, *params: Any) -> bool:
        with self.database.transaction() as con:
            cur = con.execute(
                f"UPDATE requests SET {sets}, lease_until = NULL, lease_token = NULL"
                " WHERE id = ? AND lease_token = ? AND mail_status = 'queued'",
                (*params, claim.request.id, claim.token))
            return cur.rowcount == 1
