"""Several documents, one assistant (issue 13 item 6), on real Mozilla documents
(tests/data/policies/mozilla, CC BY-SA 3.0; see the README there): a Markdown privacy
notice, the published HTML of the accounts notice and the Firefox terms of use.

One index from files, a folder or a TOML list; every passage carries its document and
links to that document's page; an answer may quote several documents; the chat names
a quote's document; eval labels name `document#anchor`; re-building one changed
document embeds only that document's texts; bad input is one line and exit 2.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_clean_error, cli  # noqa: F401 - the fixture

from index.documents import DocumentSpec, load_documents, resolve
from index.errors import EvalDataError, PolicyError
from index.store import build_documents, load_index, previous_index, save_index
from qa.evaluation.data import Question, for_documents
from qa.evaluation.run import EvalOptions, evaluate
from qa.records import DocumentRef
from qa.service import Service
from qa.settings import Settings
from ui.web.chat.render import render_answer

MOZILLA = Path(__file__).parent / "data" / "policies" / "mozilla"
FILES = {"websites": "websites_privacy_notice.md",
         "accounts": "mozilla_accounts_privacy_notice.html",
         "terms": "firefox_terms_of_use.md"}
URLS = {"websites": "https://www.mozilla.org/privacy/websites/",
        "accounts": "https://www.mozilla.org/privacy/mozilla-accounts/",
        "terms": "https://www.mozilla.org/about/legal/terms/firefox/"}
TOML = "".join(f'[[document]]\npath = "{FILES[i]}"\nid = "{i}"\nurl = "{URLS[i]}"\n\n'
               for i in FILES)


class Counting:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, embedder) -> None:
        self.inner, self.id, self.texts = embedder, embedder.id, []

    def encode(self, texts):
        self.texts += texts
        return self.inner.encode(texts)


def copy_documents(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES.values():
        shutil.copy(MOZILLA / name, folder / name)
    (folder / "policies.toml").write_text(TOML, encoding="utf-8")
    return folder


def specs(folder: Path) -> list[DocumentSpec]:
    return [DocumentSpec(str(folder / FILES[i]), i, URLS[i]) for i in FILES]


@pytest.fixture(scope="module")
def three(tmp_path_factory, embedder):
    folder = copy_documents(tmp_path_factory.mktemp("docs"))
    out = folder.parent / "index"
    save_index(build_documents(load_documents(specs(folder)), embedder), out)
    index = load_index(out, model=embedder.id)
    return Service(Settings(cache_size=0, index=out), index=index, embedder=embedder)


def test_one_index_records_each_document(three):
    index = three.index
    m = index.manifest
    assert [d["id"] for d in m["documents"]] == ["websites", "accounts", "terms"]
    assert [d["url"] for d in m["documents"]] == list(URLS.values())
    assert m["documents"][1]["title"] == "Mozilla Accounts Privacy Notice"
    assert m["documents"][1]["format"] == "html"
    assert all(len(d["sha256"]) == 64 and d["chunks"] > 0 for d in m["documents"])
    assert sum(d["chunks"] for d in m["documents"]) == len(index.chunks) == m["chunks"]
    assert len({c.id for c in index.chunks}) == len(index.chunks)
    assert {c.id.split("/")[0] for c in index.chunks} == set(FILES)
    for doc in index.documents:  # every chunk's text lies inside its own document
        own = [c for c in index.chunks if c.document == doc.id]
        assert own and all(doc.start <= c.start < c.end <= doc.end for c in own)
    assert m["title"] == "Websites, Communications & Cookies Privacy Notice"  # the privacy one


@pytest.mark.parametrize(("question", "document", "anchor"), [
    ("Can Mozilla terminate this agreement?", "terms", "termination"),
    ("Can I distribute copies of Firefox?", "terms", "firefox-is-open-source-software"),
    ("How long do you keep my Mozilla account data?", "accounts", "how-long-we-keep-your-data"),
    # the notice's "Cookies" section, or its paragraph that says "We use cookies"
    ("Do you use cookies?", "websites", "cookies data-tools"),
])
def test_a_question_about_one_document_links_to_that_document(three, question, document,
                                                             anchor):
    best = three.ask(question).to_dict()["passages"][0]
    assert best["document"] == {"id": document, "title": three.index.documents[
        list(FILES).index(document)].title, "url": URLS[document]}
    assert best["anchor"] in anchor.split()
    assert best["url"].startswith(f"{URLS[document]}#{best['anchor']}:~:text=")


def test_an_answer_may_quote_several_documents(three):
    answer = three.ask("How do I contact Mozilla?")
    assert {p.document.id for p in answer.passages} == {"terms", "accounts"}
    for p in answer.passages:
        assert p.url.startswith(URLS[p.document.id] + "#")


def test_the_chat_names_each_quotes_document_escaped(three):
    answer = three.ask("How do I contact Mozilla?")
    html = render_answer(answer, show_documents=True)
    assert '<span class="pqa-doc">\u00b7 Firefox Terms of Use</span>' in html
    assert "pqa-doc" not in render_answer(answer)  # one document: as before
    first = answer.passages[0]
    bad = replace(first, document=DocumentRef(first.document.id, "<b>x</b>", ""))
    html = render_answer(replace(answer, passages=(bad,)), show_documents=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html


def test_the_markdown_answer_names_each_quotes_document(three, korero_index, embedder):
    """The contract's `answer` text (what the console, the CLI and the API show)."""
    answer = three.ask("How do I contact Mozilla?")
    for p in answer.passages:
        assert f"]({p.url}) \u00b7 {p.document.title}" in answer.answer
    request = three.ask("Please delete my Mozilla account and all my data")
    assert request.kind == "request" and all(
        f"\u00b7 {p.document.title}" in request.answer for p in request.passages)
    one = Service(Settings(cache_size=0), index=korero_index, embedder=embedder)
    single = one.ask("Do you sell my data?")
    assert single.passages and "\u00b7" not in single.answer  # one document: as before


