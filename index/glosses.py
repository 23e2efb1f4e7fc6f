"""Contact details said in a visitor's words: the glosses a sentence is embedded with.

A visitor asks "what's your mailing address?", "what's your email?", "what number do I
call?" or "when was this last updated?"; the policy answers with "Korero, Inc. 1 Union
Sq W New York, NY 10003", "privacy@example.com", "+1 (800) 555-0199" or "Last Revised:
September 4, 2024", which share few words and little meaning with the question, so the
right section can rank below ones that merely talk about addresses. A sentence
recognised here as holding a postal address, an e-mail address, a telephone number or
the date the policy was revised is embedded with a short gloss in parentheses
(index/units.py `Unit.embed_text`, its `sentence` and `plain` units only).

The gloss is only embedded: it is never shown or quoted, the lexical scorers and the
quoted sentences read the verbatim text, and a passage's span is unchanged.
"""

from __future__ import annotations

import re

_STREET = (r"(?:St|Street|Ave|Avenue|Rd|Road|Sq|Square|Blvd|Boulevard|Ln|Lane|Dr|Drive"
           r"|Way|Pl|Place|Ct|Court|Pkwy|Parkway)")
POSTAL = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][\w.'-]*\s+){{1,4}}{_STREET}\b"  # 1 Union Sq W
    r"|\b(?:Avenue|Rue|Via|Calle|Boulevard|Chaussée|Straße|Strasse)\s+"
    r"(?:[A-Z][\w'-]*\s+){1,3}\d{1,5}\b"  # Avenue Louise 235
    r"|\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"  # NY 10003
    r"|\bP\.?\s?O\.?\s+Box\s+\d+"  # P.O. Box 12
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b"  # SW1A 1AA
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(
    r"\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}\b"  # +44 20 7946 0958
    r"|\(?\b\d{3}\)?[\s.-]\d{3}[.-]\d{4}\b"  # (800) 555-0199, 1-800-555-0199
)
REVISED = re.compile(r"\b(?:last\s+(?:revised|updated|modified|changed)|effective\s+"
                     r"(?:date|as\s+of)|updated\s+on)\b", re.IGNORECASE)  # not a law's
# "effective from 2018"
YEAR = re.compile(r"\b(?:19|20)\d\d\b")

GLOSSES = (  # (what it says, whether a text holds it)
    ("our postal mailing address, where we are located", POSTAL.search),
    ("e-mail address to contact", lambda text: "@" in text and EMAIL.search(text)),
    # (the "@" first: EMAIL alone scans a long run of word characters in quadratic time)
    ("our phone number, to call us", PHONE.search),
    ("the date this policy was last updated",
     lambda text: REVISED.search(text) and YEAR.search(text)),
)


def holds_contact(text: str) -> bool:
    """Whether `text` gives a way to reach someone: a postal or e-mail address or a
    phone number (the first three GLOSSES)."""
    return any(holds(text) for _, holds in GLOSSES[:3])


def holds_mail_or_phone(text: str) -> bool:
    """Whether `text` gives an e-mail address or a phone number (not only a postal one)."""
    return any(holds(text) for _, holds in GLOSSES[1:3])


def glossed(text: str) -> str:
    """`text`, followed by the glosses of the contact details it holds (unchanged when
    it holds none)."""
    found = [words for words, holds in GLOSSES if holds(text)]
    return f"{text} ({'; '.join(found)})" if found else text
