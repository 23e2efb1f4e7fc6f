"""A passage's link is named for where it lands: a heading below the section's (an
h4-h6, which the split keeps inside its section as a sub-section) is named too, so the
label never names one place and links to another (an exploratory tester's finding:
"[Level Three Retention](…#keys)" where #keys is the h6 "Key Rotation")."""

from __future__ import annotations

from pathlib import Path

from index.policy import load_policy
from index.split import Chunk
from index.store import build_index
from qa.answering.answer import link_label
from qa.service import Service
from qa.settings import Settings

PAGE = """<html><head><title>Deep policy</title></head><body><main>
<h1>Deep Privacy Policy</h1><p>Contact privacy@deep.example with questions.</p>
<h2 id="l2">Data</h2><p>We collect the email addresses of newsletter subscribers.</p>
<h3>Retention</h3><p>Newsletter subscriber lists are kept for two years.</p>
<h4 id="backups">Backups</h4><p>Backups are kept for ninety days in Frankfurt.</p>
<h6 id="keys">Key Rotation</h6><p>Encryption keys are rotated every 180 days by the
security team.</p>
</main></body></html>"""


def _chunk(anchor: str, section_anchor: str, subsection: str | None) -> Chunk:
    return Chunk("c", "Retention", subsection, anchor, "text", 0, 4,
                 section_anchor=section_anchor)


def test_the_label_names_the_heading_the_link_lands_on() -> None:
    deep = _chunk("keys", "retention", "Key Rotation")
    assert link_label(deep) == "Retention \u203a Key Rotation"
    assert link_label(_chunk("retention", "retention", "Do Not Track")) == "Retention"  # a lead-in
    assert link_label(_chunk("retention", "retention", None)) == "Retention"


def test_a_deep_headings_passage_is_labelled_with_it(tmp_path: Path, embedder) -> None:
    source = tmp_path / "deep.html"
    source.write_text(PAGE, encoding="utf-8")
    index = build_index(load_policy(source), embedder)
    answer = Service(Settings(cache_size=0), index=index, embedder=embedder).ask(
        "How often are encryption keys rotated?")
    top = answer.passages[0]
    assert "rotated every 180 days" in top.quote
    assert top.anchor == "keys" and "#keys" in top.url
    assert top.section.endswith("Key Rotation"), top.section
    assert f"[{top.section}]" in answer.answer or "Key Rotation" in answer.answer
