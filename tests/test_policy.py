"""Policy loading: front matter, title, Last Revised date, privacy inbox, SHA-256, and
clear refusals of anything that is not a policy with text."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from index.errors import PolicyError, PolicyQAError
from index.policy import load_policy, parse_policy
from qa.settings import BUNDLED_POLICY

POLICIES = Path(__file__).parent / "data" / "policies"


def test_korero_metadata():
    policy = load_policy(BUNDLED_POLICY)
    assert policy.title == "Privacy Policy"  # the H1 wins over front matter "Privacy"
    assert policy.last_revised == "September 4, 2024"
    assert policy.inbox == "privacy@koreroapp.com"
    assert policy.sha256 == hashlib.sha256(BUNDLED_POLICY.read_bytes()).hexdigest()
    # its front matter `url` is the page it is published at
    assert policy.url == policy.base_url == "https://koreroapp.com/privacy"
    assert policy.format == "markdown"
    assert "privacy mailbox" in policy.inbox_reason and "given for questions" in policy.inbox_reason
    assert policy.is_markdown
    assert policy.name == "korero-privacy.md"
    # the front matter is not body, and the source is kept exactly as read
    assert policy.source == BUNDLED_POLICY.read_text(encoding="utf-8")
    assert "layout:" in policy.source[: policy.body_start]
    assert "layout:" not in policy.body
    assert policy.body.lstrip().startswith("# Privacy Policy")


def test_title_from_h1_with_markup_date_and_first_mailto():
    policy = load_policy(POLICIES / "acme.md")
    assert policy.title == "Acme Privacy Notice"
    assert policy.last_revised == "March 3, 2025"
    # a bare address comes first in the text, but the inbox is the first mailto:
    assert policy.inbox == "privacy@acme.example"


def test_title_from_front_matter_when_there_is_no_h1():
    policy = parse_policy("---\ntitle: Acme *privacy*\ndate: 2024-01-02\n---\n\n"
                          "## Intro\n\nWe collect little. Mail privacy@acme.example.\n")
    assert policy.title == "Acme privacy"
    assert policy.last_revised == "2024-01-02"
    assert policy.inbox == "privacy@acme.example"  # no mailto: falls back to a bare address


def test_front_matter_inbox_and_url_win():
    policy = parse_policy("---\nprivacy_email: dpo@acme.example\nurl: https://acme.example/p\n"
                          "---\n# P\n\nWrite to [us](mailto:other@acme.example).\n")
    assert policy.inbox == "dpo@acme.example"
    assert policy.url == "https://acme.example/p"


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Last Revised: September 4, 2024\n\nText here.", "September 4, 2024"),
        ("**Last updated:** 2023-11-30\n\nText here.", "2023-11-30"),
        ("Last modified on 4 March 2024. Text here.", "4 March 2024"),
        ("Effective date: March 3rd, 2023. Text here.", "March 3rd, 2023"),
        ("This policy has no date at all.", None),
    ],
)
def test_last_revised_date(text, date):
    assert parse_policy(text).last_revised == date


def test_first_mailto_stops_at_query_and_list():
    policy = parse_policy("Mail [a](mailto:dpo@x.example?subject=Hi) or "
                          "[b](mailto:first@y.example,second@y.example).")
    assert policy.inbox == "dpo@x.example"
    policy = parse_policy("Mail [b](MAILTO:first@y.example,second@y.example) only.")
    assert policy.inbox == "first@y.example"


def test_plain_text_policy_title_from_first_line():
    policy = load_policy(POLICIES / "tiny-shop.txt")
    assert not policy.is_markdown
    assert policy.title == "Tiny Shop Privacy Policy"
    assert policy.inbox == "privacy@tinyshop.example"


def test_byte_order_mark_and_crlf_are_accepted():
    raw = "\ufeff# Privacy\r\n\r\nLast Revised: May 1, 2024\r\n\r\nWe keep logs.\r\n"
    policy = parse_policy(raw.encode("utf-8"), name="bom.md")
    assert policy.title == "Privacy"
    assert policy.last_revised == "May 1, 2024"
    assert policy.sha256 == hashlib.sha256(raw.encode("utf-8")).hexdigest()


# --- refusals ----------------------------------------------------------------------

def _refused(path: Path, *words: str) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert isinstance(info.value, PolicyQAError)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


def test_missing_file_is_refused(tmp_path):
    _refused(tmp_path / "nope.md", "not found", "nope.md")


def test_directory_is_refused(tmp_path):
    _refused(tmp_path, "directory", str(tmp_path))


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "policy.pdf"
    path.write_bytes(b"%PDF-1.7\n\x00\x01\x02binary stream\x00")
    _refused(path, "binary", "policy.pdf")


def test_utf16_file_is_refused_as_not_text(tmp_path):
    path = tmp_path / "utf16.md"
    path.write_bytes("# Privacy\n\nWe keep logs.\n".encode("utf-16"))
    _refused(path, "utf16.md")


def test_latin1_file_is_refused(tmp_path):
    path = tmp_path / "latin1.md"
    path.write_bytes("# Politique\n\nDonnées personnelles collectées.\n".encode("latin-1"))
    message = _refused(path, "not UTF-8", "latin1.md")
    assert "position" in message


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.md", "", ("no text",)),
        ("blank.md", "   \n\n\t  \n", ("no text",)),
        ("front-only.md", "---\ntitle: Privacy\n---\n", ("no text",)),
        ("front-blank.md", "---\ntitle: Privacy\n---\n\n  \n", ("no text",)),
        ("headings.md", "# Privacy Policy\n\n## What we collect\n\n## Sharing\n", ("no text",)),
        ("markup.md", "<div class='x'></div>\n\n---\n\n", ("no text",)),
        ("bad-yaml.md", "---\ntitle: [unclosed\n---\n# P\n\nText here.\n", ("YAML",)),
    ],
)
def test_policies_without_text_are_refused(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    _refused(path, name, *words)


def test_oversized_policy_is_refused():
    with pytest.raises(PolicyError, match="limit is 5000000"):
        parse_policy(b"# P\n\n" + b"word " * 1_000_001, name="huge.md")


def test_front_matter_after_a_byte_order_mark():
    policy = parse_policy("\ufeff---\ntitle: Shop\n---\nWe keep orders.\n".encode())
    assert policy.title == "Shop"
    assert policy.body.strip() == "We keep orders."


def test_parse_policy_accepts_text_and_bytes_alike():
    text = "# P\n\nWe keep logs.\n"
    assert parse_policy(text) == parse_policy(text.encode("utf-8"))


# --- the page URL: only what the policy says about itself ----------------------------

def test_no_base_url_is_guessed_from_a_link_in_the_body():
    policy = load_policy(POLICIES / "acme.md")  # front matter permalink, links to acme.example
    assert policy.url == ""
    assert parse_policy("# P\n\nSee [us](https://acme.example/).\n").url == ""


@pytest.mark.parametrize("key", ["url", "canonical", "canonical_url"])
def test_front_matter_url_or_canonical_is_the_base_url(key):
    policy = parse_policy(f"---\n{key}: https://acme.example/privacy\n---\n# P\n\nText here.\n")
    assert policy.url == policy.base_url == "https://acme.example/privacy"


def test_the_callers_base_url_wins(tmp_path):
    path = tmp_path / "p.md"
    path.write_text("---\nurl: https://acme.example/p\n---\n# P\n\nText here.\n", "utf-8")
    assert load_policy(path, base_url="https://docs.acme.example/p").url == (
        "https://docs.acme.example/p")
    assert parse_policy("---\nurl: not-a-url\n---\n# P\n\nText here.\n").url == ""


# --- the privacy inbox: which address, and why -------------------------------------------

@pytest.mark.parametrize("spelled", [
    "privacy[at]example[dot]com", "privacy (at) example.com", "privacy at example dot com",
    "privacy [at] example [dot] com", "privacy@example[dot]com", "privacy{at}example{dot}com",
])
def test_obfuscated_addresses_are_found(spelled):
    policy = parse_policy(f"# P\n\nQuestions? Write to {spelled} any time.\n")
    assert policy.inbox == "privacy@example.com"
    assert "spelled out" in policy.inbox_reason


def test_words_around_at_are_no_address():
    assert parse_policy("# P\n\nContact us at example dot com or look at home.\n").inbox is None
    policy = parse_policy("# P\n\nFind us at shop.example today.\n")
    assert policy.inbox is None and policy.inbox_reason == "no e-mail address in the policy"


def test_a_privacy_labelled_address_beats_the_first_one():
    policy = parse_policy("# P\n\nSales: sales@acme.example. Support: help@acme.example.\n\n"
                          "For data protection requests write to legal@acme.example.\n")
    assert policy.inbox == "legal@acme.example"
    assert policy.inbox_reason == "labelled 'data protection'"


def test_an_address_in_the_contact_section_beats_one_elsewhere():
    policy = parse_policy("# P\n\n## Orders\n\nOrder questions: orders@acme.example.\n\n"
                          "## Contact us\n\nWrite to team@acme.example.\n")
    assert policy.inbox == "team@acme.example"
    assert policy.inbox_reason == "in section 'Contact us'"


def test_the_address_given_for_privacy_questions_beats_a_dpo_for_some_visitors():
    """Mozilla's notices: "If you have any other questions regarding personal data or
    our privacy practices, please contact us at compliance@…", then "If you're in the
    UK or EEA, you can also contact our Data Protection Officer at dpo@…" (dpo@ won
    before: the audit found every hand-off of the accounts notice sent there)."""
    policy = parse_policy(
        "# P\n\n## Your rights\n\nComplain to your data protection authority; we'd prefer "
        "you contact us first (via dpo@acme.example).\n\nIf you have any other questions "
        "regarding personal data or our privacy practices, please contact us at "
        "team@acme.example.\n\nIf you're in the UK or EEA, you can also contact our Data "
        "Protection Officer at dpo@acme.example.\n")
    assert policy.inbox == "team@acme.example"
    assert "given for questions" in policy.inbox_reason
    for name in ("mozilla_accounts_privacy_notice.html", "mozilla_accounts_privacy_notice.md"):
        assert load_policy(POLICIES / "mozilla" / name).inbox == "compliance@mozilla.com", name


def test_questions_about_something_else_do_not_make_an_inbox():
    policy = parse_policy("# P\n\nIf you have questions about your order, contact "
                          "orders@acme.example.\n\n## Contact us\n\nWrite to "
                          "privacy@acme.example.\n")
    assert policy.inbox == "privacy@acme.example"


def test_a_dpo_mailbox_beats_a_noreply_in_the_rights_section():
    policy = parse_policy("# P\n\n## Your rights\n\nMails come from noreply@acme.example; "
                          "reach our DPO at [dpo@acme.example](mailto:dpo@acme.example).\n")
    assert policy.inbox == "dpo@acme.example"
    assert policy.inbox_reason.startswith("a privacy mailbox (dpo@), labelled 'DPO'")


def test_the_first_of_equal_addresses_wins_and_says_so():
    policy = parse_policy("# P\n\nWrite to one@acme.example or two@acme.example.\n")
    assert (policy.inbox, policy.inbox_reason) == ("one@acme.example",
                                                   "the first address in the policy")
    policy = parse_policy("---\nprivacy_email: dpo@acme.example\n---\n# P\n\nText here.\n")
    assert policy.inbox_reason == "front matter `privacy_email`"
