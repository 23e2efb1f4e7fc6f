"""Read-only views of the outbox: one escalation, a status listing, counts, the health
report, and the resolved examples that tuning learns from. Mixed into `Outbox`
(qa/escalation/outbox.py); nothing here writes.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

from qa.escalation.records import Escalation, _check_status, _from_row
from qa.sqlite import connect, fetch


class OutboxQueries:
    """The reading half of `Outbox`; needs only its `path`."""

    path: Path

    def get(self, esc_id: str) -> Escalation:
        with connect(self.path) as con:
            return _from_row(fetch(con, esc_id))

    def list(self, status: str | None = None, limit: int | None = 200) -> list[Escalation]:
        """Escalations newest first, optionally only one status; limit None = all."""
        where, params = ("WHERE status = ?", [_check_status(status)]) if status else ("", [])
        sql = f"SELECT * FROM escalations {where} ORDER BY created_at DESC, id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(0, int(limit)))
        with connect(self.path) as con:
            return [_from_row(r) for r in con.execute(sql, params)]

    def counts(self) -> dict[str, int]:
        with connect(self.path) as con:
            rows = dict(con.execute("SELECT status, COUNT(*) FROM escalations GROUP BY status"))
        return {s: int(rows.get(s, 0)) for s in ("queued", "sent", "failed", "resolved")}

    def health(self) -> dict[str, Any]:
        """What a health check or the console shows: durability settings and counts."""
        with connect(self.path) as con:
            journal = con.execute("PRAGMA journal_mode").fetchone()[0]
            sync = con.execute("PRAGMA synchronous").fetchone()[0]
        return {"path": str(self.path), "journal_mode": journal,
                "synchronous": {2: "full", 3: "extra"}.get(sync, str(sync)),
                "counts": self.counts()}

    def resolved_examples(self) -> builtins.list[dict[str, str]]:
        """{"question", "section"} pairs an agent resolved with a section (not purged)."""
        with connect(self.path) as con:
            rows = con.execute(
                "SELECT question, resolution_section FROM escalations WHERE status = 'resolved'"
                " AND resolution_section IS NOT NULL AND question != '' ORDER BY resolved_at"
            ).fetchall()
        return [{"question": q, "section": s} for q, s in rows]
