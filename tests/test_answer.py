"""Answers over the real Korero index: the Answer JSON contract, verbatim quotes trimmed
to sentences, section links with text fragments, small talk, gibberish, bad questions."""

from __future__ import annotations

import dataclasses
import json
import re
from urllib.parse import unquote

import pytest

from index.errors import QuestionError
from index.sentences import sentence_spans
from index.text import render_block
from qa.answering.answer import MAX_QUOTE_CHARS, NOT_COVERED, text_fragment
from qa.answering.quotes import ELLIPSIS

BASE = "https://koreroapp.com/privacy"

QUESTIONS = [
    "Do you sell my data?",
    "How do I delete my account?",
    "what do you collect about me",
    "Do you use cookies?",
    "How long do you keep my information?",
    "Is my data encrypted?",
    "Who do you share my info with?",
    "Can I opt out of targeted ads?",
    "How do I contact you about privacy?",
    "Will you tell me if the policy changes?",
    "do you log my IP address",
    "What happens to my data if Korero is sold?",
    "Can I remove my testimonial?",
    "Do you follow GDPR for EU residents?",
    "Can I log in with Google?",
    "Is the blog public?",
    "Do you respond to subpoenas?",
    "How quickly will you answer an access request?",
    "Do you charge for access to my data?",
    "Where is your office?",
    "What are session cookies?",
    "Do you store credit card numbers?",
    "Will you send me marketing emails?",
    "How do I unsubscribe??",
    "Do you use web beacons?",
    "Is the Facebook like button tracking me?",
    "What is the NAI?",
    "is my data kept on servers outside your company",
    "Who owns koreroapp.com?",
    "What is the price of the pro plan?",
    "DO YOU SPAM PEOPLE",
    "can i see the data u have on me",
]
CONTRACT = {"question", "resolved", "confidence", "answer", "passages", "escalation",
            "request"}
PASSAGE = {"section", "anchor", "url", "quote", "score", "document"}
DOCUMENT = {"id", "title", "url"}


@pytest.fixture(scope="module")
def page(korero_policy) -> str:
    return render_block(korero_policy.source, keep_headings=True)


@pytest.fixture(scope="module")
def answers(korero_index, embedder):
    from qa.service import Service
    from qa.settings import Settings

    service = Service(Settings(cache_size=0), index=korero_index, embedder=embedder)
    return [a.to_dict() for a in service.ask_many(QUESTIONS)]


def _linked(passage: dict) -> str:
    """The verbatim words the passage's link scrolls to (the quote, or for a list item
    shown with its list's opening, the item)."""
    return unquote(passage["url"].split(":~:text=", 1)[1])


def _home(passage: dict, chunks) -> list:
    """The chunks a passage can have come from."""
    return [c for c in chunks if c.anchor == passage["anchor"] and _linked(passage) in c.text]


def _pieces(quote: str) -> list[str]:
    """A quote's verbatim pieces: it is one, or a list's opening and an item, with
    ELLIPSIS for what is left out."""
    return [p.strip() for p in quote.split(ELLIPSIS) if p.strip()]


def test_answer_json_has_exactly_the_contract_keys(answers):
    for answer in answers:
        assert json.loads(json.dumps(answer)) == answer
        assert set(answer) == CONTRACT
        assert isinstance(answer["resolved"], bool)
        assert 0.0 <= answer["confidence"] <= 1.0
        assert answer["escalation"] is None  # asking never sends anything
        assert isinstance(answer["answer"], str) and answer["answer"]
        for passage in answer["passages"]:
            assert set(passage) == PASSAGE
            assert all(isinstance(passage[k], str) for k in PASSAGE - {"score", "document"})
            assert passage["document"] == {"id": "korero-privacy", "title": "Privacy Policy",
                                           "url": "https://koreroapp.com/privacy"}
            assert isinstance(passage["score"], float)
    assert [a["question"] for a in answers] == QUESTIONS


def test_passages_best_first_at_most_top_k_from_distinct_chunks(answers, korero_index):
    for answer in answers:
        passages = answer["passages"]
        assert 1 <= len(passages) <= 3, answer["question"]
        scores = [p["score"] for p in passages]
        assert scores == sorted(scores, reverse=True)
        used: set[str] = set()
        for passage in passages:  # every passage has a chunk of its own
            homes = [c.id for c in _home(passage, korero_index.chunks) if c.id not in used]
            assert homes, (answer["question"], passage["quote"])
            used.add(homes[0])


