"""An HTML page whose headings carry no id: `policy-qa build` says its links scroll by
text fragment alone (index/heading_ids.py, ui/cli/main.py)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from index.heading_ids import bare_headings
from ui.cli.main import main

PAGE = """<!doctype html><html><head><title>Acme Privacy</title>
<link rel="canonical" href="https://acme.example/privacy"></head><body><main>
<h1>Acme Privacy Policy</h1><p>Write to privacy@acme.example with privacy questions.</p>
<h2>What we collect</h2><p>We collect your name and email address when you sign up.</p>
<h2 id="sharing">Sharing</h2><p>We share data with payment processors.</p>
<h3>Processors</h3><p>Our processors are listed on request.</p>
<section id="rights"><h2>Your rights</h2><p>You may ask for a copy of your data.</p></section>
</main></body></html>"""


def test_bare_headings_counts_section_headings_without_their_own_id():
    markdown = "# Title\n\n## A {#a}\n\ntext\n\n## B\n\ntext\n\n### C\n{: #c }\n\nx\n\n#### D\n"
    assert bare_headings(markdown) == (2, 4)  # B and D; the H1 is not counted
    assert bare_headings("# Only a title\n\ntext\n") == (0, 0)


def _build(policy: Path, out: Path) -> str:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        assert main(["build", str(policy), "--out", str(out)]) == 0
    return stdout.getvalue()


def test_build_names_the_headings_a_link_cannot_land_on(tmp_path, embedder):
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    printed = _build(page, tmp_path / "index")
    # "What we collect" and "Processors" have none; "Sharing" its own, "Your rights" its section's
    assert "note: 2 of 4 headings of page.html have no id on the page" in printed
    assert "text fragment alone" in printed


def test_build_of_a_page_with_every_id_or_of_markdown_says_nothing(tmp_path, embedder):
    page = tmp_path / "page.html"
    page.write_text(PAGE.replace("<h2>What", '<h2 id="collect">What').replace(
        "<h3>Processors", '<h3 id="processors">Processors'), encoding="utf-8")
    assert "no id on the page" not in _build(page, tmp_path / "html")
    markdown = tmp_path / "policy.md"
    markdown.write_text("# Acme\n\nWrite to privacy@acme.example.\n\n## Sharing\n\nWe share "
                        "data with payment processors.\n", encoding="utf-8")
    assert "no id on the page" not in _build(markdown, tmp_path / "md")
