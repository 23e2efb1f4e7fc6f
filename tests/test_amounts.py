"""A question that asks for an amount is resolved only by a quote that gives one
(qa/answering/amounts.py): unit tests of the wording rules, then the real model on a
policy that keeps logs "for a limited time" against one that keeps them "for 30 days"."""

from __future__ import annotations

import pytest

from qa.answering.amounts import AMOUNT_RULE, asks_for, gives, missing_amount
from qa.answering.answer import NOT_GIVEN
from qa.answering.lead import DIRECT_RULE


@pytest.mark.parametrize("question, kind", [
    ("How many days do you keep server logs?", "units"),
    ("for how many years is my billing history stored", "units"),
    ("how long do you keep my data", "duration"),
    ("How soon will you reply to my request?", "duration"),
    ("Is there a trial, and how long is it?", "duration"),
    ("ok how quickly do you delete closed accounts", "duration"),
    ("How much does the premium plan cost per month?", "price"),
    ("how much do you charge for a copy of my records", "price"),
    ("How many partners receive my e-mail address?", "count"),
    ("exactly how many staff can see my account", "count"),
    # yes/no and other questions that merely contain the words
    ("Do you count how many times I sign in?", None),
    ("Will you know how long I stayed on a page?", None),
    ("How much data do you collect about me?", None),
    ("When was this policy last updated?", None),  # dates are not a kind (glossed)
    ("Do you sell my data?", None),
    # not prices: "payment", "feedback" and "pay" as a side clause (review)
    ("How much of my data do you share with payment processors?", None),
    ("How much of my feedback do you keep?", None),
    ("How much personal data do you collect when I pay?", None),
    ("How much do I have to pay for the premium plan?", "price"),
    ("How much does the U.S. plan cost?", "price"),
    # polite frames, list numbers, quotes and full-width text (the cache's key)
    ("Can you tell me how long you keep my data?", "duration"),
    ("I'd like to know how many days you keep logs", "units"),
    ("1) how many days do you keep logs", "units"),
    ("\u201cHow long do you keep server logs?\u201d", "duration"),
    ("\u00bfhow long do you keep logs?", "duration"),
    ("\uff48\uff4f\uff57 \uff4c\uff4f\uff4e\uff47 do you keep logs", "duration"),
])
def test_asks_for_reads_the_kind_where_a_clause_starts(question, kind) -> None:
    assert asks_for(question) == kind


@pytest.mark.parametrize("kind, text, expected", [
    ("units", "We keep server logs for 30 days, then delete them.", True),
    ("units", "Logs are kept for two years.", True),
    ("units", "We keep logs for as long as necessary.", False),
    ("duration", "We keep logs for as long as necessary.", True),
    ("duration", "We respond within one month.", True),
    ("duration", "We keep server logs to protect the service.", False),
    ("price", "Plans start at $4.99 a month.", True),
    ("price", "You can ask for a copy free of charge.", True),
    ("price", "We do not sell your data.", False),
    ("count", "We share it with three partners.", True),
    ("count", "We share it with our partners.", False),
    # the review's cases: legal wording, no charge, and what is no amount
    ("units", "We will respond to your request within thirty (30) days.", True),
    ("units", "Backups are deleted after fourteen days.", True),
    ("price", "You will not have to pay a fee to access your personal data.", True),
    ("price", "We do not charge for this.", True),
    ("price", "You won't be charged for a copy.", True),
    ("price", "We do not store your full payment card number.", False),  # CI's case
    ("price", "A copy costs EUR 10.", True),
    ("price", "You are free to delete your account.", False),
    ("count", "See section 2 of Regulation (EU) 2016/679.", False),
    ("duration", "We keep it within the EEA.", False),
    ("units", "Children under 13 years of age may not sign up.", False),
    ("units", "We keep a second copy of your files.", False),
    # none at all answers "how many" and "how long"
    ("count", "We do not sell your personal data to any third party.", True),
    ("units", "We do not store your IP address; it is discarded immediately.", True),
])
def test_gives_finds_an_amount_of_the_kind(kind, text, expected) -> None:
    assert gives(kind, text) is expected


def test_missing_amount_needs_one_quote_that_gives_it() -> None:
    question = "How many days do you keep server logs?"
    assert missing_amount(question, ["We keep logs for a while.", "Logs help us."]) == "units"
    assert missing_amount(question, ["We keep logs for a while.", "Kept for 90 days."]) is None
    assert missing_amount(question, []) == "units"
    assert missing_amount("Do you keep server logs?", ["We keep logs for a while."]) is None


POLICY = ("# Acme privacy policy\n\n## What we collect\n\nWe collect your name, e-mail address "
          "and the messages you send us.\n\n## Server logs\n\nOur servers log your IP address "
          "and browser with each request. We keep server logs for {how} to protect the "
          "service, then delete them.\n\n## Cookies\n\nWe use cookies to keep you signed "
          "in.\n\n## Contact\n\nWrite to privacy@acme.example with any question about this "
          "policy.\n")


@pytest.fixture(scope="module")
def services(embedder, tmp_path_factory):
    from index.policy import parse_policy
    from index.store import build_index
    from qa.service import Service
    from qa.settings import Settings

    out = {}
    for how in ("a limited time", "30 days"):
        tmp = tmp_path_factory.mktemp("amounts")
        settings = Settings(outbox=tmp / "o.sqlite3", maildir=tmp / "m",
                            analytics=tmp / "a.sqlite3", cache_size=0)
        index = build_index(parse_policy(POLICY.format(how=how)), embedder)
        out[how] = Service(settings, index=index, embedder=embedder)
    return out


