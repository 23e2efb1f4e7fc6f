"""Policy formats: detected by content, converted to one representation, the same
policy in four formats giving the same sections and losing no word, quotes that are
the reader's text of each format, and one clear line for every file we cannot read."""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.errors import PolicyError
from index.formats import detect, paragraph
from index.policy import load_policy, parse_policy
from index.split import split_policy
from index.text import heading_lines, render_block

POLICIES = Path(__file__).parent / "data" / "policies"
OPENGOV = POLICIES / "opengov" / "privacy-policy"
MOZILLA = POLICIES / "mozilla"
FORMATS = ("md", "html", "pdf", "docx")


def words(text: str) -> Counter:
    return Counter(text.split())


def typographic(text: str) -> str:
    """A PDF sets ’ and “ ” where the other formats have ' and "."""
    return text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'}))


@pytest.fixture(scope="module")
def opengov():
    return {ext: load_policy(OPENGOV.with_suffix(f".{ext}")) for ext in FORMATS}


@pytest.fixture(scope="module")
def opengov_chunks(opengov):
    return {ext: split_policy(policy) for ext, policy in opengov.items()}


# --- detection by content ------------------------------------------------------------

@pytest.mark.parametrize(("ext", "kind"), [("md", "markdown"), ("html", "html"), ("pdf", "pdf"),
                                           ("docx", "docx")])
def test_formats_are_detected_by_content_not_by_name(ext, kind):
    raw = OPENGOV.with_suffix(f".{ext}").read_bytes()
    for name in (f"policy.{ext}", "policy.txt", "policy.bin", "policy"):
        assert detect(raw, name) == kind
    assert parse_policy(raw, name="upload.dat").format == kind


def test_a_fragment_named_html_and_a_page_named_md_are_html():
    assert detect(b"<p>We keep <b>logs</b>.</p>\nThat is all.\n", "p.html") == "html"
    assert detect(b"<!DOCTYPE html><html><body><p>Hi</p></body></html>", "p.md") == "html"
    assert detect(b"# Title\n\n<div>an HTML block</div>\n\nText.\n", "p.md") == "markdown"
    assert parse_policy(b"Just words, no markup at all.\n", name="p.txt").format == "text"


# --- the same policy in four formats ------------------------------------------------------

def test_four_formats_give_the_same_headings_and_section_titles(opengov, opengov_chunks):
    md = opengov["md"]
    headings = [(level, title) for _, level, title in heading_lines(md.body)]
    assert len(headings) == 16
    sections = list(dict.fromkeys((c.section, c.anchor) for c in opengov_chunks["md"]))
    for ext in FORMATS:
        policy = opengov[ext]
        assert policy.format == {"md": "markdown"}.get(ext, ext)
        assert policy.title == "Privacy Policy"
        assert policy.last_revised == "January 22, 2014"
        assert policy.inbox == "sayhello@opengovfoundation.org"
        got = [(level, typographic(title)) for _, level, title in heading_lines(policy.body)]
        assert got == headings, ext
        found = list(dict.fromkeys((typographic(c.section), c.anchor)
                                   for c in opengov_chunks[ext]))
        assert found == sections, ext


def test_every_word_of_every_format_lands_in_a_chunk(opengov, opengov_chunks):
    md_words = words(typographic(" ".join(c.text for c in opengov_chunks["md"])))
    for ext in FORMATS:
        policy, chunks = opengov[ext], opengov_chunks[ext]
        assert words("\n".join(c.text for c in chunks)) == words(render_block(policy.body))
        assert words(typographic(" ".join(c.text for c in chunks))) == md_words, ext
        for chunk in chunks:
            assert render_block(policy.source[chunk.start : chunk.end]) == chunk.text


def _reader_lines(chunks) -> list[str]:
    """Each line of each chunk; a table row's cells one by one."""
    return [cell for c in chunks for line in c.text.split("\n") for cell in line.split(" | ")]


def test_html_chunks_are_the_pages_own_text_word_for_word(opengov_chunks):
    import lxml.html

    page = lxml.html.document_fromstring(OPENGOV.with_suffix(".html").read_text("utf-8"))
    text = " ".join(page.text_content().split())
    headings = " ".join(" ".join(h.text_content().split()) for h in page.iter(
        "h1", "h2", "h3", "h4", "h5", "h6"))
    assert words(text) == words(" ".join(c.text for c in opengov_chunks["html"])) + words(
        headings)
    for line in _reader_lines(opengov_chunks["html"]):
        assert line in text, line


def test_docx_chunks_are_the_documents_own_text_word_for_word(opengov_chunks):
    import docx

    document = docx.Document(str(OPENGOV.with_suffix(".docx")))
    paragraphs = [" ".join(p.text.split()) for p in document.paragraphs]
    headings = [t for p, t in zip(document.paragraphs, paragraphs, strict=True)
                if p.style.name.startswith("Heading")]
    text = "\n".join(paragraphs)
    assert words(text) == words(" ".join(c.text for c in opengov_chunks["docx"])) + words(
        " ".join(headings))
    for line in _reader_lines(opengov_chunks["docx"]):
        assert line in text, line