def test_every_quote_is_verbatim_reader_text_of_whole_sentences(answers, korero_index, page):
    """A quote is whole sentences of its chunk, or a list item with its list's opening
    line (both verbatim, "…" for what is left out); never a cut sentence."""
    flat = " ".join(page.split())
    quotes = elided = 0
    for answer in answers:
        for passage in answer["passages"]:
            quote = passage["quote"]
            quotes += 1
            assert quote == quote.strip() and "\n" not in quote
            assert len(quote) <= MAX_QUOTE_CHARS
            assert all(" ".join(piece.split()) in flat for piece in _pieces(quote)), quote
            chunk = _home(passage, korero_index.chunks)[0]
            assert chunk.section == passage["section"]
            spans = sentence_spans(chunk.text)
            if quote in chunk.text and ELLIPSIS not in quote:
                # whole sentences of the chunk: starts at a sentence start, ends at an end
                at = chunk.text.index(quote)
                assert at in {s for s, _ in spans}, quote
                assert at + len(quote) in {e for _, e in spans}, quote
                if len(chunk.text) > MAX_QUOTE_CHARS:
                    assert len(quote) < len(chunk.text)
            else:  # a list item: its list's opening line, then the item from its start
                elided += 1
                opening, item = quote.split(": ", 1)
                assert f"{opening}:" in page
                assert quote.startswith(opening[:1].upper())
                at = chunk.text.index(_linked(passage))
                assert at == 0 or chunk.text[at - 1] == "\n", quote
                assert not re.search(r"[,;]$", item.rstrip(" " + ELLIPSIS)), quote
    assert quotes >= 60
    assert elided >= 1  # "Do you respond to subpoenas?" quotes a list item
    # on the whole, quotes are a trimmed part of their chunks
    lengths = [len(p["quote"]) for a in answers for p in a["passages"]]
    assert sum(lengths) / len(lengths) < 300


def test_the_greetings_examples_are_answered_on_the_bundled_policy(service):
    """The chat opens by suggesting them; one that reached "does not seem to cover this"
    was the first thing a visitor could try (widget audit, 2026-12-08)."""
    from qa.answering.answer import GREETING

    examples = re.findall("\u201c(.+?)\u201d", GREETING)
    assert len(examples) == 2
    for example in examples:
        assert service.ask(example).resolved, example


def test_a_list_item_is_quoted_with_the_sentence_it_continues(service):
    """The item "when we believe in good faith … respond to a government request," is
    in a chunk of its own; its sentence opens in the chunk before."""
    answer = service.ask("would you ever share my details to investigate fraud?")
    passage = next(p for p in answer.passages if "government request" in p.quote)
    assert passage.quote == (
        "We may also disclose your personal information: \u2026 when we believe in good "
        "faith that disclosure is necessary to protect our rights, protect your safety or "
        "the safety of others, investigate fraud, or respond to a government request \u2026")
    assert passage.url.endswith("#when-would-we-share-your-information"
                                ":~:text=when%20we%20believe%20in")


def test_a_title_line_is_never_the_whole_quote(korero_index):
    from qa.answering.quotes import quote_for
    from qa.answering.retrieve import Hit

    chunk = korero_index.chunks[0]
    text = "Do Not Track\nWe do not track you across websites. We honour the signal."
    fake = dataclasses.replace(chunk, text=text)
    spans = sentence_spans(text)
    scores = [0.9, 0.5, 0.2]  # the title scores best
    hit = Hit(fake, 0.5, 0.5, 0.0, tuple((s, e, v) for (s, e), v in zip(spans, scores,
                                                                        strict=True)))
    assert quote_for(hit) == "We do not track you across websites."


@pytest.mark.parametrize(("question", "quoted"), [
    ("Who can I email to delete my information?", "You may ask us to delete it by e-mail"),
    ("How do I contact you?", "You may ask us to delete it by e-mail"),
    ("whats your email address", "You may ask us to delete it by e-mail"),
    # not asking how to reach anyone: the best sentence, as ever
    ("Do you delete my information?", "We delete what we no longer need"),
    ("Do you collect my email?", "We delete what we no longer need"),
])
def test_a_question_asking_how_to_reach_us_quotes_the_address(korero_index, question, quoted):
    from qa.answering.contact import contact_first
    from qa.answering.quotes import quote_for
    from qa.answering.retrieve import Hit

    text = ("You may ask us to delete it by e-mail to privacy@shop.example. "
            "We delete what we no longer need within thirty days.")
    fake = dataclasses.replace(korero_index.chunks[0], text=text)
    spans = sentence_spans(text)
    hit = Hit(fake, 0.5, 0.5, 0.0, tuple((s, e, v) for (s, e), v in zip(spans, (0.50, 0.61),
                                                                        strict=True)))
    chosen = contact_first(question, hit)
    assert quote_for(chosen).startswith(quoted)
    assert (chosen.score, chosen.dense) == (hit.score, hit.dense)  # only the quote moves
    far = dataclasses.replace(hit, sentences=((*spans[0], 0.40), (*spans[1], 0.61)))
    assert quote_for(contact_first(question, far)).startswith("We delete")  # too far below


