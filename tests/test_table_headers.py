"""A table row is embedded with its column labels (index/tables.py), never shown with them.

"Payment data | 7 years after the transaction | Tax law requires it" is what a reader
sees and what an answer quotes; the model reads "Payment data | 7 years after the
transaction (Retention period) | Tax law requires it (Why)", so "how long…" and "on what
legal basis…" questions find the row they ask about. Tables without column labels are
embedded as before, and the labels survive a save, a load and a rebuild that reuses
vectors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import index.split
from index.documents import Document, document_id
from index.glosses import glossed
from index.policy import parse_policy
from index.split import SplitSettings, split_policy
from index.store import build_documents, build_index, load_index, save_index
from index.units import chunk_text, make_units, unit_text
from qa.service import Service
from qa.settings import Settings

RETENTION = """# Acme Privacy Policy

Contact us at privacy@acme.example.

## How long do we keep your data?

We keep personal data only as long as we need it. The table below lists each kind of data.

| Type of data | Retention period | Why |
|---|---|---|
| Account and contact data | Until you close your account, then 30 days | To run your account |
| Payment data | 7 years after the transaction | Tax law requires it |
| Support tickets | 2 years after the ticket is closed | To improve support |
| Server logs | 14 days | Security |

## Sharing

We share data with payment processors and hosting providers.
"""

PURPOSES = """# Lumen Health App Privacy Policy

This policy explains how Lumen Health processes personal data of people using the Lumen app.

## Data we process and why

The table below sets out the categories of personal data we process, examples of each, \
the purposes we use them for, and the legal basis we rely on.

| Category | Examples | Purpose | Legal basis |
|---|---|---|---|
| Identity data | Name, date of birth, username | Creating and managing your account | \
Performance of a contract |
| Health data | Heart rate, sleep records, symptoms you log | Showing you health insights \
in the app | Your explicit consent |
| Payment data | Card type, last four digits, billing address | Charging your subscription | \
Performance of a contract |
| Device data | Device model, operating system, crash logs | Fixing bugs and keeping the app \
secure | Our legitimate interests |
| Marketing data | Your e-mail address and newsletter choices | Sending you newsletters | \
Your consent, which you can withdraw at any time |
| Research data | Pseudonymised health records | Medical research with university partners \
| Your explicit consent, and scientific research exemptions |

## Security

