"""Contact details are embedded with a gloss in a visitor's words (index/glosses.py), and
that is what lifts the section that holds them; nothing shown or scored lexically moves."""

from __future__ import annotations

import pytest

import index.units
from index.glosses import glossed
from index.split import Chunk
from index.store import build_index
from index.units import Unit, chunk_text, unit_text
from qa.answering.retrieve import Retriever

ADDRESS, EMAIL, DATE = "postal mailing address", "e-mail address", "last updated"
PHONE = "our phone number"
KINDS = (ADDRESS, EMAIL, PHONE, DATE)


@pytest.mark.parametrize("text, glosses", [
    ("Korero, Inc. 1 Union Sq W New York, NY 10003", [ADDRESS]),
    ("Mozilla Corporation, 149 New Montgomery Street, 4th Floor, San Francisco", [ADDRESS]),
    ("Bird & Bird DPO Services SRL Avenue Louise 235 b 1 1050 Brussels Belgium", [ADDRESS]),
    ("Write to P.O. Box 1234, Springfield.", [ADDRESS]),
    ("Example Ltd, 10 Downing St, London SW1A 2AA", [ADDRESS]),
    ("Questions should be directed to privacy@koreroapp.com or to:", [EMAIL]),
    ("Last Revised: September 4, 2024", [DATE]),
    ("Effective date: 1 May 2023. Mail dpo@example.org", [EMAIL, DATE]),
    ("Call us on +1 (800) 555-0199 or +44 20 7946 0958.", [PHONE]),
    ("Our toll-free line is 1-800-555-0199.", [PHONE]),
    ("Questions? (415) 555.0123", [PHONE]),
    ("We have 1 000 000 users and 2.500.000 visits; see 2024-09-04.", []),
    ("We collect your name, email address, phone number and postal address.", []),
    ("In 2019 we last updated our cookie banner design", [DATE]),
    ("We last updated the page after the review.", []),  # no year: not a revision date
    ("Section 3 applies to 12 Member States.", []),
    ("The GDPR is effective from 25 May 2018.", []),  # a law's date, not the policy's
    ("Our Terms of Service establish the use of our website.", []),
])
def test_recognised_details_get_their_glosses(text, glosses):
    out = glossed(text)
    assert out.startswith(text)
    for gloss in KINDS:
        assert (gloss in out[len(text):]) == (gloss in glosses), (text, out)
    assert (out == text) == (not glosses)


def test_a_long_run_of_word_characters_is_left_alone():
    text = "a" * 50_000 + ".b" * 1_000  # a pasted blob; EMAIL alone would be quadratic
    assert glossed(text) == text


def test_only_sentences_are_embedded_glossed_and_only_embedded():
    text = "Write to us. Korero, Inc. 1 Union Sq W New York, NY 10003"
    chunk = Chunk("c0", "Contact us", None, "contact-us", text, 0, len(text))
    start = text.index("Korero")
    for kind in ("sentence", "plain"):
        unit = Unit(0, start, len(text), kind)
        assert unit.embed_text(chunk) == glossed(unit_text(chunk, kind, start, len(text)))
        assert ADDRESS in unit.embed_text(chunk)
        assert ADDRESS not in unit_text(chunk, kind, start, len(text))  # quoted verbatim
    assert Unit(0, 0, len(text), "chunk").embed_text(chunk) == chunk_text(chunk)
    assert ADDRESS not in chunk_text(chunk)  # what BM25 and the passages read
    assert Unit(0, 0, 0, "heading").embed_text(chunk) == "Contact us"


def _first_places(retriever: Retriever, question: str) -> list[str]:
    anchors: list[str] = []
    for hit in retriever.retrieve(question).hits:
        if hit.chunk.anchor not in anchors:
            anchors.append(hit.chunk.anchor)
    return anchors


# Korero dev-set questions (tests/data/korero-dev.jsonl), never its test set
QUESTIONS = [("what's the full street address of Korero Inc for sending a legal letter?",
              "contact-us"),
             ("what date did this policy take effect", "privacy-policy")]


def test_glosses_lift_the_section_holding_the_details(korero_index, korero_policy,
                                                      embedder, monkeypatch):
    glossed_retriever = Retriever(korero_index, embedder)
    monkeypatch.setattr(index.units, "glossed", lambda text: text)
    verbatim = Retriever(build_index(korero_policy, embedder), embedder)
    for question, section in QUESTIONS:
        assert _first_places(glossed_retriever, question)[0] == section
        assert _first_places(verbatim, question).index(section) > 0  # without: lower


def test_holds_contact_means_a_way_to_reach_someone():
    from index.glosses import holds_contact

    assert holds_contact("Write to privacy@shop.example with questions.")
    assert holds_contact("Call us on +1 (212) 555-0100.")
    assert holds_contact("Korero, Inc. 1 Union Sq W New York, NY 10003")
    assert not holds_contact("Last Revised: September 4, 2024")  # a date is no address
    assert not holds_contact("We collect your e-mail address and postal address.")