def test_no_quote_is_only_a_heading(answers, korero_index):
    titles = {c.section for c in korero_index.chunks} | {
        c.subsection for c in korero_index.chunks if c.subsection}
    bare = [(a["question"], p["quote"]) for a in answers for p in a["passages"]
            if p["quote"] in titles]
    assert bare == []


def test_urls_link_the_section_with_a_text_fragment_of_the_quote(answers):
    for answer in answers:
        for passage in answer["passages"]:
            url, quote = passage["url"], passage["quote"]
            prefix = f"{BASE}#{passage['anchor']}:~:text="
            assert url.startswith(prefix), url
            fragment = url[len(prefix) :]
            assert re.fullmatch(r"(?:[A-Za-z0-9_.~]|%[0-9A-F]{2})+", fragment), fragment
            start = unquote(fragment)
            assert start in quote, (start, quote)
            at = quote.index(start)  # the quote, or after a list's opening: the item
            assert at == 0 or quote[:at].endswith((": ", f": {ELLIPSIS} ")), (start, quote)
            item = quote[at:]
            assert len(start.split()) >= min(4, len(item.split()))
            assert start == item or item[len(start)] == " "  # whole words


def test_text_fragment_percent_encodes_dash_ampersand_and_comma():
    fragment = text_fragment("Single Sign-On, cookies & more stuff here", "")
    assert fragment == ":~:text=Single%20Sign%2DOn%2C%20cookies%20%26"
    # grows until the opening words are unique on the page
    page = "we use cookies on our website. we use cookies on our blog."
    assert unquote(text_fragment("We use cookies on our blog.", page)) == (
        ":~:text=We use cookies on our blog.")


def test_answer_text_shows_every_quote_and_link(answers):
    for answer in answers:
        for passage in answer["passages"]:
            assert passage["url"] in answer["answer"]
            plain = re.sub(r"\\(.)", r"\1", answer["answer"])
            assert passage["quote"] in plain


def test_known_answers_point_to_the_right_section(answers):
    by_question = {a["question"]: a for a in answers}
    for question, anchor in [
        ("Do you sell my data?", "when-would-we-share-your-information"),
        ("Do you use cookies?", "what-tracking-technologies-do-we-utilize"),
        ("Can I remove my testimonial?", "what-else-should-you-know-about"),
        ("Will you tell me if the policy changes?", "changes-to-our-privacy-policy"),
    ]:
        answer = by_question[question]
        assert answer["resolved"], question
        assert answer["passages"][0]["anchor"] == anchor, question
    assert "Korero does not sell" in by_question["Do you sell my data?"]["answer"]
    assert not by_question["What is the price of the pro plan?"]["resolved"]


def test_threshold_decides_resolved(make_service):
    """decision = "threshold" (the default is the answerability model: test_decision.py)."""
    strict = make_service(decision="threshold", threshold=1.0).ask("Do you use cookies?")
    assert not strict.resolved
    assert strict.passages  # the closest passages are still shown
    assert strict.answer.startswith(NOT_COVERED)
    assert "privacy@koreroapp.com" in strict.answer
    assert strict.escalation is None
    lenient = make_service(decision="threshold", threshold=0.0).ask("Do you use cookies?")
    assert lenient.resolved
    assert not lenient.answer.startswith(NOT_COVERED)


@pytest.mark.parametrize("top_k", [1, 5])
def test_top_k_setting(make_service, top_k):
    answer = make_service(top_k=top_k).ask("What do you do with my email address?")
    assert len(answer.passages) == top_k


def test_a_base_url_setting_overrides_the_policy_site(make_service):
    answer = make_service(base_url="https://example.org/p").ask("Do you use cookies?")
    assert answer.passages[0].url.startswith("https://example.org/p#")


# --- small talk, gibberish, bad questions ------------------------------------------

class _NoSearch:
    """Stands in for the retriever: fails on a search, keeps the real spelling pass."""

    def __init__(self, real=None):
        self.speller = real.speller if real is not None else None

    def retrieve_many(self, *args, **kwargs):
        raise AssertionError("small talk must not search the index")

    retrieve = retrieve_many


@pytest.mark.parametrize("text", ["hi", "Hello!", "good morning", "thanks",
                                  "Thank you so much!", "cheers", "ok thanks"])
