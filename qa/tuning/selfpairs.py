"""Training pairs a policy provides itself, for `policy-qa adapt` (no labelled questions).

Every chunk of the policy is a passage (its `chunk_text`, as `tune` uses), labelled with
its anchor. The pseudo-questions that point at it:

* its section title, and the sub-section title of a bold lead-in, put in a visitor's
  voice ("How we share your personal data" -> "How do you share my personal data?");
* each of its sentences of 6+ words, in a visitor's voice ("We keep your e-mail
  address" -> "you keep my e-mail address"): the sentence -> its context.

Training pairs a question with its whole chunk (`chunk_text`, the text `tune` and the
index use). The gate is stricter: a fifth of the questions (by seed) is held out, and
their passages lack the held-out sentences and the section titles (an inverse cloze task; a
bold lead-in stays, as the first words of its paragraph), so
the check is not a sentence matched with itself. Training the same way (each question
taken out of its passage, three epochs) raised that check but lowered the labelled
figures on Korero and Mozilla accounts (README, Quality), so it is not used.

The shipped question bank's generic unanswerable questions (HIPAA, the price of a
product...) join as unanswerable queries, for the gate only: it checks that adapting
does not make the model resolve what policies do not say. None is pushed away from
passages (`adapt` runs with no negatives), which keeps the adapted model's space close
enough to the base's for the shipped answerability weights (`self_adapted_from`).
Nothing here reads a labelled set of the policy.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from index.policy import load_policy
from index.sentences import sentence_spans
from index.split import Chunk, split_policy
from index.units import chunk_text
from qa.answering.answerability import shipped_bank
from qa.tuning.data import HELD_OUT_FRACTION, Document, Pair, Query, Source, Split

MIN_SENTENCE_WORDS = 6
_VOICE = {"we": "you", "our": "your", "ours": "yours", "us": "you", "your": "my",
          "yours": "mine", "we're": "you're", "we've": "you've", "you're": "I'm",
          "you've": "I've"}
# "you" is the subject ("I") at a clause's start or before these; the object ("me") else
_SUBJECT_NEXT = frozenset(
    "can may might will would should must have has are were do did don't cannot choose "
    "use visit want sign create enable provide give send agree contact decide opt share "
    "make request ask delete turn".split())
_SUBJECT_AFTER = frozenset(
    "that if when where which what whether because as unless once before after so and or "
    "but while until how why".split())
_WORD = re.compile(r"[A-Za-z']+")
_QUESTION_START = re.compile(r"^(how|what|why|when|where|who|which|do|does|can|is|are)\b",
                             re.IGNORECASE)


def visitor_voice(text: str) -> str:
    """The company's "we ... your" as a visitor would ask it: "you ... my"."""
    words = list(_WORD.finditer(text))
    out, last = [], 0
    for n, match in enumerate(words):
        word = match.group()
        lower = word.lower()
        if lower == "you":
            before = text[last:match.start()]
            following = words[n + 1].group().lower() if n + 1 < len(words) else ""
            previous = words[n - 1].group().lower() if n else ""
            starts = (n == 0 or any(c in before for c in ".;:,(")
                      or previous in _SUBJECT_AFTER)
            swap = "I" if starts or following in _SUBJECT_NEXT else "me"
        else:
            swap = _VOICE.get(lower, word)
        if swap != word and word[0].isupper() and swap != "I":
            swap = swap.capitalize()
        out.append(text[last:match.start()] + swap)
        last = match.end()
    return ("".join(out) + text[last:]).strip()


def heading_question(heading: str) -> str:
    """A heading as a question: "How we share X" -> "How do you share X?"; other
    headings ("Cookies") stay as they are, in the visitor's voice."""
    text = visitor_voice(heading).rstrip(" :.?")
    match = re.match(r"^(how|what|why|when|where|who)\s+you\s+(\w+)(.*)$", text, re.IGNORECASE)
    if match:
        return f"{match[1].capitalize()} do you {match[2]}{match[3]}?"
    return text + "?" if _QUESTION_START.match(text) else text


@dataclass(frozen=True)
class SelfQuestion:
    text: str  # in the visitor's voice
    chunk: int
    span: tuple[int, int] | None  # the sentence's place in the chunk; None for a title


def chunk_questions(chunks: list[Chunk]) -> list[SelfQuestion]:
    found: list[SelfQuestion] = []
    seen: set[str] = set()

    def add(text: str, chunk: int, span: tuple[int, int] | None) -> None:
        if text.lower() not in seen:  # a shared heading points at its first chunk
            seen.add(text.lower())
            found.append(SelfQuestion(text, chunk, span))

    for i, chunk in enumerate(chunks):
        add(heading_question(chunk.section), i, None)
        if chunk.subsection:
            add(heading_question(chunk.subsection), i, None)
        for start, end in sentence_spans(chunk.text):
            sentence = chunk.text[start:end]
            if sentence != chunk.subsection and len(sentence.split()) >= MIN_SENTENCE_WORDS:
                add(visitor_voice(sentence), i, (start, end))
    return found


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    return " ".join(text.split())


def self_split(policy_path: Path, seed: int = 42,
               fraction: float = HELD_OUT_FRACTION) -> tuple[Source, Split]:
    """The policy's own pairs as a `tune` source and its held-out split (module doc)."""
    policy = load_policy(policy_path)
    chunks = split_policy(policy)
    questions = chunk_questions(chunks)
    order = list(range(len(questions)))
    random.Random(f"{seed}:{policy_path.name}").shuffle(order)
    held = set(order[: max(1, round(fraction * len(questions)))])
    train = [q for n, q in enumerate(questions) if n not in held]
    check = [q for n, q in enumerate(questions) if n in held]
    passages = tuple(chunk_text(c) for c in chunks)
    labels = tuple(c.anchor for c in chunks)
    pairs = tuple(Pair(q.text, frozenset({labels[q.chunk]})) for q in train)
    train_doc = Document(policy_path.name, f"{policy_path} (its own titles and sentences)",
                         passages, labels, pairs,
                         tuple(Query(p.question, p.labels) for p in pairs))
    gone: dict[int, list[tuple[int, int]]] = {}
    for q in check:
        if q.span is not None:
            gone.setdefault(q.chunk, []).append(q.span)
    check_doc = Document(
        policy_path.name, f"{policy_path} (held-out titles and sentences)",
        tuple(_without(c.text, gone.get(i, [])) for i, c in enumerate(chunks)),
        tuple(c.anchor for c in chunks), (),
        tuple([Query(q.text, frozenset({chunks[q.chunk].anchor})) for q in check]
              + [Query(b, frozenset(), answerable=False) for b in shipped_bank()]))
    digest = hashlib.sha256(json.dumps([q.text for q in questions]).encode()).hexdigest()
    source = Source(policy_path, "self", digest, (train_doc,), policy_path, policy.sha256)
    how = (f"held out {len(check)} of {len(questions)} of the policy's own titles and "
           f"sentences (taken out of their passages), and {len(shipped_bank())} generic "
           "unanswerable questions")
    return source, Split((train_doc,), (check_doc,), how)