def test_a_one_document_passage_still_names_its_document(korero_index, embedder):
    answer = Service(Settings(cache_size=0), index=korero_index, embedder=embedder).ask(
        "Do you sell my data?")
    assert "document" not in korero_index.chunks[0].to_dict()
    assert answer.passages[0].document.to_dict() == {
        "id": "korero-privacy", "title": "Privacy Policy", "url": "https://koreroapp.com/privacy"}
    assert korero_index.manifest["policy_name"] == "korero-privacy.md"
    assert korero_index.chunks[0].id == "c0000"


def test_rebuilding_one_changed_document_embeds_only_that_one(three, tmp_path, embedder):
    folder = copy_documents(tmp_path / "docs")  # as `three` was built, then one changes
    out = three.settings.index
    terms = folder / FILES["terms"]
    terms.write_text(terms.read_text("utf-8") + "\n## Export\n\nYou may not export Firefox "
                     "to places where the law forbids it.\n", encoding="utf-8")
    counting = Counting(embedder)
    again = build_documents(load_documents(specs(folder)), counting,
                            previous=previous_index(out, embedder.id))
    full = build_documents(load_documents(specs(folder)), embedder)
    terms_units = [u for u in full.units if full.chunks[u.chunk].document == "terms"]
    assert len(counting.texts) == len(terms_units)  # nothing else was embedded
    assert again.manifest["reused"] == ["websites", "accounts"]
    assert again.chunks == full.chunks and again.units == full.units
    assert again.manifest["documents"] == full.manifest["documents"]
    a, b = again.vectors.reconstruct_n(0, again.vectors.ntotal), full.vectors.reconstruct_n(
        0, full.vectors.ntotal)
    assert np.allclose(a, b, atol=1e-5)
    nothing = Counting(embedder)  # nothing changed: nothing embedded
    build_documents(load_documents(specs(folder)), nothing, previous=again)
    assert nothing.texts == []


