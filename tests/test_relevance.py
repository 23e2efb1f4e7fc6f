"""Which passages the chat shows (qa/answering/relevance.py): within a margin of the
best one, and sharing a content word with the question; boilerplate that only sits near
everything in the embedding space is not offered as a "closest passage"."""

from __future__ import annotations

from qa.answering.relevance import SHOWN_MARGIN, on_topic, shown
from qa.records import Passage

BOILERPLATE = (
    "Capitalized terms that are not defined in this Privacy Notice have the meaning given "
    "to them in the Terms of Service.",
    "We may update this policy from time to time.",
    "If you have any questions, concerns or comments regarding this privacy policy, please "
    "do not hesitate to contact us.",
)


def _p(quote: str, score: float) -> Passage:
    return Passage("S", "s", "https://example.org/#s", quote, score)


def test_a_passage_must_share_a_content_word_with_the_question():
    assert on_topic("Do you sell my data?", "Korero does not sell your information.")
    assert on_topic("does your site use cookeis", "If you reject cookies, you may ...")
    for quote in BOILERPLATE:
        assert not on_topic("Do you sell my data?", quote)
        assert not on_topic("are you SOC 2 certified?", quote)
    # the words every policy is full of do not count
    assert not on_topic("what personal data does this privacy policy use?",
                        "We use personal information as this privacy notice describes.")


def test_boilerplate_is_not_shown_after_the_best_passage():
    best = _p("We do not sell your personal information.", 0.6)
    passages = (best, *(_p(q, 0.58) for q in BOILERPLATE), _p("We never sell data.", 0.55))
    assert [p.quote for p in shown(passages, "Do you sell my data?")] == [
        best.quote, "We never sell data."]
    assert shown(passages) == passages  # without a question: the margin only


def test_the_best_passage_of_a_resolved_answer_is_always_shown():
    best = _p("We use SSL everywhere.", 0.6)
    assert shown((best,), "is the login page encrypted?") == (best,)
    # an unresolved answer's "closest passages" are all held to the rule
    assert shown((best,), "is the login page encrypted?", resolved=False) == ()


def test_the_margin_still_applies():
    best = _p("We sell nothing.", 0.6)
    low = _p("We never sell data.", 0.6 - SHOWN_MARGIN - 0.01)
    assert shown((best, low), "Do you sell my data?") == (best,)


def test_on_the_real_policy_an_unanswerable_question_gets_no_off_topic_passages(service):
    from ui.web.chat.render import render_answer

    answer = service.ask("are you SOC 2 certified?")
    assert not answer.resolved and answer.passages  # the API still has them
    html = render_answer(answer)
    assert "pqa-quote" not in html and "came closest" not in html
    sold = service.ask("Do you sell my data?")
    kept = shown(sold.passages, sold.question, resolved=True)
    assert kept[0] == sold.passages[0]
    assert all(on_topic(sold.question, p.quote) for p in kept[1:])
