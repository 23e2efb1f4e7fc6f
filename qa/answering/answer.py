"""Answer composition: hits -> verbatim quotes, section links, resolved or not.

Every sentence a user sees is either the policy's own words or one of the fixed,
honest templates below. Quotes are trimmed to the sentences that answer; links point
at the section and carry a text fragment that scrolls to the quoted words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from urllib.parse import quote as percent_encode

from index.split import Chunk
from qa.answering.amounts import missing_amount
from qa.answering.contact import contact_first, reach_lead
from qa.answering.lead import direct_lead, self_names
from qa.answering.pages import Page
from qa.answering.quotes import MAX_QUOTE_CHARS, PageLines, quote_for, quote_of
from qa.answering.retrieve import Hit, Retrieval
from qa.records import Answer, EscalationRef, Kind, Passage, RequestRef

__all__ = ["MAX_QUOTE_CHARS", "Answer", "Answerer", "Passage", "as_request", "escalated",
           "quote_for", "rephrase", "small_talk", "submitted"]


# its examples are answered on the bundled policy (tests/test_answer.py): "How do I
# delete my account?" was not (widget audit, 2026-12-08; Korero speaks of information)
GREETING = ("Hello! Ask me anything about our privacy policy, for example "
            "\u201cDo you sell my data?\u201d or \u201cHow do I delete my data?\u201d")
THANKS = "You're welcome! Ask me anything else about our privacy policy."
REPHRASE = ("I could not make out a question there. Could you rephrase it in a few words, "
            "for example \u201cWhat data do you collect about me?\u201d")
FOUND = "Here is what our privacy policy says:"
FOUND_IN = "Here is what the {title} says:"  # an index of several documents, quoting one
FOUND_SEVERAL = "Here is what our documents say:"  # … quoting more than one
NOT_COVERED = "Our privacy policy does not seem to cover this."
NOT_GIVEN = {  # the question asks for an amount none of the quotes gives (amounts.py)
    "price": "Our privacy policy does not seem to give a price for this.",
    "units": "Our privacy policy does not seem to give a number of days, months or years "
             "for this.",
    "duration": "Our privacy policy does not seem to say how long.",
    "count": "Our privacy policy does not seem to give a number for this.",
}
CONTACT = " You can ask the privacy team at {inbox}."
FORWARDED = " I have forwarded your question to {to} (reference {id})."
CLOSEST = "These passages came closest, but may not answer your question:"
REQUEST_FOUND = ("It sounds like you want to {what}. Here is what our privacy policy says "
                 "about that right; you can also submit your request to the privacy team "
                 "here.")
REQUEST_UNSURE = ("It sounds like you want to {what}. Our privacy policy does not seem to "
                  "say how; you can submit your request to the privacy team here.")
REQUEST_UNSURE_AMOUNT = ("It sounds like you want to {what}. {missing} You can submit your "
                         "request to the privacy team here.")
REQUEST_NO_QUOTE = ("It sounds like you want to {what}. You can submit your request to the "
                    "privacy team here.")
SUBMITTED = ("Your request is submitted (reference {id}). The privacy team will verify your "
             "identity and reply to {email}. Their deadline to respond is {due}; some privacy "
             "laws allow them to extend it. I cannot verify, carry out or promise the outcome "
             "of the request myself.")
# Each right as a policy words it, retrieved beside a request's message: "send me a copy
# of my data" alone finds a sentence on a copy of an addendum. Not opt-outs: their
# messages name what is to stop ("stop selling my data"), and a policy's words on that
# ("we do not sell …") are found by the message itself.
RIGHT_TOPICS = {
    "access": "access the personal information you hold about me",
    "deletion": "delete or remove my personal information",
    "correction": "correct or update my personal information",
    "portability": "receive my personal data in a portable format",
    "objection": "object to or restrict the processing of my personal data",
    "withdraw_consent": "withdraw my consent to the processing of my personal data",
}
RIGHTS = {  # what each kind of rights request asks for, as the lead says it
    "access": "get a copy of the personal data held about you",
    "deletion": "have your personal data deleted",
    "correction": "have your personal data corrected",
    "portability": "receive your data in a portable format",
    "opt_out": "opt out of the sale or sharing of your data, or of targeted ads",
    "objection": "object to or restrict how your data is used",
    "withdraw_consent": "withdraw your consent",
}

_GREETING = re.compile(
    r"^(hi+|hello+|hey+|hiya|yo|good (morning|afternoon|evening|day)|greetings|howdy)"
    r"( there| bot| team| all)?[\s!.,?]*$", re.I)
_THANKS = re.compile(
    r"^(thanks?( you)?( so much| a lot| very much)?|thx|ty|cheers|great,? thanks?|ok(ay)?,? "
    r"thanks?|perfect,? thanks?|bye|goodbye|see you)[\s!.,?]*$", re.I)


def found_lead(passages: Sequence[Passage]) -> str:
    """The lead of a resolved answer from an index of several documents: it names the
    one document its quotes come from ("Here is what the Firefox Terms of Use says:"),
    or says they come from several; never "our privacy policy" for terms of use."""
    titles = list(dict.fromkeys(p.document.title for p in passages
                                if p.document is not None and p.document.title))
    if len(titles) != 1:
        return FOUND_SEVERAL
    return FOUND_IN.format(title=re.sub(r"^the\s+", "", titles[0], flags=re.I))


def not_covered(question: str, shown: Sequence[Passage]) -> str:
    """The unresolved lead's first sentence: what the policy does not seem to give."""
    missing = missing_amount(question, (p.quote for p in shown)) if shown else None
    return NOT_GIVEN[missing] if missing else NOT_COVERED


