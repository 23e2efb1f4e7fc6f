"""The request log's upkeep by the privacy team, beside the store's own life cycle
(qa/rights/store.py): correcting a request's jurisdiction, and the retention purge.

- `set_jurisdiction`: a requester who said "don't know" turns out to live in the EU, or
  in California. The clock is computed again from the day of receipt under the new
  jurisdiction (so "unknown", which never allows an extension, can become one that
  does), and the change is kept in the history. Not once extended or closed.
- `purge`: a request closed (done or refused) more than `retention_days` ago keeps its
  record (kind, jurisdiction, dates, states, history: what the law asks a business to be
  able to show, e.g. 24 months of records under the CCPA's regulations) but loses the
  requester's e-mail address, message, details and the quoted passages.
"""

from __future__ import annotations

from index.errors import ConfigError
from qa.rights import deadlines, queries
from qa.rights.records import (
    FINAL_STATES,
    RequestStateError,
    RightsRequest,
    check_choice,
    clean_actor,
    clean_note,
)
from qa.rights.store import RequestStore

DAY = 86400.0


def set_jurisdiction(store: RequestStore, req_id: str, jurisdiction: str, note: str = "",
                     actor: str = "") -> RightsRequest:
    """Correct the request's jurisdiction and its dates (confirm by, due, extendable to)."""
    check_choice(jurisdiction, deadlines.JURISDICTIONS, "jurisdiction")
    note, actor = clean_note(note), clean_actor(actor)
    now = store.clock()
    zone = store.rules.time_zone
    with store.database.transaction() as con:
        request = queries.get(con, req_id, zone)
        if request.state in FINAL_STATES or request.extended_due:
            raise RequestStateError(f"request {request.id} is {request.state}; its "
                                    "jurisdiction can change only while it is open and "
                                    "not extended")
        try:
            limits = deadlines.due_dates(request.kind, jurisdiction, deadlines.local_day(
                request.received_at, store.rules), store.rules, store.holidays)
        except ConfigError as exc:
            raise RequestStateError(f"request {request.id}: {exc}") from None
        due = limits.respond_by.isoformat()
        con.execute("UPDATE requests SET jurisdiction = ?, confirm_by = ?, due = ?,"
                    " extendable_to = ? WHERE id = ?",
                    (jurisdiction, deadlines.iso_day(limits.confirm_by), due,
                     deadlines.iso_day(limits.extended_to), request.id))
        said = f"jurisdiction {request.jurisdiction} -> {jurisdiction}, due {request.due}"
        said += f" -> {due}" + (f"; {note}" if note else "")
        queries.append_event(con, request.id, now, request.state, request.state, said, "",
                             actor)
        return queries.get(con, request.id, zone)


def purge(store: RequestStore, retention_days: float, now: float | None = None) -> int:
    """Blank the personal data of requests closed more than `retention_days` ago; how
    many were blanked."""
    cutoff = (store.clock() if now is None else now) - retention_days * DAY
    with store.database.transaction() as con:
        cur = con.execute(
            "UPDATE requests SET email = '', question = '', details = '', passages = '[]'"
            " WHERE state IN ('done', 'refused') AND closed_at < ?"
            " AND (email != '' OR question != '' OR details != '' OR passages != '[]')",
            (cutoff,))
        count = cur.rowcount
    if count:
        store.database.checkpoint()
    return count