def _squashed(text: str) -> str:
    return re.sub(r"[\s-]+", "", text)


def test_pdf_chunks_are_the_text_layer_verbatim_and_know_their_page(opengov, opengov_chunks):
    import pdfplumber

    with pdfplumber.open(OPENGOV.with_suffix(".pdf")) as pdf:
        pages = [_squashed(re.sub(r"^\d+$", "", page.extract_text(x_tolerance=1.5), flags=re.M))
                 for page in pdf.pages]  # without the page numbers
    everything = "".join(pages)
    chunks = opengov_chunks["pdf"]
    for line in _reader_lines(chunks):
        assert _squashed(line) in everything, line
    assert [c.page for c in chunks] == sorted(c.page for c in chunks)
    assert {c.page for c in chunks} == {1, 2, 3, 4, 5}
    for chunk in chunks:
        opening = _squashed(" ".join(chunk.text.split()[:6]))
        assert opening in pages[chunk.page - 1], (chunk.page, chunk.text[:60])
    assert opengov["pdf"].pages[0] == 0 and len(opengov["pdf"].pages) == 5
    assert "1" not in {line.strip() for c in chunks for line in c.text.split("\n")}
    assert "third-party" in " ".join(c.text for c in chunks)  # a hyphen at a line end kept
    assert "processors" in " ".join(c.text for c in chunks)  # a word hyphenated, joined


def test_pdf_headings_and_lead_ins_match_the_markdown():
    md = load_policy(MOZILLA / "subscription_services_privacy_notice.md")
    pdf = load_policy(MOZILLA / "subscription_services_privacy_notice.pdf")
    assert [h[1:] for h in heading_lines(pdf.body)] == [h[1:] for h in heading_lines(md.body)]

    def structure(policy):
        return list(dict.fromkeys((c.section, c.subsection) for c in split_policy(policy)))

    assert structure(pdf) == structure(md)
    assert pdf.title == md.title == "Mozilla Subscription Services | Privacy Notice"
    assert pdf.inbox == "compliance@mozilla.com"


def test_markdown_and_html_of_one_notice_agree():
    md = split_policy(load_policy(MOZILLA / "mozilla_accounts_privacy_notice.md"))
    html = split_policy(load_policy(MOZILLA / "mozilla_accounts_privacy_notice.html"))
    assert list(dict.fromkeys((c.section, c.anchor) for c in html)) == list(
        dict.fromkeys((c.section, c.anchor) for c in md))
    def cell_words(chunks) -> Counter:  # "Technical data; Location": items apart in HTML
        words = " ".join(c.text for c in chunks).split()
        return Counter(w.rstrip(";") for w in words if w != "|")

    # the Markdown copy has the lawful-bases table as raw HTML, read as the page's is
    assert cell_words(html) == cell_words(md)


# --- HTML: the main content of a saved page -------------------------------------------

def test_html_without_main_takes_the_densest_block():
    page = ("<html><body><div class='menu'><a href='/1'>One</a> <a href='/2'>Two</a></div>"
            "<div><div class='content'><h1>Policy</h1><p>" + "We keep logs. " * 20 +
            "</p><p>We delete them.</p></div><div class='side'><p>Short side note.</p></div>"
            "</div></body></html>")
    policy = parse_policy(page, name="page.html")
    text = " ".join(c.text for c in split_policy(policy))
    assert "We delete them." in text and "One" not in text and "side note" not in text
    assert policy.url == ""


def test_og_url_is_the_base_url_when_there_is_no_canonical():
    page = ('<html><head><meta property="og:url" content="https://a.example/p"></head>'
            "<body><main><p>We keep logs.</p></main></body></html>")
    assert parse_policy(page, name="p.html").url == "https://a.example/p"
    assert parse_policy(page, name="p.html", base_url="https://b.example/q").url == (
        "https://b.example/q")


def test_html_encoding_comes_from_its_meta_charset():
    page = ('<html><head><meta charset="windows-1252"></head><body><main><p>Donn\xe9es '
            "personnelles.</p></main></body></html>").encode("cp1252")
    assert "Données personnelles." in split_policy(parse_policy(page, name="p.html"))[0].text


# --- Word: styles, lists, lead-ins, tables ------------------------------------------------