def test_greetings_and_thanks_get_a_short_reply_without_a_search(service, text):
    service.__dict__["retriever"] = _NoSearch()
    answer = service.ask(text)
    data = answer.to_dict()
    assert set(data) == CONTRACT
    assert data["passages"] == [] and data["escalation"] is None
    assert 0 < len(data["answer"]) < 200
    assert NOT_COVERED not in data["answer"]


@pytest.mark.parametrize("text", ["asdf qwerty", "zxcvb", "sdfgh jkl qwrt", "!!!???", "1234"])
def test_gibberish_gets_a_rephrase_request(service, text):
    service.__dict__["retriever"] = _NoSearch(service.retriever)
    answer = service.ask(text)
    assert not answer.resolved
    assert answer.passages == ()
    assert "rephrase" in answer.answer.lower()
    assert answer.escalation is None


@pytest.mark.parametrize("text", ["subpoena", "Subpoenas?", "GDPR", "cookeis"])
def test_one_word_the_policy_uses_is_searched_not_sent_back(service, text):
    # "subpoena" is no whole word of the model's tokenizer, but the policy says
    # "subpoena"; a one-word question from the policy's own vocabulary gets passages.
    answer = service.ask(text)
    assert answer.passages, text
    assert "rephrase" not in answer.answer.lower()


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\x00\x01"])
def test_empty_questions_are_refused(service, text):
    with pytest.raises(QuestionError, match="empty"):
        service.ask(text)


def test_over_long_questions_are_refused(service):
    service.ask("Do you sell my data? " + "x" * (1000 - 21))  # exactly at the limit: fine
    with pytest.raises(QuestionError) as info:
        service.ask("Do you sell my data? " + "x" * 1000)
    assert "1021" in str(info.value) and "1000" in str(info.value)


def test_question_length_limit_is_a_setting(make_service):
    with pytest.raises(QuestionError, match="limit is 10"):
        make_service(max_question_chars=10).ask("Do you sell my data?")


def test_one_bad_question_in_a_batch_is_refused(service):
    with pytest.raises(QuestionError):
        service.ask_many(["Do you sell my data?", ""])


def test_non_string_question_is_refused(service):
    with pytest.raises(QuestionError):
        service.ask(None)


def test_the_same_words_in_two_sections_are_quoted_once(embedder, tmp_path):
    """Mozilla's subscription notice says "We use technical data to improve
    performance and stability …" under two products: one quote, where it ranks best,
    and the next passage in its place (the audit saw it twice)."""
    from index.policy import parse_policy
    from index.store import build_index
    from qa.service import Service
    from qa.settings import Settings

    same = "We use technical data to improve performance and stability for our users."
    policy = parse_policy(
        f"# Notice\n\n## Mozilla VPN\n\n{same}\n\n## Mozilla Monitor\n\n{same}\n\n"
        "## Relay\n\nWe use interaction data to improve the Relay service.\n\n"
        "## Contact\n\nWrite to privacy@example.com with questions about this notice.\n")
    service = Service(Settings(outbox=tmp_path / "o.sqlite3", maildir=tmp_path / "m",
                               analytics=tmp_path / "a.sqlite3", top_k=3),
                      index=build_index(policy, embedder), embedder=embedder)
    quotes = [p.quote for p in service.ask("Do you use technical data for performance?").passages]
    assert quotes.count(same) == 1 and len(quotes) == 3, quotes


def test_a_quote_ending_with_a_colon_goes_on_with_the_address_it_announces(embedder, tmp_path):
    """The accounts notice: "… contact our Data Protection Officer at dpo@…, or by mail
    at:" and the address on the lines after it, which the quote had left out (audit)."""
    from index.policy import parse_policy
    from index.store import build_index
    from qa.service import Service
    from qa.settings import Settings

    policy = parse_policy(
        "# Notice\n\n## Your rights\n\nIf you are in the EEA, you can also contact our Data "
        "Protection Officer at dpo@acme.example, or by mail at:\n\nAcme DPO Services SRL<br>\n"
        "Avenue Louise 235<br>\n1050 Brussels<br>\nBelgium<br>\n\nWe respond to all requests "
        "within one month of receiving them, as the law requires.\n")
    service = Service(Settings(outbox=tmp_path / "o.sqlite3", maildir=tmp_path / "m",
                               analytics=tmp_path / "a.sqlite3"),
                      index=build_index(policy, embedder), embedder=embedder)
    quote = service.ask("How do I write to your data protection officer by post?").passages[0]
    assert quote.quote.startswith("If you are in the EEA") and "\n" not in quote.quote
    assert quote.quote.endswith("or by mail at: Acme DPO Services SRL Avenue Louise 235 1050 "
                                "Brussels Belgium"), quote.quote
    assert "We respond" not in quote.quote  # a sentence of prose is not an address line
