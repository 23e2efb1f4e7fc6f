"""The privacy inbox a policy publishes, and why that address (`find_inbox`): front
matter wins; else every address in the text (mailto:, bare, or spelled out as
`privacy[at]example[dot]com`) is scored by what surrounds it: English cues with their
German, French and Spanish equivalents. Used by index/policy.py."""

from __future__ import annotations

import bisect
import re

from index.formats import unescape
from index.text import heading_lines

_MAILTO = re.compile(r"mailto:([^\s)\"'<>?,;]+@[^\s)\"'<>?,;]+)", re.I)
_BARE_EMAIL = re.compile(r"(?<![\w.%+-])([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                         r"\.[A-Za-z]{2,24})\b")
# "privacy[at]example[dot]com"; in brackets also "(arobase)", "[arroba]", "(punkt)", "[point]"…
_AT = r"(?:\s*[\[({<]\s*(?:at|arobase|arroba)\s*[\])}>]\s*|\s+at\s+|@)"
_DOT = r"(?:\s*[\[({<]\s*(?:dot|punkt|point|punto)\s*[\])}>]\s*|\s+dot\s+|\.)"
_SPELLED_AT = re.compile(r"[\[({<]\s*(?:at|arobase|arroba)", re.I)
_SPELLED_DOT = re.compile(r"[\[({<]\s*(?:dot|punkt|point|punto)|\sdot\s", re.I)
_OBFUSCATED = re.compile(rf"(?<![\w.%+-])([A-Za-z0-9][A-Za-z0-9._%+-]*){_AT}([A-Za-z0-9-]+"
                         rf"(?:{_DOT}[A-Za-z0-9-]+)*?){_DOT}([A-Za-z]{{2,24}})\b", re.I)
_NOT_MAILBOXES = frozenset("us me you them him her it we one anytime once email mail contact "
                           "write available located look here there online home work all "
                           "least first last best or and".split())
# The cues below are English with their German, French and Spanish equivalents.
_PRIVACY_BOX = re.compile(r"privacy|dpo|data[._-]?protection|gdpr|dsar|datenschutz|dsgvo"
                          r"|confidentialite|vie[._-]?privee|rgpd|privacidad"
                          r"|(?:^|[._-])dpd(?:$|[._-])"  # a whole word: not "dpdgroup"
                          r"|protection[._-]?(?:des[._-]?)?donnees"
                          r"|proteccion[._-]?(?:de[._-]?)?datos", re.I)
_PRIVACY_LABEL = re.compile(r"\b(privacy|data[ -]protection(?: officer)?|DPO|GDPR|"
                            r"datenschutz\w*|DSGVO|"
                            r"confidentialité|vie\s+privée|RGPD|"
                            r"(?:notre|votre|le|au|du|nuestro|el|al|del|su)\s+DPD|"
                            r"délégué(?:e)?\s+à\s+la\s+protection\s+des\s+données|"
                            r"protection\s+des\s+données(?:\s+personnelles)?|privacidad|"
                            r"delegad[oa]\s+de\s+protección\s+de\s+datos|"
                            r"protección\s+de\s+datos(?:\s+personales)?)\b", re.I)
_CONTACT_SECTION = re.compile(r"contact|privacy|rights|data protection|questions|reach|dpo"
                              r"|kontakt|complain"
                              r"|datenschutz|\brechte\b|betroffenenrechte|\bfragen\b|beschwerde"
                              r"|confidentialité|vie privée|droits|protection des données"
                              r"|nous joindre|réclamation|délégué"
                              r"|contáct|privacidad|derechos|preguntas|protección de datos"
                              r"|reclamaci|delegado", re.I)
# "if you have any (other) questions about … privacy, contact us at …": the general inbox
_QUESTIONS_TO = re.compile(r"\b(?:questions?|Fragen?|Anliegen|preguntas?|consultas?|dudas?)\b"
                           r"[^.]{0,160}\b(?:contact|write|e-?mail|reach"
                           r"|kontaktier\w*|Kontakt\w*|wenden|schreiben|erreichen"
                           r"|contacte[rz]|joindre|écri\w*|courriel"
                           r"|contact(?:ar|arnos|e|enos|o)|contáct\w*|escr[ií]b\w*|dirigirse"
                           r"|diríjase|correo)\b", re.I)