def test_cli_builds_from_files_a_folder_and_a_toml_list(cli, three, tmp_path):  # noqa: F811
    folder = copy_documents(tmp_path / "docs")
    (folder / "README.md").write_text("# About\n\nNot a policy.\n", encoding="utf-8")
    files = [str(folder / FILES[i]) for i in FILES]
    built = {}
    for name, argv in {"files": files, "folder": [str(folder)],
                       "toml": [str(folder / "policies.toml")]}.items():
        # the same documents and ids as an earlier index: their vectors are reused
        if name != "files":
            earlier = tmp_path / "files" if name == "folder" else three.settings.index
            shutil.copytree(earlier, tmp_path / name)
        result = cli("build", *argv, "--out", str(tmp_path / name))
        assert result.returncode == 0, result.stderr
        assert "indexed 3 documents" in result.stdout
        built[name] = json.loads((tmp_path / name / "manifest.json").read_text("utf-8"))
    by_files = [d["id"] for d in built["files"]["documents"]]
    assert by_files == ["websites-privacy-notice", "mozilla-accounts-privacy-notice",
                        "firefox-terms-of-use"]
    # the folder: sorted file names, README skipped
    assert [d["name"] for d in built["folder"]["documents"]] == sorted(FILES.values())
    assert [d["url"] for d in built["toml"]["documents"]] == list(URLS.values())
    assert all(d["url"] == "" for d in built["files"]["documents"])  # no page URL known
    assert built["toml"]["inbox"] == built["files"]["inbox"] != ""
    result = cli("build", str(folder / "policies.toml"), "--out", str(tmp_path / "toml"))
    assert "vectors reused" in result.stdout and "embedded)" not in result.stdout
    for doc in built["toml"]["documents"]:  # each document's revision date, as for one
        assert f"last revised {doc['last_revised'] or '?'}, {doc['chunks']} chunks" in (
            result.stdout)
    assert any(d["last_revised"] for d in built["toml"]["documents"])


@pytest.fixture(scope="module")
def bad_lists(tmp_path_factory, embedder) -> tuple[Path, Path]:
    """A folder of documents and bad lists, and an index built from one document."""
    folder = copy_documents(tmp_path_factory.mktemp("bad") / "docs")
    (folder / "bad.toml").write_text("[[document]\npath = 1\n", encoding="utf-8")
    (folder / "noentries.toml").write_text('title = "x"\n', encoding="utf-8")
    (folder / "dupes.toml").write_text(
        f'[[document]]\npath = "{FILES["terms"]}"\nid = "terms"\n'
        f'[[document]]\npath = "{FILES["websites"]}"\nid = "terms"\n', encoding="utf-8")
    (folder / "badid.toml").write_text(
        f'[[document]]\npath = "{FILES["terms"]}"\nid = "Terms of use#1"\n', encoding="utf-8")
    out = folder.parent / "index"
    save_index(build_documents(load_documents([DocumentSpec(str(folder / FILES["terms"]))]),
                               embedder), out)
    return folder, out


