"""The direct lead (qa/answering/lead.py): "Yes — “…”" / "No — “…”" only where one
sentence of the best quote plainly answers a plain yes/no question; otherwise None, so
the chat keeps the neutral lead. Most cases here are ones where it must say nothing."""

from __future__ import annotations

import pytest

from qa.answering.lead import direct_lead, lead_above, parse_question, self_names, verdict

SELVES = ("korero", "we")


@pytest.mark.parametrize(("question", "quote", "polarity"), [
    ("Do you sell my data?", "We do not sell your personal information.", "no"),
    ("do u sell my data", "Korero does not sell, trade, rent or otherwise transfer to "
     "outside parties your personally identifiable information.", "no"),
    ("Does Korero sell my data?", "We never sell your data.", "no"),
    ("Do you sell my info?", "We don't sell your information to anyone.", "no"),
    ("Do you use cookies?", "We use cookies on our website.", "yes"),
    ("do you use cookeis", "We use cookies on our website.", "yes"),  # a typo
    ("Does your site use cookies?", "We use cookies on our website.", "yes"),
    ("Do you encrypt my password?", "We encrypt your password with bcrypt.", "yes"),
    ("Can I delete my account?", "You can delete your account in the settings.", "yes"),
    ("Can I delete my account?", "You cannot delete your account yourself.", "no"),
    ("Can I opt out of emails?", "You may opt out of these emails at any time.", "yes"),
    ("Will you share my data with advertisers?",
     "We will never share your data with advertisers.", "no"),
    ("Do you store my password?", "Our team stores nothing. We store your password "
     "encrypted.", "yes"),
    # independent clauses: the other clause's exception is about another verb
    ("Do you sell my data?", "Korero does not sell or rent visitor information under any "
     "circumstances, and we do not share it without consent except as compelled by law.",
     "no"),
    ("Do you sell my data?", "We do not sell your data; we share it with processors only "
     "under contract.", "no"),
])
def test_a_plain_sentence_answers_yes_or_no(question, quote, polarity):
    lead = direct_lead(question, quote, SELVES)
    assert lead is not None and lead.polarity == polarity
    assert lead.sentence in quote  # verbatim
    word = "Yes" if polarity == "yes" else "No"
    assert lead.text == f"{word} \u2014 \u201c{lead.sentence}\u201d"


@pytest.mark.parametrize(("question", "quote"), [
    # the sentence is about something else than the question's object
    ("Do you sell my data?", "If Korero is involved in a merger, acquisition, or sale of "
     "all or a portion of its assets, you would be notified."),
    ("Do you share my data with advertisers?", "We may share your information with "
     "service providers."),
    ("Do you use cookies to figure out what I'm interested in?", "We use cookies on our "
     "website."),
    ("Do you collect demographic info?", "We gather demographic information."),  # verb
    # someone else does it
    ("Do you track me across websites?", "Third parties may track you across websites."),
    ("Do you use cookies?", "Our ad network partner uses cookies and web beacons."),
    # conditions and exceptions: no plain yes or no
    ("Do you sell my data?", "We do not sell your data unless you agree."),
    ("Do you share my data?", "We do not share your data except as described below."),
    ("Do you keep my credit card?", "However, we generally do not retain credit card "
     "information unless you choose monthly donations."),
    ("Do you use cookies?", "We use cookies only when you log in."),
    ("Do you use cookies?", "If you accept them, we use cookies."),
    ("Do you encrypt my data?", "On pages where you log in, we encrypt the data."),
    ("Do you use cookies?", "Some of our pages use cookies, but we use cookies rarely."),
    # a clause with a condition on the very verb asked spoils the plain one beside it
    ("Do you sell my data?", "We do not sell your data; if you opt in, we sell it to "
     "partners."),
    ("Do you share my data?", "Korero does not sell visitor information, and we do not "
     "share it without consent except as compelled by law."),
    ("Do you sell my data?", "We do not sell your data, but we sell reports."),
    # both ways in one quote
    ("Do you use cookies?", "We use cookies. We do not use cookies on the blog."),
    # "can I" needs "can"/"may"/"able"
    ("Can I delete my account?", "You delete your account in the settings."),
    ("Can I delete my data?", "You may have the right to request that we delete it."),
    # a table row, a question, a long sentence
    ("Do you share data?", "Affiliates | As a global company, we share data across "
     "affiliates."),
    ("Do you use cookies?", "Why do we use cookies?"),
    ("Do you use cookies?", "We use cookies " + "and more " * 60 + "."),
])
def test_no_lead_when_the_sentence_does_not_plainly_answer(question, quote):
    assert direct_lead(question, quote, SELVES) is None


