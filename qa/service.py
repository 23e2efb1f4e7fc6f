"""The composition root: Settings -> Service(retriever, answerer, outbox).

Every face of the product (CLI, web chat, console, evaluation) talks to one Service.
Nothing heavy happens on construction: the index and the model load on first use or
on `warm_up()`.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import replace

from index.embed import PACKAGED_MODEL, Embedder
from index.errors import ConfigError, QuestionError
from index.store import PolicyIndex, load_index
from qa.answer_cache import AnswerCache
from qa.answering.amounts import AMOUNT_RULE
from qa.answering.answer import (
    RIGHT_TOPICS,
    Answerer,
    as_request,
    escalated,
    rephrase,
    small_talk,
    submitted,
)
from qa.answering.decider import Decider, create_decider
from qa.answering.lead import DIRECT_RULE
from qa.answering.pages import pages_for
from qa.answering.retrieve import Retrieval, Retriever, Weights
from qa.normalize import clean_question  # ui/ imports clean_question here
from qa.records import Answer, EscalationRef, Kind, RequestRef
from qa.rights.recognize import Recognition, RightsRecognizer, create_recognizer
from qa.settings import Settings, create_embedder, parse_fusion

_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")
# Not qa/normalize.py's tokenize: these are looked up in the model's whole-word
# vocabulary and the policy's words (the speller's), so they must be unstemmed runs of
# letters.
_LETTERS = re.compile(r"[a-z]{2,}")


class Service:
    def __init__(self, settings: Settings, *, index: PolicyIndex | None = None,
                 embedder: Embedder | None = None, outbox=None, requests=None,
                 ranked: int | None = None) -> None:
        self.settings = settings
        # passages per answer when an evaluation ranks more places than the product
        # shows (settings.top_k); the decision still reads only those shown
        self.ranked = ranked
        self.embedder = embedder or create_embedder(settings)
        self._index = index
        self.outbox = outbox
        self.requests = requests  # a qa.rights.store.RequestStore, where requests are taken
        self._lock = threading.Lock()
        self._cache = AnswerCache(settings.cache_size)

    # --- lazily built parts --------------------------------------------------
    @property
    def index(self) -> PolicyIndex:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = load_index(self.settings.index, model=self.embedder.id)
        return self._index

    @functools.cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.index, self.embedder, Weights.of(parse_fusion(self.settings.fusion)))

    @functools.cached_property
    def recognizer(self) -> RightsRecognizer:
        """The rights classifier was trained on the packaged model's embeddings: with
        a tuned model (POLICY_QA_MODEL) it keeps its own packaged encoder."""
        same = self.embedder.id == PACKAGED_MODEL
        return create_recognizer(self.embedder if same else Embedder())

    @functools.cached_property
    def decider(self) -> Decider | None:
        """The answerability decision for this index (None: the fixed threshold)."""
        if self.settings.decision != "answerability":
            return None
        return create_decider(self.retriever, self.embedder.id,
                              self.index.manifest.get("answerability"))

    @property
    def decision(self) -> dict:
        """How resolved/unresolved is decided here (eval reports and diagnostics)."""
        if self.decider is not None:
            return {**self.decider.describe(), "rules": [DIRECT_RULE, AMOUNT_RULE]}
        return {"method": "threshold", "threshold": self.settings.threshold,
                "fitted": "the fused score against POLICY_QA_THRESHOLD",
                "rules": [AMOUNT_RULE]}

    @functools.cached_property
    def answerer(self) -> Answerer:
        return Answerer(
            threshold=self.settings.threshold,
            top_k=self.ranked or self.settings.top_k,
            inbox=self.inbox,
            pages=pages_for(self.index, self.settings.base_url),
            shown=self.settings.top_k,
        )

    @property
    def inbox(self) -> str:
        return self.settings.inbox or self.index.manifest.get("inbox", "")

    @property
    def title(self) -> str:
        """What the index answers from, as mails and banners name it: the policy's title,
        or for several documents how many and their titles."""
        documents = self.index.documents
        if len(documents) <= 1:
            return str(self.index.manifest.get("title", ""))
        return f"{len(documents)} documents ({'; '.join(d.title for d in documents)})"

    @property
    def several(self) -> bool:
        """Whether the index holds several documents (answers then name each quote's)."""
        return len(self.index.documents) > 1

    def warm_up(self) -> Service:
        """Load the index and model now (server start-up), not on the first visitor."""
        self.answerer  # noqa: B018 - builds the index, retriever and answerer
        self.decider  # noqa: B018 - and the decision's lexicon
        self.ask_many(["warm up"])
        self._cache.clear()
        return self

    # --- answering -----------------------------------------------------------
    def ask(self, question: object) -> Answer:
        return self.ask_many([question])[0]

    def ask_many(self, questions: Sequence[object]) -> list[Answer]:
        """Answer several questions; their embeddings are computed in one batch and
        repeated questions come from an LRU cache."""
        cleaned = [clean_question(q, self.settings.max_question_chars) for q in questions]
        answers: dict[int, Answer] = {}
        todo: list[int] = []
        for i, text in enumerate(cleaned):
            early = small_talk(text) or self._cache.get(text)
            if early is None and not self._has_words(text):
                early = rephrase(text)
            if early is not None:
                answers[i] = early
            else:
                todo.append(i)
        if todo:
            texts = [cleaned[i] for i in todo]
            decider = self.decider
            words = decider.lexicon.unseen(texts) if decider else []
            found, word_vectors = self.retriever.retrieve_with(texts, words, k=10)
            if decider and words:
                decider.lexicon.learn(words, word_vectors)
            shared = self.recognizer.embedder is self.embedder
            vectors = [r.vector for r in found] if shared else None
            rights = self.recognizer.recognize_many(texts, vectors)
            decisions = decider.decide_many(found) if decider else [None] * len(found)
            found = self._on_the_right(found, rights)
            for i, retrieval, right, decision in zip(todo, found, rights, decisions,
                                                     strict=True):
                answer = self.answerer.compose(retrieval, decision)
                if right.is_request and right.kind:
                    answer = as_request(answer, right.kind, show_documents=self.several)
                answers[i] = self._cache.put(cleaned[i], answer)
        return [answers[i] for i in range(len(cleaned))]

    def _on_the_right(self, found: list[Retrieval], rights: list[Recognition]
                      ) -> list[Retrieval]:
        """A message that asks to exercise a right is answered with what the policy says
        about that right: it is retrieved again with the right's words beside it ("send me
        a copy of my data" matched a sentence on copies of an addendum), the message kept
        as asked."""
        asks = [n for n, right in enumerate(rights) if right.kind in RIGHT_TOPICS]
        if not asks:
            return found
        again = self.retriever.retrieve_many(
            [f"{found[n].question} ({RIGHT_TOPICS[rights[n].kind]})" for n in asks], k=10)
        out = list(found)
        for n, retrieval in zip(asks, again, strict=True):
            out[n] = replace(retrieval, question=found[n].question)
        return out

    def _has_words(self, text: str) -> bool:
        """A question with a word the model or the policy knows, after the spelling
        pass ("subpoena" reads as the policy's "subpoenas"), not keyboard mash."""
        if _ACRONYM.search(text):
            return True
        speller = self.retriever.speller
        return any(speller.knows(w) for w in _LETTERS.findall(speller.correct(text).lower()))

    # --- escalation ----------------------------------------------------------
    def escalate(self, answer: Answer, *, client: str = "", email: str | None = None,
                 hold_seconds: float = 0.0, page_url: str | None = None,
                 conversation: Sequence[str] = (), reason: str = "unanswered") -> Answer:
        """Hand an unresolved answer's question to the outbox (committed to disk
        before this returns) and return the answer that says so. Resolved answers
        and non-questions are never escalated. `page_url` (the page the visitor was
        on) and `conversation` (their earlier questions) go to the team with it."""
        if answer.resolved or answer.kind != Kind.UNRESOLVED:
            return answer  # a rights request is submitted as one (submit_request)
        if self.outbox is None:
            raise ConfigError("escalation is not configured for this service")
        if not self.inbox:
            raise ConfigError("the policy names no privacy inbox; set POLICY_QA_INBOX")
        escalation = self.outbox.enqueue(
            answer.question,
            to=self.inbox,
            email=email,
            passages=[p.to_dict() for p in answer.passages],
            client=client,
            policy_title=self.title,
            hold_seconds=hold_seconds,
            page_url=page_url,
            conversation=conversation,
            reason=reason,
        )
        return escalated(answer, escalation.ref(), show_documents=self.several)

    def send_to_team(self, answer: Answer, *, client: str = "", email: str | None = None,
                     hold_seconds: float = 0.0, page_url: str | None = None,
                     conversation: Sequence[str] = (),
                     reason: str | None = None) -> EscalationRef:
        """Forward a question the visitor chose to send, whether or not the policy
        answered it; greetings and non-questions are refused. `reason` defaults to
        "unhelpful" for an answered question (the visitor was not satisfied by it),
        else "unanswered"."""
        if answer.kind in (Kind.SMALLTALK, Kind.REPHRASE):
            raise QuestionError("there is no question to forward; please write your "
                                "question about the privacy policy in a few words")
        forced = replace(answer, resolved=False, kind=Kind.UNRESOLVED)
        reason = reason or ("unhelpful" if answer.resolved else "unanswered")
        ref = self.escalate(forced, client=client, email=email, hold_seconds=hold_seconds,
                            page_url=page_url, conversation=conversation,
                            reason=reason).escalation
        assert ref is not None
        return ref


    def submit_request(self, message: str, *, email: str, jurisdiction: str = "unknown",
                       details: str | None = None, kind: str | None = None,
                       client: str = "") -> Answer:
        """Take a privacy rights request (committed to disk before this returns): the
        message as the visitor wrote it, its kind (as recognised, unless given), the
        passages the policy says about that right. Returns the answer with the
        submitted `request` (id, kind, status, due)."""
        if self.requests is None:
            raise ConfigError("rights requests are not taken by this service")
        if not self.inbox:
            raise ConfigError("the policy names no privacy inbox; set POLICY_QA_INBOX")
        clean_question(message, self.settings.max_question_chars, "message")
        answer = self.ask(message)
        kind = kind or (answer.request.kind if answer.request else None)
        if kind is None:
            raise QuestionError("this message does not ask to exercise a privacy right; "
                                "say which right (for example: delete my data)")
        if answer.request is None or answer.request.kind != kind:
            answer = as_request(answer, kind, show_documents=self.several)
        taken = self.requests.submit(kind, jurisdiction, email, answer.question,
                                     to=self.inbox, details=details,
                                     passages=answer.passages, client=client)
        ref = RequestRef(kind, taken.id, taken.state, taken.respond_by)
        return submitted(replace(answer, request=ref), taken.email,
                         show_documents=self.several)


def build_service(settings: Settings, *, escalate: bool = False, index: PolicyIndex | None = None,
                  embedder: Embedder | None = None) -> Service:
    """The one place a Service is wired: with an Outbox from settings when it may
    forward questions (the web app, `ask --escalate`), without one otherwise."""
    outbox = requests = None
    if escalate:
        from qa.escalation.outbox import Outbox
        from qa.rights.store import RequestStore

        outbox = Outbox.from_settings(settings)
        requests = RequestStore.from_settings(settings)
    return Service(settings, index=index, embedder=embedder, outbox=outbox, requests=requests)


def with_outbox(service: Service) -> Service:
    """`service` if it can forward questions, else a Service over the same index and
    model with an Outbox from its settings (the caller's object is left as it was)."""
    if service.outbox is not None and service.requests is not None:
        return service
    if service.outbox is not None:
        from qa.rights.store import RequestStore

        return Service(service.settings, index=service._index, embedder=service.embedder,
                       outbox=service.outbox,
                       requests=RequestStore.from_settings(service.settings))
    return build_service(service.settings, escalate=True, index=service._index,
                         embedder=service.embedder)