@pytest.mark.parametrize("question", ["How many days do you keep server logs?",
                                      "how long do you keep server logs"])
def test_a_quote_without_the_amount_asked_for_leaves_the_question_unresolved(services, question):
    vague, exact = services["a limited time"].ask(question), services["30 days"].ask(question)
    assert exact.resolved and "30 days" in exact.passages[0].quote
    # the decision alone would resolve it: the logs section matches every word
    assert vague.confidence >= services["a limited time"].decision["threshold"]
    assert not vague.resolved and vague.kind.value == "unresolved"
    assert "limited time" in vague.passages[0].quote  # still shown as the closest passage
    assert "privacy@acme.example" in vague.answer  # and the inbox offered
    assert vague.lead.startswith(NOT_GIVEN[asks_for(question)])  # says what is missing


def test_the_forwarded_answer_says_what_the_policy_does_not_give(services) -> None:
    from qa.service import with_outbox

    service = with_outbox(services["a limited time"])
    answer = service.escalate(service.ask("how long do you keep server logs"))
    assert answer.escalation is not None
    assert answer.lead.startswith("Our privacy policy does not seem to say how long. "
                                  "I have forwarded your question to privacy@acme.example")
    assert answer.answer.startswith(answer.lead)


def test_a_yes_no_question_on_the_same_passage_is_still_resolved(services) -> None:
    assert services["a limited time"].ask("Do you keep server logs?").resolved


def test_the_console_says_which_amount_was_missing(services) -> None:
    from ui.web.console.tabs import diagnose

    verdict, *_ = diagnose(services["a limited time"], "How many days do you keep server logs?")
    assert verdict.startswith("NOT RESOLVED")
    assert "asks for a number of days, months or years and none of the quotes gives one" \
        in verdict
    # and every verdict names the rules beside the model (Service.decision, eval's JSON)
    rules = services["a limited time"].decision["rules"]
    assert AMOUNT_RULE in rules and DIRECT_RULE in rules
    assert f"Also {AMOUNT_RULE}." in verdict


def test_the_rule_reads_only_the_quotes_a_visitor_is_shown(embedder, tmp_path) -> None:
    """An evaluation ranks ten places (Service(ranked=10)); its decision must be the
    product's, which reads the quotes of the settings' top_k, not all ten: here a
    newsletter "every 2 weeks" ranks second, and only one passage is shown."""
    from index.policy import parse_policy
    from index.store import build_index
    from qa.service import Service
    from qa.settings import Settings

    policy = POLICY.format(how="a limited time").replace(
        "## Contact", "## Newsletter\n\nWe send our newsletter every 2 weeks to those who "
        "ask for it.\n\n## Contact")
    settings = Settings(outbox=tmp_path / "o.sqlite3", maildir=tmp_path / "m",
                        analytics=tmp_path / "a.sqlite3", cache_size=0, top_k=1)
    index = build_index(parse_policy(policy), embedder)
    ranked = Service(settings, index=index, embedder=embedder, ranked=10)
    answer = ranked.ask("How many days do you keep server logs?")
    assert "2 weeks" in answer.passages[1].quote  # ranked, but not shown
    assert not answer.resolved
    assert Service(settings.replace(top_k=2), index=index, embedder=embedder,
                   ranked=10).ask("How many days do you keep server logs?").resolved


def test_a_cached_answer_and_its_rephrasing_agree(services, embedder) -> None:
    """Questions that share a cache key share the kind (asks_for reads the key): asked
    first with curly quotes, the plain question gets the same, unresolved answer."""
    from qa.service import Service

    vague = services["a limited time"]
    cached = Service(vague.settings.replace(cache_size=16), index=vague.index,
                     embedder=embedder)
    first = cached.ask("\u201cHow long do you keep server logs?\u201d")
    again = cached.ask("How long do you keep server logs?")
    assert not first.resolved and not again.resolved
    assert again.lead == first.lead and again.lead.startswith(NOT_GIVEN["duration"])


def test_forwarded_and_request_leads_keep_what_the_visitor_was_told() -> None:
    from qa.answering.answer import CONTACT, REQUEST_UNSURE, as_request, escalated
    from qa.records import Answer, EscalationRef, Kind, Passage

    passage = Passage("Logs", "logs", "#logs", "We keep logs for a limited time.", 0.9)
    lead = NOT_GIVEN["duration"] + CONTACT.format(inbox="privacy@acme.example")
    told = Answer("how long until my account is deleted", False, 0.9, lead, (passage,),
                  kind=Kind.UNRESOLVED, lead=lead)
    forwarded = escalated(told, EscalationRef("e1", "queued", "privacy@acme.example"))
    assert forwarded.lead.startswith(NOT_GIVEN["duration"] + " I have forwarded")
    request = as_request(told, "deletion")
    assert NOT_GIVEN["duration"] in request.lead and "say how;" not in request.lead
    plain = as_request(Answer("delete my account", False, 0.2, "x", (passage,),
                              kind=Kind.UNRESOLVED, lead="x"), "deletion")
    assert plain.lead.endswith(REQUEST_UNSURE.split("{what}")[1])  # "… say how; …"