# German puts the verb last: "Bei Fragen … können Sie sich unter <address> an uns wenden"
_FRAGEN = re.compile(r"\b(?:Fragen?|Anliegen)\b", re.I)
_VERB_LAST = re.compile(r"\b(?:wenden|kontaktieren|schreiben|erreichen|melden)\b", re.I)
_ABOUT_PRIVACY = re.compile(r"privacy|personal (?:data|information)|data protection|"
                            r"th(?:is|e) (?:policy|notice|statement)|"
                            r"datenschutz|personenbezogene\w* daten|"
                            r"diese[rnms]? (?:hinweis|erklärung|richtlinie)|"
                            r"vie privée|confidentialité|données (?:personnelles|à caractère "
                            r"personnel)|protection des données|"
                            r"(?:cette|la présente) (?:politique|déclaration|notice|charte)|"
                            r"privacidad|datos personales|protección de datos|"
                            r"(?:esta|la presente) (?:política|declaración|aviso)", re.I)
# "if you're in the UK or EEA, you can also contact our DPO at …": for some visitors only
_ONLY_FOR = re.compile(r"(?:\bif you(?:['\u2019]re| are| live| reside)\s+(?:located\s+|based\s+)?"
                       r"(?:in|a resident of)\b"
                       # "wenn Sie sich im EWR befinden", "… im EWR ansässig sind"
                       r"|\b(?:wenn|falls|sofern)\s+Sie\s+[^.]{0,80}\b(?:befinden|ansässig"
                       r"|wohnhaft|wohnen|leben|aufhalten|niedergelassen|(?:Wohn)?sitz)\b"
                       # "si vous résidez dans …", "si vous êtes situé(e) en …"
                       r"|\bsi\s+vous\s+(?:résidez|habitez|vivez|demeurez|vous\s+trouvez|êtes\s+"
                       r"(?:un\s+|une\s+)?(?:situé|basé|établi|domicilié|localisé|résident)e?s?)"
                       r"\s+(?:(?:dans|en|au|aux|à|de|du|des)\b|d['\u2019])"
                       # "si usted reside en …", "si se encuentra en …"
                       r"|\bsi\s+(?:usted\s+)?(?:resides?|vives?|se\s+encuentra|te\s+encuentras"
                       r"|est[áa]s?\s+(?:ubicad|situad|establecid|radicad)[oa]s?"
                       r"|es\s+residente|eres\s+residente)\s+(?:en|de|dentro\s+de)\b)"
                       r"[^.]{0,60}$", re.I)
# abbreviations whose full stops end no sentence ("z. B.", "e.g.", "bzw."): masked
# in the text around an address before its sentence is cut and read
_ABBREVIATION = re.compile(r"\b(?:z\. ?B|d\. ?h|u\. ?a|s\. ?u|e\. ?g|i\. ?e|p\. ?ex|p\. ?ej"
                           r"|bzw|vgl|ggf|inkl|cf)\."
                           # these end sentences too: only before what goes on
                           r"|\b(?:etc|usw)\.(?=[,;:)]|\s+(?-i:[a-z0-9]))"
                           r"|\b(?:Nr|Abs|Art|núm)\.(?=\s*\d)", re.I)
_MAY_ABBREVIATE = re.compile(r"\w\.(?:[\s,;:)]|\w\.)")  # quick: none without it
_UNWANTED_BOX = re.compile(r"^(?:no-?reply|do-?not-?reply|press|media|jobs|careers|sales"
                           r"|marketing|abuse|webmaster|presse|prensa|karriere|empleo|emploi"
                           r"|ventas|vertrieb|no-?responder|ne-?pas-?repondre)\b", re.I)


def find_inbox(meta: dict, body: str) -> tuple[str | None, str]:
    """The privacy inbox the policy publishes and a short reason for the choice.
    Front matter wins; else every address in the text (mailto:, bare, or obfuscated
    as `privacy[at]example[dot]com`) is scored: a privacy/DPO mailbox or label near
    it, a contact or privacy-rights section, a mailto: link; ties go to the first."""
    for key in ("privacy_email", "contact", "email"):
        value = meta.get(key)
        if isinstance(value, str) and "@" in value:
            return value.strip(), f"front matter `{key}`"
    text = unescape(body)
    sections = [(number, title) for number, _, title in heading_lines(text)]
    best: tuple[float, int, str, list[str]] | None = None
    breaks = [m.start() for m in re.finditer("\n", text)]
    lines: dict[str, set[int]] = {}
    for start, address, how in _addresses(text):
        line = bisect.bisect(breaks, start)
        lines.setdefault(address.lower(), set()).add(line)
        score, why = _score(text, start, line, address, how, sections)
        if best is None or score > best[0]:
            best = (score, start, address, why)
    if best is None:
        return None, "no e-mail address in the policy"
    _, _, address, why = best
    count = len(lines[address.lower()])
    if not why:
        why = ["the only address in the policy" if len(lines) == 1 else
               "the first address in the policy"]
    return address, ", ".join(why + ([f"mentioned {count} times"] if count > 1 else []))