def test_docx_headings_lists_lead_ins_and_tables(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Acme Privacy", level=1)
    document.add_paragraph("Effective date: June 2, 2025")
    document.add_heading("What we collect", level=2)
    lead = document.add_paragraph()
    lead.add_run("Account data.").bold = True
    lead.add_run(" Your name and e-mail address.")
    document.add_paragraph("orders", style="List Bullet")
    document.add_paragraph("returns", style="List Bullet")
    document.add_heading("Retention", level=4)
    document.add_paragraph("Seven years for invoices.")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Data", "Kept"), ("Logs", "14 days")], strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.paragraphs[0].add_run(value).bold = value == cells[0] == "Data" or (
                value == "Kept")  # a bold first row is the header
    table = document.add_table(rows=1, cols=2)  # no header: every row is data
    table.rows[0].cells[0].text = "Orders"
    table.rows[0].cells[1].add_paragraph("invoices")
    table.rows[0].cells[1].add_paragraph("receipts")
    document.add_paragraph("Mail privacy (at) acme.example with questions.")
    path = tmp_path / "acme.docx"
    document.save(path)
    policy = load_policy(path)
    chunks = split_policy(policy)
    assert policy.format == "docx" and policy.title == "Acme Privacy"
    assert policy.last_revised == "June 2, 2025"
    assert policy.inbox == "privacy@acme.example" and "spelled out" in policy.inbox_reason
    assert [(c.section, c.subsection, c.anchor) for c in chunks] == [
        ("Acme Privacy", None, "acme-privacy"),
        ("What we collect", "Account data.", "what-we-collect"),
        ("What we collect", "Retention", "retention"),
    ]
    assert chunks[1].text == "Account data.\nYour name and e-mail address.\norders\nreturns"
    assert chunks[2].text == ("Retention\nSeven years for invoices.\nLogs | 14 days\nOrders | "
                              "invoices; receipts\nMail privacy (at) acme.example with questions.")


# --- refusals: one clear line, never a traceback --------------------------------------------

def _refused(data: bytes, name: str, *fragments: str) -> str:
    with pytest.raises(PolicyError) as info:
        parse_policy(data, name=name)
    message = str(info.value)
    assert "\n" not in message and name in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "fragment"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image; run OCR first"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "legacy Office file"),
    (b"{\\rtf1\\ansi Privacy}", "RTF document"),
    (b"\x1f\x8b\x08\x00", "gzip"),
    (b"\x7fELF\x02\x01\x01\x00", "binary"),
])
def test_unsupported_types_are_refused(data, fragment):
    _refused(data, "upload.bin", fragment)


def test_archives_that_are_not_word_documents_are_refused():
    _refused(_zip({"a.txt": b"hello"}), "a.zip", "ZIP archive", "Word .docx")
    odt = _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
    _refused(odt, "p.odt", "OpenDocument")
    _refused(b"PK\x03\x04 broken", "p.docx", "damaged")
    _refused(_zip({"word/document.xml": b"<not-xml"}), "p.docx", "damaged Word document")


def test_a_pdf_without_a_text_layer_needs_ocr():
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(612, 792)
    buffer = io.BytesIO()
    writer.write(buffer)
    _refused(buffer.getvalue(), "scan.pdf", "no text layer", "run OCR first")


def test_a_password_protected_pdf_is_refused_and_an_owner_locked_one_is_read():
    pypdf = pytest.importorskip("pypdf")

    def encrypted(user: str) -> bytes:
        writer = pypdf.PdfWriter(clone_from=str(OPENGOV.with_suffix(".pdf")))
        writer.encrypt(user_password=user, owner_password="owner-secret", algorithm="RC4-128")
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()

    _refused(encrypted("s3cret"), "locked.pdf", "encrypted PDF", "password")
    readable = parse_policy(encrypted(""), name="restricted.pdf")  # opens without a password
    assert readable.title == "Privacy Policy"


def test_damaged_and_oversized_files_are_refused(tmp_path):
    _refused(b"%PDF-1.7\n1 0 obj garbage", "broken.pdf", "damaged PDF")
    _refused(b"%PDF-1.7\n" + b"0" * 20_000_001, "huge.pdf", "limit is 20000000")
    _refused(b"<p>" + b"word " * 1_000_001 + b"</p>", "huge.html", "limit is 5000000")
    big = tmp_path / "big.pdf"
    with big.open("wb") as fh:
        fh.truncate(40_000_000)  # sparse: refused from its size, never read
    with pytest.raises(PolicyError, match="big.pdf is 40000000 bytes; the limit is 20000000"):
        load_policy(big)


def test_html_with_no_main_content_is_refused():
    page = ("<html><head><title>T</title><script>x()</script></head><body><nav><a href='/'>"
            "Home</a></nav><footer>Copyright</footer></body></html>")
    _refused(page.encode(), "empty.html", "no main content")
    _refused(b"<html><body></body></html>", "blank.html")


# --- the written Markdown renders back to the reader's text -----------------------------

@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab 1.#*_-+=>|&;<>[](){}:!`~\\\"'\n\t\u00a0é") | st.characters(
    exclude_categories=("Cs", "Cc")), max_size=60))
def test_property_escaped_text_renders_back_to_itself(text):
    assert render_block(paragraph(text)) == " ".join(text.split())
    assert render_block("- " + paragraph(text)) == " ".join(text.split())
