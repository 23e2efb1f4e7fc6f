"""Questions that ask how to reach the team ("how can I contact you about privacy?",
"whats your email for privacy stuff"): the answer shows a way to reach it. A passage's
quote is its sentence giving an e-mail or postal address or a phone number
(index/glosses.py) when one scores nearly as well as its best; and a resolved answer
none of whose quotes gives the privacy inbox the policy names opens by giving it. Only
what is shown changes: the scores, the ranking and the resolved/unresolved decision do
not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from index.glosses import holds_contact, holds_mail_or_phone
from qa.answering.retrieve import Hit

CONTACT_MARGIN = 0.15  # how far below the best a sentence with a contact detail may score
_ASKS_CONTACT = re.compile(
    r"\b(?:contact|reach|write to|call|phone|telephone|mailing address|postal address|"
    r"e-?mail (?:you|us|them|someone|somebody|the)|your (?:e-?mail|address|phone)|"
    r"who (?:can|do|should|would) i (?:e-?mail|write|contact|ask|call))\b", re.IGNORECASE)


def contact_first(question: str, hit: Hit) -> Hit:
    """For a question that asks how to reach someone ("who can I email to delete my
    data?"), the hit with its best sentence that gives a contact detail (an e-mail or
    postal address, a phone number: index/glosses.py) made its best, when it scores
    within CONTACT_MARGIN of the best: the quote then shows the address. Only the
    quote changes; the hit's scores, and so the ranking and the decision, do not."""
    if not hit.sentences or not _ASKS_CONTACT.search(question):
        return hit
    text, sents = hit.chunk.text, list(hit.sentences)
    best = max(s[2] for s in sents)
    found = [i for i, (a, b, score) in enumerate(sents)
             if score >= best - CONTACT_MARGIN and holds_contact(text[a:b])]
    if not found:
        return hit
    pick = max(found, key=lambda i: sents[i][2])
    if sents[pick][2] >= best:
        return hit
    sents[pick] = (sents[pick][0], sents[pick][1], best + 1e-6)
    return replace(hit, sentences=tuple(sents))


# Stricter than _ASKS_CONTACT, because it adds words to the answer: the visitor wants to
# reach the team ("how do I reach you", "who do I contact", "your mailing address"), not
# to know what is done with their own contact details ("is my phone number account data?").
ASKS_TO_REACH = re.compile(
    r"\b(?:how|who|whom|where|which [\w-]+) (?:do|can|could|should|would|may) (?:i|we) "
    r"(?:just |directly )?(?:contact|reach|write to|e-?mail|call|ask)\b"
    r"|\b(?:reach out|get in touch)\b"
    r"|\b(?:contact|e-?mail|write to|call) (?:you|us|someone|somebody)\b"
    r"|\b(?:what(?:'s| is)?|whats) (?:the|your) (?:[\w-]+ ){0,2}(?:e-?mail(?: address)?"
    r"|mailing address|postal address|address|phone number|contact(?: details| info))\b"
    r"|\b(?:which|what) e-?mail(?: address)? (?:do|should|can|is|handles)\b"
    r"|\bprivacy (?:contact|e-?mail)\b", re.IGNORECASE)


REACH = "You can reach the privacy team at {inbox}. "


def reach_lead(question: str, quotes: Sequence[str], inbox: str) -> str:
    """The words before a resolved answer's quotes for a question that asks how to reach
    the team, when no quote gives the privacy inbox the policy names nor any other
    e-mail address or phone number: "You can reach the privacy team at ADDRESS. " (the
    policy's own address, which it may give only inside, say, its rights section); else
    "" (a second address beside a quoted one contradicted it: a DPO's beside the
    "contact us at" of the quotes)."""
    if not inbox or not ASKS_TO_REACH.search(question):
        return ""
    if any(inbox.lower() in quote.lower() or holds_mail_or_phone(quote) for quote in quotes):
        return ""  # a quote gives a way to reach them (maybe another address: its words);
    # a postal address alone does not (OpenGov's is where donations are mailed)
    return REACH.format(inbox=inbox)