def _addresses(text: str):
    found = [(m.start(), m.group(1), "a mailto: link") for m in _MAILTO.finditer(text)]
    linked = {i for m in _MAILTO.finditer(text) for i in range(m.start(), m.end())}
    found += [(m.start(), m.group(1), "") for m in _BARE_EMAIL.finditer(text)
              if m.start() not in linked]
    for m in _OBFUSCATED.finditer(text):
        spelled = m.group(0)
        if ("@" in spelled and "." in spelled.split("@")[-1] and "dot" not in spelled.lower()
                and not _SPELLED_DOT.search(spelled)):
            continue  # a plain address: found above
        word_at = "@" not in spelled and not _SPELLED_AT.search(spelled)
        if word_at and (m.group(1).lower() in _NOT_MAILBOXES
                        or not _SPELLED_DOT.search(spelled)):
            continue  # "contact us at example.com" is no address
        domain = re.sub(_DOT, ".", m.group(2), flags=re.I)
        found.append((m.start(), f"{m.group(1)}@{domain}.{m.group(3)}", "spelled out"))
    return sorted(found)


def _score(text: str, start: int, line: int, address: str, how: str,
           sections: list[tuple[int, str]]) -> tuple[float, list[str]]:
    local = address.split("@")[0]
    score, why = 0.0, []
    if _PRIVACY_BOX.search(local):
        score, why = score + 4, [f"a privacy mailbox ({local}@)"]
    before = text[max(text.rfind("\n\n", max(start - 200, 0), start), start - 200, 0) : start]
    after = text[start : start + 200].split(address, 1)[-1][:40].split("\n\n")[0]
    label = _PRIVACY_LABEL.search(before.replace("mailto:", " ") + " " + after)
    if label:
        score, why = score + 3, [*why, f"labelled {label.group(1)!r}"]
    title = next((t for n, t in reversed(sections) if n <= line), "")
    if title and _CONTACT_SECTION.search(title):
        score, why = score + 2, [*why, f"in section {title!r}"]
    before = _masked(before.replace("mailto:", " "))  # its sentence: "z. B." ends none
    sentence = before[before.rfind(". ") + 1:].lstrip()
    if _given_for_questions(sentence, _rest_of_sentence(text, start, address)):
        score, why = score + 6, [*why, "given for questions"]
    if _ONLY_FOR.search(sentence.split(",")[0]):  # the clause before the first comma
        score, why = score - 4, [*why, "for visitors in some places only"]
    if how:
        score, why = score + (1 if how.startswith("a mailto") else 0.5), [*why, how]
    if _UNWANTED_BOX.match(local):
        score -= 5
    return score, why


def _rest_of_sentence(text: str, start: int, address: str) -> str:
    """What follows the address at `start` up to the end of its sentence (or paragraph),
    abbreviations masked (`_masked`)."""
    rest = text[start : start + 300].split(address, 1)[-1].split("\n\n")[0]
    return re.split(r"[.!?](?:\s|$)", _masked(rest), maxsplit=1)[0]


def _masked(text: str) -> str:
    """`text` with the full stops of abbreviations ("z. B.", "e.g.") made "\\0"."""
    if not _MAY_ABBREVIATE.search(text):
        return text
    return _ABBREVIATION.sub(lambda m: m.group(0).replace(".", "\0"), text)


def _given_for_questions(sentence: str, rest: str) -> bool:
    """The address is given for questions about privacy: "questions … contact us at"
    before it, or (German, verb last) "Bei Fragen zum Datenschutz … unter <address> an
    uns wenden"."""
    if not _ABOUT_PRIVACY.search(sentence):
        return False
    return bool(_QUESTIONS_TO.search(sentence)
                or (_FRAGEN.search(sentence) and _VERB_LAST.search(rest[:120])))