def amount_missing(answer: Answer) -> str | None:
    """The kind of amount its lead told the visitor the policy does not give (the
    answer as composed, forwarded or offered as a request), else None."""
    return next((kind for kind, s in NOT_GIVEN.items() if s in answer.lead), None)


def _unanswered_of(answer: Answer) -> str:
    """The first sentence of an unresolved answer's lead, as the visitor saw it."""
    missing = amount_missing(answer)
    return NOT_GIVEN[missing] if missing else NOT_COVERED


def escalated(answer: Answer, ref: EscalationRef, *, show_documents: bool = False) -> Answer:
    """The unresolved answer after its question was handed to the outbox: the same
    passages, with the lead saying where the question went."""
    lead = _unanswered_of(answer) + FORWARDED.format(to=ref.to, id=ref.id)
    return replace(answer, escalation=ref, lead=lead,
                   answer=answer_text(lead, answer.passages, resolved=False,
                                      show_documents=show_documents))


def as_request(answer: Answer, kind: str, *, show_documents: bool = False) -> Answer:
    """A message that asks to exercise a privacy right: the policy's words on that right
    (the passages found, shown as quotes), a lead that says so, and `request.kind`."""
    what = RIGHTS.get(kind, "exercise a privacy right")
    template = REQUEST_NO_QUOTE if not answer.passages else (
        REQUEST_FOUND if answer.resolved else REQUEST_UNSURE)  # unsure: quotes came closest
    missing = _unanswered_of(answer)
    if template == REQUEST_UNSURE and missing != NOT_COVERED:  # not "how" but how long
        template = REQUEST_UNSURE_AMOUNT.replace("{missing}", missing)
    lead = template.format(what=what)
    return replace(answer, kind=Kind.REQUEST, lead=lead, request=RequestRef(kind),
                   answer=answer_text(lead, answer.passages, resolved=answer.resolved,
                                      show_documents=show_documents))


def submitted(answer: Answer, email: str, *, show_documents: bool = False) -> Answer:
    """The answer once its rights request is submitted (`answer.request` has the id and
    due date): the lead gives the reference, the reply address and the team's deadline,
    no longer an offer to submit."""
    ref = answer.request
    assert ref is not None and ref.id is not None
    lead = SUBMITTED.format(id=ref.id, email=email, due=ref.due)
    return replace(answer, lead=lead, answer=answer_text(lead, answer.passages, resolved=True,
                                                         show_documents=show_documents))


def answer_text(lead: str, passages: tuple[Passage, ...], *, resolved: bool,
                show_documents: bool = False) -> str:
    """The contract's `answer`: the lead, then the quotes in Markdown (each naming its
    document after the link when the index holds several, as the chat does)."""
    if not passages:
        return lead
    quotes = "\n\n".join(_markdown_quote(p, show_documents) for p in passages)
    return f"{lead}\n\n{quotes}" if resolved else f"{lead}\n\n{CLOSEST}\n\n{quotes}"


def small_talk(question: str) -> Answer | None:
    """A short friendly reply to greetings and thanks, instead of a search."""
    text = question.strip()
    if _GREETING.match(text):
        return Answer(question, False, 0.0, GREETING, kind=Kind.SMALLTALK, lead=GREETING)
    if _THANKS.match(text):
        return Answer(question, False, 0.0, THANKS, kind=Kind.SMALLTALK, lead=THANKS)
    return None


def rephrase(question: str) -> Answer:
    return Answer(question, False, 0.0, REPHRASE, kind=Kind.REPHRASE, lead=REPHRASE)