@pytest.mark.parametrize(("setup", "needle"), [
    (lambda f: [str(f / FILES["terms"]), str(f / "cookies.html")], "not found"),
    (lambda f: [str(f / FILES["terms"]), str(f / FILES["terms"])], "duplicate document id"),
    (lambda f: [str((f / "empty").mkdir() or f / "empty")], "holds no policy files"),
    (lambda f: [str(f / "bad.toml")], "not valid TOML"),
    (lambda f: [str(f / "noentries.toml")], "no [[document]] entries"),
    (lambda f: [str(f / "dupes.toml")], "duplicate document id 'terms'"),
    (lambda f: [str(f / "badid.toml")], "must be a short slug"),
    (lambda f: [str(f / "policies.toml"), "--base-url", "https://x.example/"], "several"),
    # a list with another document was indexed as policy text, config and all (audit)
    (lambda f: [str(f / "policies.toml"), str(f / FILES["terms"])], "is a document list"),
])
def test_bad_document_lists_are_one_line_and_leave_the_index(cli, bad_lists, setup,  # noqa: F811
                                                             needle):
    folder, out = bad_lists
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert_clean_error(cli("build", *setup(folder), "--out", str(out)), needle)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_eval_labels_name_document_and_anchor(three, tmp_path, embedder):
    rows = [
        {"question": "Can Mozilla terminate this agreement?", "sections": ["terms#termination"]},
        {"question": "How long do you keep my Mozilla account data?",
         "sections": ["accounts#how-long-we-keep-your-data"]},
        {"question": "Do you use cookies?",
         "sections": ["websites#cookies", "websites#data-tools"]},
        {"question": "Do you use cookies on your websites?", "sections": ["terms#termination"]},
        {"question": "What is the weather tomorrow?", "sections": [], "answerable": False},
    ]
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = evaluate(EvalOptions(questions, index=three.settings.index, out=tmp_path / "r"),
                      Settings(index=three.settings.index), embedder)
    ranks = [r["rank"] for r in report["per_question"]["ours"]]
    assert ranks[:3] == [1, 1, 1] and ranks[3] is None  # the wrong document's anchor misses
    assert report["per_question"]["ours"][0]["got"][0] == "terms#termination"
    assert report["hit@1"] == pytest.approx(3 / 4)
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps({"question": "x y", "sections": ["termination"]}) + "\n")
    with pytest.raises(EvalDataError, match="names no document"):
        evaluate(EvalOptions(bare, index=three.settings.index, out=tmp_path / "r2"),
                 Settings(index=three.settings.index), embedder)


def test_labels_for_one_document_may_name_it_or_not():
    q = Question("q", frozenset({"korero#sharing", "cookies"}), True)
    assert for_documents([q], ["korero"])[0].gold == {"sharing", "cookies"}
    with pytest.raises(EvalDataError, match="names no document of the index"):
        for_documents([Question("q", frozenset({"other#x"}), True)], ["korero"])
    several = for_documents([Question("q", frozenset({"a#x"}), True)], ["a", "b"])
    assert several[0].gold == {"a#x"}
    bare = for_documents([Question("q", frozenset({"x", "b#y"}), True)], ["a", "b"], "b")
    assert bare[0].gold == {"b#x", "b#y"}  # --labels-for b: bare anchors are b's
    with pytest.raises(EvalDataError, match="--labels-for 'c' names no document"):
        for_documents([Question("q", frozenset({"x"}), True)], ["a", "b"], "c")


def test_eval_builds_several_documents_in_memory(cli, tmp_path):  # noqa: F811
    """`eval --policy A B C --labels-for A`: a set written for one notice, measured on
    an index that also holds the other notices (real Mozilla files)."""
    questions = Path(__file__).parent / "data" / "mozilla-accounts-questions.jsonl"
    files = [str(MOZILLA / FILES[i]) for i in ("accounts", "websites", "terms")]
    args = ["eval", str(questions), "--policy", *files, "--limit", "30", "--json"]
    refused = cli(*args, "--out", str(tmp_path / "r0"))
    assert refused.returncode == 2 and "give --labels-for DOCUMENT" in refused.stderr
    ran = cli(*args, "--labels-for", "mozilla-accounts-privacy-notice",
              "--out", str(tmp_path / "r1"))
    assert ran.returncode == 0, ran.stderr
    report = json.loads((tmp_path / "r1" / "report.json").read_text("utf-8"))
    got = {g.split("#")[0] for r in report["per_question"]["ours"] for g in r["got"]}
    assert got <= {"mozilla-accounts-privacy-notice", "websites-privacy-notice",
                   "firefox-terms-of-use"} and len(got) >= 2  # passages of several documents
    assert report["questions"] == 30 and report["hit@3"] >= 0.6


