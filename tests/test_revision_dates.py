"""The revision date: front matter, a "Last revised / Effective / Gültig ab" phrase, or a
date line at the top of the policy (kramdown's `{: datetime=… }` too), never a date in
the body of a section; a plain-text policy's date line is not its title."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.policy import load_policy, parse_policy
from index.split import split_policy

MOZILLA = Path(__file__).parent / "data" / "policies" / "mozilla"


def test_a_date_line_under_the_title_is_the_revision_date():
    policy = load_policy(MOZILLA / "websites_privacy_notice.md")
    assert policy.last_revised == "November 5, 2025"
    assert policy.title == "Websites, Communications & Cookies Privacy Notice"
    # the line stays text, as "Last Revised:" lines do (a visitor may ask for it)
    assert split_policy(policy)[0].text.startswith("November 5, 2025\nWe care about")


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("# Mozilla Privacy Policy\n\nSeptember 9, 2020\n{: datetime=\"2020-09-09\" }\n\n"
         "Your privacy matters.\n\n## A\n\nText.\n", "September 9, 2020"),
        ("# Firefox-Datenschutzhinweis\n\nGültig ab Montag, 4. Mai 2026\n"
         "{: datetime=\"2026-05-04\" }\n\n## Wir\n\nText.\n", "4. Mai 2026"),
        ("# P\n\nStand: 1. März 2025\n\nText.\n", "1. März 2025"),
        ("# P\n\n*Updated on Tuesday, May 6th, 2025*\n\nText.\n", "May 6th, 2025"),
        ("# P\n\nEffective 2024-01-31\n\nText.\n", "2024-01-31"),
        ("# P\n\nOur notice.\n{: datetime=\"2021-02-03\" }\n\n## A\n\nText.\n", "2021-02-03"),
        ("# P\n\nZuletzt aktualisiert am 2. Januar 2024. Text.\n", "2. Januar 2024"),
    ],
)
def test_date_lines_phrases_and_datetime_attributes(text, date):
    assert parse_policy(text, name="p.md").last_revised == date


@pytest.mark.parametrize(
    "text",
    [
        "# P\n\nThe GDPR, effective from 2018, applies.\n\n## A\n\nMay 25, 2018\n\nText.\n",
        "# P\n\nWe changed this policy on May 25, 2018 for the GDPR.\n\nText.\n",
        "# P\n\nMarch Madness 2020\n\nText.\n",
        "# P\n\nOne.\n\nTwo.\n\nThree.\n\nFour.\n\nMay 25, 2018\n",
    ],
)
def test_a_date_in_the_body_is_not_the_revision_date(text):
    assert parse_policy(text, name="p.md").last_revised is None


def test_a_plain_text_policy_gets_its_title_and_date_line():
    titled = parse_policy("Acme Privacy Policy\n\nSeptember 9, 2020\n\nWe keep logs.\n",
                          name="acme.txt")
    assert (titled.format, titled.title, titled.last_revised) == (
        "text", "Acme Privacy Policy", "September 9, 2020")
    dated = parse_policy("September 9, 2020\n\nAcme keeps logs. We delete them.\n",
                         name="acme-privacy.txt")
    assert (dated.title, dated.last_revised) == ("acme privacy", "September 9, 2020")
