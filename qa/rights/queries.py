"""The tables of the rights request log (its schema, with the append-only
`request_events`) and the SQL over them as functions of an open connection;
qa/rights/store.py opens the connections and transactions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from index.errors import NotFoundError
from qa.database import Connection
from qa.escalation.mail import one_line
from qa.rights.records import STATES, RightsRequest, event_from_row, from_row

__all__ = ["SCHEMA", "SCHEMA_VERSION", "append_event", "find_duplicate", "get", "received_since",
           "select"]

SCHEMA_VERSION = 1

_STATE_LIST = ", ".join(f"'{s}'" for s in STATES)
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    jurisdiction TEXT NOT NULL,
    email TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    passages TEXT NOT NULL DEFAULT '[]',
    client TEXT NOT NULL DEFAULT '',
    recipient TEXT NOT NULL,
    received_at REAL NOT NULL,
    confirm_by TEXT,
    due TEXT NOT NULL,
    extendable_to TEXT,
    extended_due TEXT,
    state TEXT NOT NULL CHECK (state IN ({_STATE_LIST})),
    closed_at REAL,
    mail_status TEXT NOT NULL DEFAULT 'queued'
        CHECK (mail_status IN ('queued', 'sent', 'failed')),
    mail_attempts INTEGER NOT NULL DEFAULT 0,
    mail_next_at REAL NOT NULL,
    lease_until REAL,
    lease_token TEXT,
    mail_error TEXT,
    mail_sent_at REAL
);
CREATE INDEX IF NOT EXISTS requests_due ON requests (due);
CREATE INDEX IF NOT EXISTS requests_mail ON requests (mail_status, mail_next_at);
CREATE INDEX IF NOT EXISTS requests_client ON requests (client, received_at);
CREATE TABLE IF NOT EXISTS request_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL REFERENCES requests (id),
    at REAL NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS request_events_request ON request_events (request_id, seq);
CREATE TRIGGER IF NOT EXISTS request_events_no_delete BEFORE DELETE ON request_events
BEGIN SELECT RAISE(ABORT, 'request events are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS request_events_no_update BEFORE UPDATE ON request_events
BEGIN SELECT RAISE(ABORT, 'request events are never changed'); END;
"""


def get(con: Connection, req_id: str, time_zone: str = "UTC") -> RightsRequest:
    """One request with its history, or NotFoundError naming the id."""
    row = con.execute("SELECT * FROM requests WHERE id = ?", (str(req_id),)).fetchone()
    if row is None:
        raise NotFoundError(f"no rights request with id {one_line(str(req_id), 40)!r}")
    events = con.execute("SELECT * FROM request_events WHERE request_id = ? ORDER BY seq",
                         (row["id"],))
    return from_row(row, (event_from_row(e) for e in events), time_zone)


def select(con: Connection, filters: dict[str, str], time_zone: str = "UTC"
           ) -> list[RightsRequest]:
    """Requests whose columns equal `filters` (checked names), soonest due first (the
    extended date once extended), each with its history."""
    where = " AND ".join(f"{column} = ?" for column in filters)
    rows = con.execute(
        "SELECT * FROM requests" + (f" WHERE {where}" if where else "")
        + " ORDER BY COALESCE(extended_due, due), received_at, id",
        list(filters.values())).fetchall()
    events = defaultdict(list)
    for event in con.execute("SELECT * FROM request_events ORDER BY seq"):
        events[event["request_id"]].append(event_from_row(event))
    return [from_row(r, events[r["id"]], time_zone) for r in rows]


def append_event(con: Connection, req_id: str, at: float, from_state: str | None,
                 to_state: str, note: str = "", reason: str = "", actor: str = "") -> None:
    """Append one state change to the request's history."""
    con.execute("INSERT INTO request_events (request_id, at, from_state, to_state, note,"
                " reason, actor) VALUES (?,?,?,?,?,?,?)",
                (req_id, at, from_state, to_state, note, reason, actor))


def find_duplicate(con: Connection, client: str, request: Mapping[str, str],
                   since: float) -> str | None:
    """The id of the newest open request from this (hashed) client received after
    `since` that is the same `request` (kind, jurisdiction, email, question, details,
    recipient): a retried POST. New details or another jurisdiction make a request of
    their own (none is dropped), and so does another policy's inbox."""
    row = con.execute(
        "SELECT id FROM requests WHERE client = ? AND kind = ? AND jurisdiction = ?"
        " AND email = ? AND question = ? AND details = ? AND recipient = ?"
        " AND received_at > ? AND state NOT IN ('done', 'refused')"
        " ORDER BY received_at DESC LIMIT 1",
        (client, request["kind"], request["jurisdiction"], request["email"],
         request["question"], request["details"], request["recipient"], since)).fetchone()
    return None if row is None else row["id"]


def received_since(con: Connection, client: str, since: float) -> list[float]:
    """When this (hashed) client's requests received after `since` came in, oldest first."""
    return [r[0] for r in con.execute(
        "SELECT received_at FROM requests WHERE client = ? AND received_at > ?"
        " ORDER BY received_at", (client, since))]