@pytest.mark.parametrize("question", [
    "What data do you collect?", "How do I delete my account?", "Why do you use cookies?",
    "Do you sell or share my data?",  # alternatives
    "Do you sell my data and my email?",
    "Don't you sell my data?", "Do you not use cookies?",  # negated questions
    "Do you use cookies? And what for?",  # two questions
    "Do you have a data retention policy?",  # vague verb
    "Is my data encrypted?",  # passive: not handled
    "Does Google use cookies?",  # not the policy's author
    "Do they sell my data?",
    "do you use my data to train AI models when I upload files to the editor or the app",
])
def test_questions_that_get_no_direct_lead(question):
    assert parse_question(question, SELVES) is None
    assert direct_lead(question, "We use cookies. We do not sell your data.", SELVES) is None


def test_parsed_question_names_its_subject_verb_and_words():
    query = parse_question("Do you actually sell my personal data to advertisers?", SELVES)
    assert query is not None
    assert (query.about, query.verb) == ("org", "sell")
    assert set(query.words) == {"\u2022data", "advertis"}
    visitor = parse_question("can i log in with my google account", SELVES)
    assert visitor is not None and visitor.about == "visitor" and visitor.verb == "log"


def test_the_policy_names_itself():
    page = 'Korero, Inc. (henceforward "Korero", "we" or "us") understands that ...'
    assert self_names(page) == {"korero", "we"}
    assert self_names("We are a shop.") == {"we"}
    query = parse_question("Does Korero sell my data?", self_names(page))
    assert query is not None
    assert verdict(query, "Korero does not sell your data.", ("korero", "we")) == "no"
    assert verdict(query, "Acme does not sell your data.", ("korero", "we")) is None


def test_short_names_and_refers_to_definitions_name_the_author():
    page = ("The OpenGov Foundation (OpenGov), lead developers of Madison, protects "
            'privacy. In this policy, "Madison" refers to the platform. The General Data '
            "Protection Regulation (GDPR) applies. Contact Acme Corp (ACME).")
    # a bracketed short name counts when it is a word of the full one: not an acronym
    assert self_names(page) == {"we", "opengov", "madison", "acme"}
    query = parse_question("Does OpenGov sell my data?", self_names(page))
    assert query is not None
    assert verdict(query, "OpenGov does not sell member information.", self_names(page)) == "no"


def test_the_answer_leads_with_no_for_selling_on_the_real_policy(service):
    answer = service.ask("Do you sell my data?")
    assert answer.resolved
    assert answer.lead.startswith("No \u2014 \u201cKorero does not sell")
    assert answer.answer.startswith(answer.lead)
    neutral = service.ask("How do I delete my account?")
    assert not neutral.lead.startswith(("Yes", "No"))


def test_an_unscripted_policy_answers_no_to_selling(tmp_path, embedder):
    """OpenGov names itself only by a bracketed short name, and its selling sentence
    goes on with an exception about sharing: still a plain "No", so resolved."""
    from index.policy import load_policy
    from index.store import build_index
    from qa.service import Service
    from qa.settings import Settings

    index = build_index(load_policy("tests/data/policies/opengov/privacy-policy.md"), embedder)
    service = Service(Settings(outbox=tmp_path / "o.sqlite3", maildir=tmp_path / "m",
                               analytics=tmp_path / "a.sqlite3"), index=index, embedder=embedder)
    for question in ("Do you sell my data?", "Does OpenGov sell my information?"):
        answer = service.ask(question)
        assert answer.resolved, question
        assert answer.lead.startswith("No \u2014 \u201cOpenGov does not sell"), answer.lead
    shared = service.ask("Do you share my data?")  # the clause that has an exception
    assert not shared.lead.startswith(("Yes", "No"))


def test_a_lead_above_its_own_sentence_does_not_repeat_it():
    """The chat shows "No — in the policy's own words:" above a quote that is the lead's
    whole sentence; a longer quote keeps the sentence in the lead (it points into it)."""
    sentence = "Korero does not sell your personally identifiable information."
    lead = "No \u2014 \u201c" + sentence + "\u201d"
    assert lead_above(lead, sentence) == "No \u2014 in the policy's own words:"
    assert lead_above(lead, sentence + " We share it with processors.") == lead
    assert lead_above("Yes \u2014 \u201cWe use cookies.\u201d", " We use cookies. ") == (
        "Yes \u2014 in the policy's own words:")
    assert lead_above("Here is what the policy says:", sentence) == "Here is what the policy says:"


def test_the_chat_reply_quotes_the_sentence_once(service):
    from ui.web.chat.render import render_answer

    answer = service.ask("Do you sell my data?")
    html = render_answer(answer)
    assert html.count("Korero does not sell") == 1
    assert "No \u2014 in the policy&#x27;s own words:" in html