class Answerer:
    """`pages`: each document's page (qa/answering/pages.py), by chunk.document; without
    it, one page at `base_url` whose text is `page_text`."""

    def __init__(self, *, threshold: float, top_k: int, inbox: str, base_url: str = "",
                 page_text: str = "", pages: Mapping[str, Page] | None = None,
                 shown: int | None = None) -> None:
        self.threshold = threshold
        self.top_k = top_k
        # the passages a visitor is shown (the amount rule reads their quotes); fewer
        # than top_k when an evaluation ranks more places than the product shows
        self.shown = top_k if shown is None else shown
        self.inbox = inbox
        self.pages = dict(pages or {"": Page(None, base_url, page_text.lower(), page_text)})
        self.base_url = next(iter(self.pages.values())).base_url
        self.lines = {key: PageLines(page.reader) for key, page in self.pages.items()}
        self.selves = tuple(sorted(set().union(*(self_names(p.reader)
                                                 for p in self.pages.values()))))

    def compose(self, retrieval: Retrieval, decision: tuple[bool, float] | None = None
                ) -> Answer:
        """The Answer for `retrieval`. With a `decision` (resolved, probability: the
        answerability model's), it is resolved when the model says so or when a sentence
        of the best quote answers the yes/no question directly (lead.py: the policy's own
        words, high precision); without one, by the fused score against the threshold.
        Either way, a question that asks for an amount ("how many days…?", "how much does
        it cost?") stays unresolved when no quote gives one (amounts.py)."""
        passages = self._passages(retrieval)
        direct = direct_lead(retrieval.question, passages[0].quote, self.selves) \
            if passages else None
        if decision is None:
            decision = (retrieval.confidence >= self.threshold, retrieval.confidence)
            answered = decision[0]
        else:
            answered = decision[0] or direct is not None
        confidence = max(0.0, min(1.0, decision[1]))
        # "how many days…?" is not answered by a quote that gives no number (amounts.py)
        unanswered = not_covered(retrieval.question, passages[: self.shown])
        resolved = bool(passages) and answered and unanswered == NOT_COVERED
        reach = reach_lead(retrieval.question, [p.quote for p in passages], self.inbox)
        found = found_lead(passages) if len(self.pages) > 1 else FOUND
        lead = (direct.text if direct else reach + found) if resolved else unanswered + (
            CONTACT.format(inbox=self.inbox) if self.inbox else "")
        return Answer(retrieval.question, resolved, confidence,
                      answer_text(lead, passages, resolved=resolved,
                                  show_documents=len(self.pages) > 1), passages,
                      kind=Kind.ANSWER if resolved else Kind.UNRESOLVED, lead=lead)

    def _passages(self, retrieval: Retrieval) -> tuple[Passage, ...]:
        """The top_k best hits' passages, one per quote (hits are one per chunk: the
        retriever ranks a permutation of the chunks): the same words in two sections (or
        documents) are quoted once, where they rank best."""
        out: list[Passage] = []
        quotes: set[str] = set()
        for hit in retrieval.hits:
            passage = self._passage(contact_first(retrieval.question, hit))
            key = " ".join(passage.quote.split()).casefold()
            if key not in quotes:
                quotes.add(key)
                out.append(passage)
            if len(out) == self.top_k:
                break
        return tuple(out)

    def _passage(self, hit: Hit) -> Passage:
        chunk = hit.chunk
        key = chunk.document if chunk.document in self.pages else next(iter(self.pages))
        page = self.pages[key]
        quote = quote_of(hit, self.lines[key])
        target = chunk.anchor if chunk.page is None else \
            f"page={chunk.page_at(max(chunk.text.find(quote.anchor_text), 0))}"  # the quote's
        return Passage(link_label(chunk), chunk.anchor,
                       section_url(page.base_url, target, quote.anchor_text, page.text),
                       quote.text, round(hit.score, 4), page.document)


def link_label(chunk: Chunk) -> str:
    """What a passage's link is called: the section's heading, and where the link lands
    on a heading of its own below it (an h4-h6 the split keeps inside the section), that
    heading too: "Retention › Key rotation", never a label naming another place."""
    if chunk.subsection and chunk.anchor != chunk.section_anchor:
        return f"{chunk.section} › {chunk.subsection}"
    return chunk.section


def text_fragment(quote: str, page_text: str, min_words: int = 4) -> str:
    """`:~:text=` for the quote's opening words: the shortest prefix of at least
    min_words words that occurs once in the page, percent-encoded per the Text
    Fragments spec (`-`, `&` and `,` included)."""
    words = quote.split()  # the quote's own words, punctuation kept: the browser matches them
    n = min(min_words, len(words))
    while n < len(words) and page_text.count(" ".join(words[:n]).lower()) > 1:
        n += 1
    start = " ".join(words[:n])
    return ":~:text=" + percent_encode(start, safe="").replace("-", "%2D")


def section_url(base_url: str, target: str, quote: str, page_text: str) -> str:
    """The link to a quote: the page, the fragment (a section's anchor, or `page=N` in
    a PDF, which browsers' PDF viewers open at that page) and the text fragment."""
    return f"{base_url}#{target}{text_fragment(quote, page_text)}"


def _markdown_quote(p: Passage, show_document: bool = False) -> str:
    label = re.sub(r"([\[\]\\])", r"\\\1", p.section)
    body = re.sub(r"([\\`*_<>\[\]#|])", r"\\\1", p.quote)
    source = f"> \u2014 [{label}]({p.url})"
    if show_document and p.document is not None and p.document.title:
        source += " \u00b7 " + re.sub(r"([\\`*_<>\[\]#|])", r"\\\1", p.document.title)
    return f"> {body}\n>\n{source}"