def test_a_toml_list_may_fetch_a_document_by_url(tmp_path):
    """`path` may be an http(s) URL, fetched as `build URL` is (a real loopback server)."""
    from web_server import serve_page

    shutil.copy(MOZILLA / FILES["terms"], tmp_path / FILES["terms"])
    html = (MOZILLA / FILES["accounts"]).read_text("utf-8")
    with serve_page(html) as page:
        (tmp_path / "list.toml").write_text(
            f'[[document]]\npath = "{FILES["terms"]}"\n\n'
            f'[[document]]\npath = "{page}"\nid = "accounts"\n', encoding="utf-8")
        docs = load_documents(resolve([str(tmp_path / "list.toml")]), allow_private=True)
    assert [d.id for d in docs] == ["firefox-terms-of-use", "accounts"]
    assert docs[1].policy.title == "Mozilla Accounts Privacy Notice"
    assert docs[1].policy.url == page  # no canonical link: the fetched URL
    assert dict(docs[1].policy.source_info)["sha256"] == docs[1].policy.sha256
    with pytest.raises(PolicyError, match="private"):
        load_documents([DocumentSpec(page.replace("127.0.0.1", "localhost"), "x")])


def test_the_escalation_mail_names_every_document_searched(three, tmp_path):
    """A question none of the documents answers: the mail names all three documents
    (not only the first) and each passage's document."""
    from qa.escalation.mail import build_message
    from qa.escalation.outbox import Outbox

    service = Service(replace(three.settings, outbox=tmp_path / "o.sqlite3",
                              inbox="privacy@example.org"),
                      index=three.index, embedder=three.embedder,
                      outbox=Outbox(tmp_path / "o.sqlite3", dedupe_window_seconds=0,
                                    escalations_per_hour=0, retention_days=30))
    titles = [d.title for d in service.index.documents]
    assert service.title == f"3 documents ({'; '.join(titles)})"
    answer = service.escalate(service.ask("Is Mozilla HIPAA compliant for my records?"))
    stored = service.outbox.get(answer.escalation.id)
    body = build_message(stored, mail_from="bot@example.org").get_content()
    assert f"A question about the 3 documents ({titles[0]}; {titles[1]}" in body.replace(
        "\r\n", " ").replace("\n", " ")
    message = build_message(stored, mail_from="bot@example.org")
    assert message["Subject"].startswith("[3 documents] Unanswered question: Is Mozilla")
    numbered = [line for line in body.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert numbered and all(any(line[3:].startswith(t + ":") for t in titles)
                            for line in numbered), numbered


def test_an_index_of_several_documents_presents_itself_as_several(three):
    """The answer's lead names the one document it quotes, never "our privacy policy"
    for terms of use; the chat's heading, the CLI banner and the console's index
    status name every document, not the first alone (audit)."""
    from ui.web.app import _title
    from ui.web.console.tabs import index_rows

    answer = three.ask("What happens if I break the terms of use?")
    assert answer.resolved
    titles = {p.document.title for p in answer.passages}
    expected = ("Here is what the " + titles.pop() + " says:" if len(titles) == 1
                else "Here is what our documents say:")
    assert answer.lead.endswith(expected) and "privacy policy" not in answer.lead
    assert _title(three) == f"{three.index.manifest['title']} and 2 related documents"
    rows = dict(index_rows(three).values.tolist())
    assert rows["documents"] == "3" and "policy title" not in rows
    for doc in three.index.documents:
        assert rows[f"document {doc.id}"].startswith(doc.title)
        assert f"{doc.chunks} chunks" in rows[f"document {doc.id}"]


def test_the_cli_chat_banner_names_every_document(three, capsys, monkeypatch):
    from ui.cli import main as cli_main

    monkeypatch.setattr(cli_main, "build_service", lambda settings: three)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("\n"))
    assert cli_main.main(["chat"]) == 0
    assert f"Ask about {three.title}." in capsys.readouterr().out
