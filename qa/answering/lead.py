"""A direct lead for a yes/no question: "Yes — “…”" or "No — “…”", quoting one sentence
of the best passage verbatim, only when that sentence plainly says so.

Precision comes first (a wrong "Yes" is worse than the neutral lead), so every step
can refuse, and any refusal keeps the neutral lead:

1. the question is a plain yes/no question about the organisation's own conduct
   ("Do you sell my data?", "Does Korero use cookies?") or the visitor's ability
   ("Can I delete my account?"): an auxiliary, a known subject, one main verb; no
   alternatives ("… or …"), no negated question, no second question;
2. a sentence of the best quote has that verb with the expected subject (the policy's
   names for itself — "we", and names it defines, like `("Korero", "we" or "us")` — or
   "you" for "can I"), and contains every content word of the rest of the question
   (stemmed; "data", "information", "info", "details" count as one word);
3. the sentence has no condition or exception ("if", "unless", "except", "only",
   "but", "however", "other than", "some", …) and asks nothing itself;
4. a negation ("not", "never", "n't", "no longer", "cannot") between the subject and
   the verb makes it "No"; none makes it "Yes" (for "can I": only with "can", "may" or
   "are able to").

Pure functions; the templates are fixed and the quote is the policy's own sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from index.sentences import sentence_spans
from qa.normalize import stem

__all__ = ["DIRECT_RULE", "Lead", "YesNo", "direct_lead", "lead_above", "lead_line",
           "parse_question", "self_names", "verdict"]

YES = "Yes \u2014 \u201c{sentence}\u201d"
NO = "No \u2014 \u201c{sentence}\u201d"
ABOVE = "{answer} \u2014 in the policy's own words:"  # when the quote below is the sentence
_LEAD = re.compile("(?P<answer>Yes|No) \u2014 \u201c(?P<sentence>.+)\u201d", re.DOTALL)
DIRECT_RULE = ("resolved whatever the model says when a sentence of the best quote answers "
               "the yes/no question directly")
MAX_SENTENCE_CHARS = 300  # a longer sentence is no one-line answer

Polarity = Literal["yes", "no"]


@dataclass(frozen=True)
class YesNo:
    """A parsed yes/no question: who it is about ("org" or "visitor"), its main verb
    (the stem), and the stems of the content words the answer must mention."""

    about: Literal["org", "visitor"]
    verb: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Lead:
    polarity: Polarity
    sentence: str  # verbatim, one sentence of the best quote

    @property
    def text(self) -> str:
        return lead_line(self)


def lead_line(lead: Lead) -> str:
    return (YES if lead.polarity == "yes" else NO).format(sentence=lead.sentence)


def lead_above(lead: str, quote: str) -> str:
    """`lead` as shown right above `quote`: a Yes/No lead whose sentence is the whole
    quote says only "Yes"/"No" (the quote follows it, word for word, with its link)."""
    found = _LEAD.fullmatch(lead)
    if found and found["sentence"].strip() == quote.strip():
        return ABOVE.format(answer=found["answer"])
    return lead


# --- the question ----------------------------------------------------------------------

_ORG_AUX = r"(?:do|does|did|will|would)"
_ORG_SUBJECT = (r"(?:you(?: guys| all)?|u|ya|y'all|the company|your (?:company|site|website|"
                r"service|app|team|business))")
_VISITOR_AUX = r"(?:can|could|may)"
_YES_NO = re.compile(rf"^(?:{_ORG_AUX}\s+(?P<org>{_ORG_SUBJECT}|[a-z][a-z0-9.-]*)|"
                     rf"{_VISITOR_AUX}\s+(?P<me>i))\s+(?P<rest>.+)$")
_TOKEN = re.compile(r"[a-z0-9]+(?:['\u2019][a-z]+)?|[,;:()?!]")
_ADVERBS = frozenset("ever actually really also still even currently ever, just always "
                     "automatically".split())
# a verb too vague to answer yes or no to
_VAGUE_VERBS = frozenset("have has get got do does make need want mean know count think "
                         "care be go let".split())
# words that carry no content of their own in a question
_FILLER = frozenset(
    "a an the my me mine i your yours you our us we it its this that these those any anyone "
    "anything anybody something someone some all every of to in on at for from with by "
    "about into out up off over as so such stuff things thing kind sort like other else "
    "personal please ever at all really actually just also still even if when whenever there "
    "is are was were be been how what which who whom whose them they do does did have has "
    "can could would will".split())
_DATA = frozenset({"data", "information", "info", "details", "detail", "personal"})
_DATA_STEM = "\u2022data"  # one stem for the words above


def _word_stem(word: str) -> str:
    return _DATA_STEM if word in _DATA else stem(word.replace("\u2019", "'"))


def parse_question(question: str, selves: Iterable[str] = ()) -> YesNo | None:
    """The yes/no question `question` asks, or None if it is not one we can answer so.
    `selves` are the organisation's names ("korero"), which may be the subject."""
    text = question.strip().lower().replace("\u2019", "'")
    if text.count("?") > 1 or re.search(r"\?\s*\S", text):
        return None  # two questions
    text = text.rstrip("?!. ")
    match = _YES_NO.match(text)
    if match is None or re.search(r"\b(or|not|never|n't|whether|and)\b", text):
        return None
    org = match.group("org")
    if org is not None and not re.fullmatch(_ORG_SUBJECT, org) and org not in set(selves):
        return None
    words = [w for w in _TOKEN.findall(match.group("rest")) if w[0].isalnum()]
    while words and words[0] in _ADVERBS:
        words.pop(0)
    if not words or words[0] in _VAGUE_VERBS or words[0] in _FILLER:
        return None
    verb, rest = words[0], words[1:]
    content = tuple(dict.fromkeys(_word_stem(w) for w in rest if w not in _FILLER))
    if len(rest) > 10:
        return None  # a long question has more than one thing in it
    return YesNo("org" if org is not None else "visitor", stem(verb), content)


