"""The privacy inbox of a policy in German, French or Spanish (index/inbox.py): the same
cues as in English (a privacy mailbox or label, a contact or rights section, the address
given for questions, an address only for visitors in some places, spelled-out
addresses, unwanted mailboxes), in each language. The German Firefox notice named its
UK/EEA-only DPO address where the English one names compliance@."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.inbox import find_inbox
from index.policy import load_policy, parse_policy

SHARED = Path(__file__).resolve().parents[2] / "shared" / "policies" / "mozilla"


@pytest.mark.parametrize(("title", "general", "regional"), [
    ("Datenschutzerklärung\n\n## Ihre Rechte",
     "Bei anderen Fragen zu Ihren personenbezogenen Daten oder unseren Datenschutzpraktiken "
     "können Sie sich jederzeit unter team@acme.example an uns wenden.",
     "Wenn Sie im Vereinigten Königreich oder im EWR ansässig sind, können Sie sich auch "
     "unter dpo@acme.example an unseren Datenschutzbeauftragten wenden."),
    ("Politique de confidentialité\n\n## Vos droits",
     "Pour toute autre question concernant vos données personnelles ou nos pratiques en "
     "matière de vie privée, vous pouvez nous contacter à team@acme.example.",
     "Si vous résidez dans l'EEE ou au Royaume-Uni, vous pouvez également contacter notre "
     "délégué à la protection des données à dpo@acme.example."),
    ("Política de privacidad\n\n## Sus derechos",
     "Si tiene cualquier otra pregunta sobre sus datos personales o nuestras prácticas de "
     "privacidad, puede contactarnos en team@acme.example.",
     "Si usted reside en el EEE o en el Reino Unido, también puede contactar a nuestro "
     "delegado de protección de datos en dpo@acme.example."),
], ids=["de", "fr", "es"])
def test_the_general_inbox_beats_a_dpo_for_some_visitors(title, general, regional):
    """Mozilla's notices in each language: a DPO mailbox first (a complaint), the
    general address for other questions, then the DPO again for UK/EEA visitors."""
    policy = parse_policy(f"# {title}\n\nBeschwerden, plaintes, reclamaciones: "
                          f"dpo@acme.example.\n\n{general}\n\n{regional}\n")
    assert policy.inbox == "team@acme.example", policy.inbox_reason
    assert "given for questions" in policy.inbox_reason


@pytest.mark.parametrize("regional", [
    "Wenn Sie sich im EWR befinden, können Sie auch unseren Datenschutzbeauftragten unter "
    "dpo@acme.example erreichen.",
    "Falls Sie Ihren Wohnsitz in der Schweiz haben, schreiben Sie unserem "
    "Datenschutzbeauftragten an dpo@acme.example.",
    "Si vous êtes située au Royaume-Uni, vous pouvez écrire à notre DPD : dpo@acme.example.",
    "Si vous résidez en France, contactez notre délégué à la protection des données à "
    "dpo@acme.example.",
    "Si se encuentra en el Reino Unido, puede escribir a nuestro DPD a dpo@acme.example.",
    "Si usted reside en la UE, contacte a nuestro delegado de protección de datos en "
    "dpo@acme.example.",
])
def test_an_address_only_for_visitors_in_some_places_loses(regional):
    policy = parse_policy("# P\n\nDatenschutz, confidentialité, privacidad: "
                          "[team@acme.example](mailto:team@acme.example)\n\n" + regional + "\n")
    assert policy.inbox == "team@acme.example", policy.inbox_reason
    alone = parse_policy(f"# P\n\n{regional}\n")
    assert "for visitors in some places only" in alone.inbox_reason


@pytest.mark.parametrize("asked", [
    "Bei Fragen zum Datenschutz wenden Sie sich bitte an team@acme.example.",
    "Bei Fragen zu Ihren personenbezogenen Daten können Sie sich jederzeit unter "
    "[team@acme.example](mailto:team@acme.example) an uns wenden.",
    "Wenn Sie Fragen zum Datenschutz haben, schreiben Sie an team@acme.example.",
    "Pour toute question concernant cette politique, écrivez-nous à team@acme.example.",
    "Pour toute question relative à vos données personnelles, vous pouvez nous contacter "
    "par courriel : team@acme.example.",
    "Si tiene preguntas sobre esta política de privacidad, escríbanos a team@acme.example.",
    "Para cualquier consulta sobre sus datos personales, puede contactarnos en "
    "team@acme.example.",
])
def test_the_address_given_for_privacy_questions_wins(asked):
    policy = parse_policy(f"# P\n\nDatenschutz / Confidentialité / Privacidad: "
                          f"legal@acme.example\n\n{asked}\n")
    assert policy.inbox == "team@acme.example", policy.inbox_reason
    assert "given for questions" in policy.inbox_reason
    assert "some places only" not in policy.inbox_reason


@pytest.mark.parametrize("label", [
    "Datenschutzbeauftragter", "DSGVO", "Confidentialité", "Vie privée",
    "Protection des données", "Délégué à la protection des données", "Notre DPD", "RGPD",
    "Privacidad", "Protección de datos", "Delegado de protección de datos",
])
def test_a_privacy_label_in_each_language_marks_the_address(label):
    policy = parse_policy(f"# P\n\nVentes : sales@acme.example. Support : help@acme.example."
                          f"\n\n{label} : legal@acme.example\n")
    assert (policy.inbox, policy.inbox_reason) == ("legal@acme.example",
                                                   f"labelled {label!r}")


@pytest.mark.parametrize("box", [
    "datenschutz", "dsgvo", "confidentialite", "vie-privee", "protection.donnees", "rgpd",
    "dpd", "privacidad", "proteccion-datos",
])
def test_a_privacy_mailbox_in_each_language_beats_the_first_address(box):
    policy = parse_policy(f"# P\n\nÉcrivez à info@acme.example ou à {box}@acme.example.\n")
    assert (policy.inbox, policy.inbox_reason) == (f"{box}@acme.example",
                                                   f"a privacy mailbox ({box}@)")


@pytest.mark.parametrize("section", [
    "Ihre Rechte", "Betroffenenrechte", "Vos droits", "Nous joindre", "Sus derechos",
    "Contáctenos", "Protección de datos",
])
def test_an_address_in_a_rights_or_contact_section_beats_one_elsewhere(section):
    policy = parse_policy(f"# P\n\n## Shop\n\nBestellungen: orders@acme.example.\n\n"
                          f"## {section}\n\nteam@acme.example\n")
    assert (policy.inbox, policy.inbox_reason) == ("team@acme.example",
                                                   f"in section {section!r}")


@pytest.mark.parametrize(("spelled", "address"), [
    ("datenschutz (at) acme (punkt) de", "datenschutz@acme.de"),
    ("vie-privee [arobase] acme [point] fr", "vie-privee@acme.fr"),
    ("privacidad [arroba] acme [punto] es", "privacidad@acme.es"),
])
def test_addresses_spelled_out_in_each_language_are_found(spelled, address):
    policy = parse_policy(f"# P\n\nSchreiben Sie an {spelled}.\n")
    assert policy.inbox == address and "spelled out" in policy.inbox_reason


@pytest.mark.parametrize("unwanted", ["presse", "prensa", "no-responder"])
def test_press_and_no_reply_mailboxes_in_each_language_lose(unwanted):
    policy = parse_policy(f"# P\n\n## Kontakt\n\n{unwanted}@acme.example, "
                          "info@acme.example\n")
    assert policy.inbox == "info@acme.example"


@pytest.mark.skipif(not (SHARED / "firefox_privacy_notice.de.md").is_file(),
                    reason="the shared German Firefox notice is not here")
def test_the_german_firefox_notice_names_the_same_inbox_as_the_english_one():
    german = load_policy(SHARED / "firefox_privacy_notice.de.md")
    english = load_policy(SHARED / "firefox_privacy_notice.md")
    assert german.inbox == english.inbox == "compliance@mozilla.com", german.inbox_reason
    assert "given for questions" in german.inbox_reason
    assert "in section 'Ihre Rechte'" in german.inbox_reason


def test_the_dpd_courier_is_no_data_protection_officer():
    """"DPD" alone is a parcel courier in an English shop's policy (a review found its
    delivery address chosen for "labelled 'DPD'"); the French and Spanish officer is
    "notre DPD", "nuestro DPD", and a mailbox named dpd@ is still one."""
    text = ("# Privacy Policy\n\n## Deliveries\n\nWe pass your name and address to our "
            "couriers (Royal Mail, DPD) so they can deliver your order. Delivery problems: "
            "orders@shop.example\n\n## Contact us\n\nhelp@shop.example\n")
    assert find_inbox({}, text)[0] == "help@shop.example"
    french = ("# Politique\n\n## Livraison\n\nÉcrivez à commandes@shop.example.\n\n"
              "## Nous joindre\n\nVous pouvez joindre notre DPD à equipe@shop.example.\n")
    chosen, why = find_inbox({}, french)
    assert chosen == "equipe@shop.example" and "DPD" in why
    assert find_inbox({}, "# P\n\n## A\n\nWrite to dpd@shop.example or sales@shop.example.\n"
                      )[0] == "dpd@shop.example"


@pytest.mark.parametrize("given", [
    "Bei Fragen zum Datenschutz, z. B. zu Ihren Rechten, können Sie sich jederzeit unter "
    "team@acme.example an uns wenden.",
    "Bei Fragen zum Datenschutz können Sie sich unter team@acme.example (bzw. per Post) "
    "an uns wenden.",
    "If you have questions about your personal data, e.g. about your rights, contact us at "
    "team@acme.example.",
])
def test_an_abbreviation_ends_no_sentence(given):
    """"z. B.", "bzw." and "e.g." are not full stops: the address is still given for
    questions, on either side of it, and beats a DPO mailbox named first."""
    policy = parse_policy("# P\n\nBeschwerden, complaints: dpo@acme.example.\n\n"
                          + given + "\n")
    assert policy.inbox == "team@acme.example", policy.inbox_reason
    assert "given for questions" in policy.inbox_reason


@pytest.mark.parametrize(("text", "inbox"), [
    ("We collect your name, e-mail, phone etc. If you are located in the EU, contact our "
     "data protection officer at dpo@acme.example.", "team@acme.example"),
    ("Questions about orders: see the FAQ, chat, etc. Our privacy newsletter may reach you "
     "from news@acme.example.", "team@acme.example"),
    ("Wir speichern Name, Anschrift usw. Wenn Sie sich im EWR befinden, können Sie auch "
     "unseren Datenschutzbeauftragten unter dpo@acme.example erreichen.", "team@acme.example"),
])
def test_an_abbreviation_that_ends_a_sentence_still_ends_it(text, inbox):
    """"etc." and "usw." end the sentence before a capital: the next sentence's address
    for visitors in some places (or a newsletter's) gains nothing from the one before."""
    policy = parse_policy("# P\n\nDatenschutz, privacy: [team@acme.example](mailto:team@acme."
                          "example)\n\n" + text + "\n")
    assert policy.inbox == inbox, policy.inbox_reason
