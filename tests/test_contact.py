"""Questions that ask how to reach the team are answered with a way to reach it
(qa/answering/contact.py): the sentence giving an address is quoted (tests/test_answer.py)
and, when no quote shown gives the privacy inbox, the answer opens by giving it."""

from __future__ import annotations

import pytest

from qa.answering.contact import ASKS_TO_REACH, REACH, reach_lead

OPENGOV = "tests/data/policies/opengov/privacy-policy.md"


@pytest.mark.parametrize("question", [
    "How can I contact you about privacy?", "who do i email about my data", "how do i reach you",
    "I have a concern about this policy, can I reach out?", "what's your mailing address",
    "whats the email for privcy questions", "which email address handles privacy questions?",
    "Can I just email you?", "privacy contact email", "Who should I write to about my data?",
])
def test_questions_that_ask_how_to_reach_the_team(question):
    assert ASKS_TO_REACH.search(question)


@pytest.mark.parametrize("question", [
    "is my phone number part of my account data?", "How do I fix a typo in my email address?",
    "If I email your support team, do you keep those messages?",
    "how would you contact me about a legal request", "do you share my contact details?",
    "who can read what I write in the forum?", "What is the salary of your privacy officer?",
    "does the app upload my phone contacts?",
])
def test_questions_about_the_visitors_own_contact_details_do_not(question):
    assert not ASKS_TO_REACH.search(question)


def test_the_lead_gives_the_inbox_only_when_no_quote_does():
    inbox = "privacy@shop.example"
    assert reach_lead("How do I contact you?", ["We are a shop."], inbox) == REACH.format(
        inbox=inbox)
    assert reach_lead("How do I contact you?", ["Write to PRIVACY@shop.example."], inbox) == ""
    # another address quoted: that is the policy's answer, no second one beside it
    assert reach_lead("How do I contact you?", ["Contact us at help@shop.example."],
                      inbox) == ""
    assert reach_lead("Do you sell my data?", ["We are a shop."], inbox) == ""
    assert reach_lead("How do I contact you?", ["We are a shop."], "") == ""
    assert reach_lead("How do I contact you?", ["Call us on (800) 555-0199."], inbox) == ""
    # a postal address alone gives no e-mail to write to: the inbox is still given
    donations = "We receive donations in the mail (P.O. 3672, Washington, DC 20027)."
    assert reach_lead("How do I contact you?", [donations], inbox) == REACH.format(inbox=inbox)


def test_opengov_gives_its_address_to_a_visitor_who_asks_how_to_reach_it(tmp_path, embedder):
    """OpenGov gives sayhello@opengovfoundation.org only in its section on correcting
    data, which the question does not rank first: the answer opens with the address."""
    from index.policy import load_policy
    from index.store import build_index
    from qa.service import Service
    from qa.settings import Settings

    index = build_index(load_policy(OPENGOV), embedder)
    service = Service(Settings(outbox=tmp_path / "o.sqlite3", maildir=tmp_path / "m",
                               analytics=tmp_path / "a.sqlite3"), index=index, embedder=embedder)
    plain = service.ask("Do you sell my data?")
    for question in ("How can I contact you about privacy?",
                     "Who do I contact with privacy questions?"):
        answer = service.ask(question)
        assert answer.resolved, question
        assert answer.lead.startswith(
            "You can reach the privacy team at sayhello@opengovfoundation.org. Here is what"), (
            answer.lead)
        assert answer.answer.startswith(answer.lead)
    assert "reach the privacy team" not in plain.lead