# --- the policy's sentence -------------------------------------------------------------

_NEGATIONS = frozenset({"not", "never", "cannot", "neither", "nor"})
_GROUP = frozenset(  # what may stand between a subject and its verb
    "do does did will would shall can could may might must not never cannot also only "
    "currently ever otherwise generally always automatically to be are is no longer able "
    "neither nor".split())
_CONDITIONS = re.compile(
    r"\b(?:if|unless|except|excepting|only|but|however|although|though|whether|other than|"
    r"some|certain|sometimes|may not|might|limited|unless|provided that|in some|where|when|"
    r"until|before|after)\b")
_VISITOR_YES = frozenset({"can", "may", "able"})


_SHORT_NAME = re.compile(r"((?:[A-Z][\w&.,'-]*\s+){1,6})\(\s*([A-Z][\w-]{1,30})\s*\)")
_REFERS = re.compile(r"[\"\u201c]([A-Z][\w-]{1,30})[\"\u201d]\s+(?:refers to|means)\b")


def self_names(page_text: str) -> frozenset[str]:
    """How the policy names its author: "we", plus the quoted names of a definition
    such as `Korero, Inc. (henceforward "Korero", "we" or "us")`, a short name given
    in brackets after the full one (`The OpenGov Foundation (OpenGov)`: one of its
    words, so "General Data Protection Regulation (GDPR)" is no name of ours), and
    `"OpenGov" refers to …`; lower-case."""
    names = {"we"}
    for group in re.finditer(r"\(([^()]{0,200}?[\"\u201c]we[\"\u201d][^()]{0,100})\)",
                             page_text, re.I):
        names.update(n.strip().lower() for n in
                     re.findall(r"[\"\u201c]([^\"\u201d]{1,40})[\"\u201d]", group.group(1)))
    for full, short in _SHORT_NAME.findall(page_text):
        if short.lower() in {w.strip(".,").lower() for w in full.split()}:
            names.add(short.lower())
    names.update(n.lower() for n in _REFERS.findall(page_text))
    return frozenset(n for n in names if n not in {"us", "our"} and " " not in n)