We encrypt data in transit and at rest and limit access to staff who need it.
"""

PAYMENT_ROW = "Payment data | 7 years after the transaction | Tax law requires it"
# (policy, question, the row that answers it): before column labels, each of these was
# answered with another sentence (the section's opening, or the sentence about the table)
COLUMN_QUESTIONS = (
    (RETENTION, "How long do you keep my account data?",
     "Account and contact data | Until you close your account, then 30 days | To run your account"),
    (RETENTION, "Why do you keep my payment details for so long?", PAYMENT_ROW),
    (PURPOSES, "On what legal basis do you process identity data?",
     "Identity data | Name, date of birth, username | Creating and managing your account | "
     "Performance of a contract"),
    (PURPOSES, "What legal basis do you rely on for marketing?",
     "Marketing data | Your e-mail address and newsletter choices | Sending you newsletters | "
     "Your consent, which you can withdraw at any time"),
    (PURPOSES, "What is the legal basis for payment data?",
     "Payment data | Card type, last four digits, billing address | Charging your subscription | "
     "Performance of a contract"),
)


def _chunks(markdown: str, **split) -> list:
    return split_policy(parse_policy(markdown, name="p.md"), SplitSettings(**split))


def _embedded(chunks: list) -> list[tuple[str, str]]:
    return [(u.kind, u.embed_text(chunks[u.chunk])) for u in make_units(chunks)]


def _unlabelled(chunks: list) -> list[tuple[str, str]]:
    """What every unit was embedded as before column labels: its text, glossed."""
    return [(u.kind, glossed(t) if u.kind in ("sentence", "plain") else t)
            for u in make_units(chunks)
            for t in [unit_text(chunks[u.chunk], u.kind, u.start, u.end)]]


def _service(index, embedder, tmp_path: Path) -> Service:
    settings = Settings(index=tmp_path / "index", outbox=tmp_path / "outbox.sqlite3",
                        maildir=tmp_path / "maildir", analytics=tmp_path / "analytics.sqlite3")
    return Service(settings, index=index, embedder=embedder)


def _first_quote(service: Service, question: str) -> str:
    answer = service.ask(question)
    return answer.passages[0].quote if answer.passages else ""


# --- what is embedded, what is shown ------------------------------------------------


def test_a_row_is_embedded_with_its_column_labels_and_shown_without():
    chunk = next(c for c in _chunks(RETENTION) if PAYMENT_ROW in c.text)
    assert PAYMENT_ROW in chunk.text.split("\n")  # the reader text is unchanged
    assert "Retention period" not in chunk.text and "Type of data" not in chunk.text
    units = {(u.kind, chunk.text[u.start:u.end]): u for u in make_units([chunk])}
    plain = units["plain", PAYMENT_ROW].embed_text(chunk)
    titled = units["sentence", PAYMENT_ROW].embed_text(chunk)
    assert plain == ("Payment data | 7 years after the transaction (Retention period) | "
                     "Tax law requires it (Why)")
    assert titled == ("How long do we keep your data?: Payment data (Type of data) | 7 years "
                      "after the transaction (Retention period) | Tax law requires it (Why)")
    # the whole chunk (a lexical document and a tuning passage) and its sentence that
    # is no row are as before
    assert units["chunk", chunk.text].embed_text(chunk) == chunk_text(chunk)
    intro = "We keep personal data only as long as we need it."
    assert units["plain", intro].embed_text(chunk) == intro


def test_the_shown_quote_and_its_link_are_the_rows_own_words(embedder, tmp_path):
    service = _service(build_index(parse_policy(RETENTION, name="p.md"), embedder),
                       embedder, tmp_path)
    answer = service.ask("How long is payment data retained?")
    passage = answer.passages[0]
    assert passage.quote == PAYMENT_ROW
    assert "Retention" not in answer.answer and "(Why)" not in answer.answer
    assert "Retention" not in passage.url and "Type%20of" not in passage.url


def test_a_sentence_of_a_long_cell_keeps_its_column():
    md = ("# P\n\n## Keeping\n\nWe keep data.\n\n| Data | Kept for | Notes |\n|---|---|---|\n"
          "| Crash reports | 90 days | Sent only if you opt in. They contain no text. |\n")
    chunk = next(c for c in _chunks(md) if "Crash reports" in c.text)
    plain = [t for kind, t in _embedded([chunk]) if kind == "plain"]
    assert "Crash reports | 90 days (Kept for) | Sent only if you opt in. (Notes)" in plain
    assert "They contain no text. (Notes)" in plain


def test_labels_follow_cells_whose_words_change_in_rendering():
    md = ("# P\n\n## Keeping\n\nWe keep data.\n\n| Kind | Period |\n|---|---|\n"
          "| a \\| b [logs](https://x.example) | **14** days |\n")
    chunk = next(c for c in _chunks(md) if "logs" in c.text)
    assert "a | b logs | 14 days" in chunk.text
    assert ("plain", "a | b logs | 14 days (Period)") in _embedded([chunk])


def test_an_html_table_is_labelled_from_its_head():
    page = ("<html><body><main><h1>P</h1><h2>Keeping</h2><p>We keep data.</p><table>"
            "<thead><tr><th>Data</th><th>Retention period</th></tr></thead><tbody>"
            "<tr><td>Payment data</td><td>7 years</td></tr></tbody></table></main></body></html>")
    chunks = split_policy(parse_policy(page, name="p.html"))
    assert ("plain", "Payment data | 7 years (Retention period)") in _embedded(chunks)


def test_rows_of_a_table_cut_into_several_chunks_keep_their_labels():
    rows = "".join(f"| Record kind number {i} | {i + 1} years after the account closes |\n"
                   for i in range(30))
    md = f"# P\n\n## Keeping\n\nWe keep data.\n\n| Record | Retention period |\n|---|---|\n{rows}"
    chunks = [c for c in _chunks(md, chunk_size=300) if "Record kind" in c.text]
    assert len(chunks) > 2
    for chunk in chunks:
        rows_here = [ln for ln in chunk.text.split("\n") if ln.startswith("Record kind")]
        assert [(c, label) for _, _, c, label in chunk.headers] == [
            (0, "Record"), (1, "Retention period")] * len(rows_here)
        for start, end, column, _ in chunk.headers:
            words = chunk.text[start:end]
            assert words.startswith("Record kind") if column == 0 else words.endswith(
                "years after the account closes")


# --- tables without labels: as before ------------------------------------------------


@pytest.mark.parametrize("table", [
    "|  |  |\n|---|---|\n| Notes you write | Kept until you delete them |\n",  # empty header
    "| Notes you write | Kept until you delete them |\n| Login records | 12 months |\n",  # none
    "| | |\n| --- | --- |\n| Deleted notes | Removed after 35 days |\n",
])
def test_a_table_without_column_labels_is_embedded_as_before(table):
    md = f"# Pebble\n\nWe run Pebble.\n\n## How long we keep data\n\nAs long as needed.\n\n{table}"
    chunks = _chunks(md)
    assert all(c.headers == () for c in chunks)
    assert _embedded(chunks) == _unlabelled(chunks)
    assert all("headers" not in c.to_dict() for c in chunks)


def test_odd_rows_degrade_to_no_label_rather_than_a_wrong_one():
    md = ("# Quill\n\n## Retention\n\nHow long we keep data:\n\n"
          "| Data | | Notes |\n|---|---|---|\n"
          "| **Drafts** | Until you delete them | Synced |\n"  # a bold first cell: the row's
          "| Usage statistics | 18 months |\n"  # fewer cells: labelled from the left
          "| Backups | 30 days | Encrypted | Stored in the EU |\n"  # more cells: none
          "| Crash reports | 90 days | Opt-in only |\n")
    chunk = next(c for c in _chunks(md) if "Backups" in c.text)
    plain = {t for kind, t in _embedded([chunk]) if kind == "plain"}
    assert "Backups | 30 days | Encrypted | Stored in the EU" in plain
    assert "Usage statistics | 18 months" in plain  # the second column has no label
    assert "Crash reports | 90 days | Opt-in only (Notes)" in plain
    assert "Drafts | Until you delete them | Synced (Notes)" in plain
    titled = {t for kind, t in _embedded([chunk]) if kind == "sentence"}
    assert "Retention: Usage statistics (Data) | 18 months" in titled


# --- with the real model ---------------------------------------------------------------


def _answers(policy: str, embedder, tmp_path: Path) -> Service:
    return _service(build_index(parse_policy(policy, name="p.md"), embedder), embedder,
                    tmp_path)


def test_questions_naming_a_column_quote_the_row_first(embedder, tmp_path, monkeypatch):
    labelled = {p: _answers(p, embedder, tmp_path) for p in (RETENTION, PURPOSES)}
    for policy, question, row in COLUMN_QUESTIONS:
        assert _first_quote(labelled[policy], question) == row, question
    # the labels are what finds them: embedded without, most quote another sentence
    monkeypatch.setattr(index.split, "chunk_headers", lambda *args: ())
    plain = {p: _answers(p, embedder, tmp_path) for p in (RETENTION, PURPOSES)}
    missed = [q for p, q, row in COLUMN_QUESTIONS if _first_quote(plain[p], q) != row]
    assert len(missed) >= 4, missed


def test_labels_survive_save_load_and_a_rebuild_that_reuses_vectors(embedder, tmp_path):
    policy = parse_policy(RETENTION, name="policy.md")
    doc = Document(document_id(policy.name), policy.name, policy)
    out = save_index(build_index(policy, embedder), tmp_path / "index")
    loaded = load_index(out, model=embedder.id)
    built = build_index(policy, embedder)
    assert loaded.chunks == built.chunks and any(c.headers for c in loaded.chunks)
    assert _embedded(list(loaded.chunks)) == _embedded(list(built.chunks))
    question, row = COLUMN_QUESTIONS[0][1:]
    assert _first_quote(_service(loaded, embedder, tmp_path), question) == row

    again = build_documents([doc], embedder, previous=loaded)
    assert again.manifest["reused"] == [doc.id]
    assert _first_quote(_service(again, embedder, tmp_path), question) == row


def test_an_index_saved_without_labels_is_embedded_again_on_rebuild(embedder, tmp_path):
    policy = parse_policy(RETENTION, name="policy.md")
    doc = Document(document_id(policy.name), policy.name, policy)
    out = save_index(build_index(policy, embedder), tmp_path / "index")
    rows = [json.loads(line) for line in (out / "chunks.jsonl").read_text().splitlines()]
    assert any("headers" in r for r in rows)
    (out / "chunks.jsonl").write_text("".join(  # as an index built before labels was
        json.dumps({k: v for k, v in r.items() if k != "headers"}) + "\n" for r in rows))
    old = load_index(out, model=embedder.id)
    assert all(c.headers == () for c in old.chunks)  # it loads, embedded as it was

    again = build_documents([doc], embedder, previous=old)
    assert again.manifest["reused"] == []  # the embedded texts changed: not reused
    question, row = COLUMN_QUESTIONS[0][1:]
    assert _first_quote(_service(again, embedder, tmp_path), question) == row


def test_labels_land_on_the_row_not_on_an_earlier_line_with_its_words():
    """A row was found by its text: an equal line before it (a row of a table without
    labels, a bold lead-in) took the labels and the row got none (a review's case)."""
    md = ("# P\n\nProse text here.\n\n## R\n\nMore prose.\n\n| | |\n|---|---|\n| x | y |\n\n"
          "| C | D |\n|---|---|\n| x | y |\n")
    chunk = next(c for c in _chunks(md) if "More prose" in c.text)
    assert chunk.text == "More prose.\nx | y\nx | y"
    second = chunk.text.rindex("x | y")
    assert [(start, label) for start, _, _, label in chunk.headers] == [
        (second, "C"), (second + 4, "D")]