def _is_negation(token: str) -> bool:
    return token in _NEGATIONS or token.endswith(("n't", "n\u2019t"))


def verdict(query: YesNo, sentence: str, selves: Iterable[str] = ("we",)) -> Polarity | None:
    """"yes" or "no" if `sentence` plainly answers `query`, else None. A sentence of
    independent clauses ("We do not sell X, and we share Y only …") is read clause by
    clause: one with a condition refuses only if it has the question's verb too."""
    low = sentence.lower().replace("\u2019", "'")
    if len(sentence) > MAX_SENTENCE_CHARS or "?" in low or "|" in low:
        return None  # a question, a table row: no plain yes or no
    subjects = {"you"} if query.about == "visitor" else set(selves) | {"we"}
    found: set[Polarity] = set()
    for clause in _clauses(low, subjects):
        tokens = _TOKEN.findall(clause)
        verbs = [i for i, t in enumerate(tokens) if t[0].isalnum() and stem(t) == query.verb]
        if _CONDITIONS.search(clause):
            if verbs:
                return None  # a condition on the very thing asked
            continue
        stems = {_word_stem(t) for t in tokens if t[0].isalnum()}
        if not all(mentioned(w, stems) for w in query.words):
            continue
        found.update(p for p in (_polarity(query, tokens[:i], subjects) for i in verbs)
                     if p is not None)
    return found.pop() if len(found) == 1 else None


def _clauses(low: str, subjects: Iterable[str]) -> list[str]:
    """The sentence's independent clauses: split at "; " and at ", and " or ", or "
    before a subject of ours ("but" is a condition: never split there)."""
    names = "|".join(sorted(map(re.escape, {*subjects, "we", "you"}), key=len, reverse=True))
    return re.split(rf";\s+|,\s+(?:and|or)\s+(?=(?:{names})\b)", low)


def mentioned(word: str, stems: set[str]) -> bool:
    """The sentence has `word` (a stem), or, for a longer word, one a typo away from it
    ("cookei" for "cooki")."""
    return word in stems or (len(word) >= 5 and any(
        abs(len(word) - len(s)) <= 1 and _one_edit(word, s) for s in stems))


def _one_edit(a: str, b: str) -> bool:
    """True if a and b differ by at most one insertion, deletion, substitution or swap
    of neighbours."""
    if a == b:
        return True
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:] or (a[i + 2:] == b[i + 2:] and a[i:i + 2] == b[i:i + 2][::-1])
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[i + 1:] == shorter[i:]


def _polarity(query: YesNo, before: list[str], subjects: set[str]) -> Polarity | None:
    """The verb's polarity from the words before it: back over its auxiliaries and
    negations to the subject, which must be one of `subjects`."""
    group: list[str] = []
    for token in reversed(before):
        if token in _GROUP or _is_negation(token):
            group.append(token)
            continue
        if token not in subjects:
            return None
        break
    else:
        return None  # no subject at all
    negated = any(_is_negation(t) for t in group)
    if query.about == "visitor" and not negated and not _VISITOR_YES & set(group):
        return None  # "can I …?" is not answered by "you …" without "can"
    return "no" if negated else "yes"


def sentences(quote: str) -> list[str]:
    return [quote[s:e] for s, e in sentence_spans(quote)]


def direct_lead(question: str, quote: str, selves: Sequence[str] = ("we",)) -> Lead | None:
    """The Yes/No lead for `question` from the best passage's `quote`, or None. One
    sentence must answer, and no other sentence of the quote may answer otherwise."""
    query = parse_question(question, selves)
    if query is None:
        return None
    found = [(verdict(query, s, selves), s) for s in sentences(quote)]
    answers = [(p, s) for p, s in found if p is not None]
    if not answers or len({p for p, _ in answers}) > 1:
        return None
    polarity, sentence = answers[0]
    return Lead(polarity, sentence.strip())
