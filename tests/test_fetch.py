"""`policy-qa build https://...`: fetching a published policy page (index/fetch.py).

Every test talks to a real HTTP server on 127.0.0.1 (http.server in a thread) serving
the real OpenGov policy files; the server's address is loopback, so the fetches pass
`allow_private=True` (`--allow-private`) except where the refusal is what is tested.
One real `policy-qa build URL` subprocess loads the model; the failure cases run
in-process, where the fetch fails before any model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from index.errors import PolicyError
from index.fetch import fetch_policy
from index.policy import load_policy, load_policy_url
from index.split import split_policy
from index.store import build_index, load_index
from qa.service import Service
from qa.settings import Settings
from ui.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
OPENGOV = Path(__file__).parent / "data" / "policies" / "opengov" / "privacy-policy"
HTML = OPENGOV.with_suffix(".html").read_bytes()
PDF = OPENGOV.with_suffix(".pdf").read_bytes()
CANONICAL = "https://opengovfoundation.org/privacy-policy/"
ETAG = '"opengov-f10f4fc"'
LAST_MODIFIED = "Wed, 22 Jan 2014 12:00:00 GMT"
SLEEP = 1.5  # what /slow waits before answering; the timeout test allows 0.3s


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        if path == "/privacy-policy.html":
            self._send(HTML, "text/html; charset=utf-8", etag=ETAG, modified=LAST_MODIFIED)
        elif path == "/privacy-policy.pdf":
            self._send(PDF, "application/pdf")
        elif path == "/policy":  # no extension, and the page names its canonical URL
            page = f'<link rel="canonical" href="{CANONICAL}">\n'.encode() + HTML
            self._send(page, "text/html")
        elif path == "/old-policy":
            self._redirect(301, "/privacy-policy.html")
        elif path in ("/loop-a", "/loop-b"):
            self._redirect(302, "/loop-b" if path == "/loop-a" else "/loop-a")
        elif path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            if left:
                self._redirect(307, f"/hop/{left - 1}")
            else:
                self._send(HTML, "text/html")
        elif path == "/streamed":  # no Content-Length: the cap must hold while reading
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(20):
                self.wfile.write(HTML)
        elif path == "/slow":
            time.sleep(SLEEP)
            self._send(HTML, "text/html")
        elif path == "/logo.png":
            self._send(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")
        else:
            self._send(b"not here", "text/plain", status=404)

    def _send(self, body: bytes, content_type: str, *, status: int = 200, etag: str = "",
              modified: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        if modified:
            self.send_header("Last-Modified", modified)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str, **options):
    return fetch_policy(url, allow_private=True, **options)


def refused(url: str, *needles: str, **options) -> str:
    with pytest.raises(PolicyError) as caught:
        fetch_policy(url, **options)
    message = str(caught.value)
    shown = url.replace("user:secret@", "***@")  # a password is never repeated
    assert "\n" not in message and message.startswith(f"cannot fetch {shown}: "), message
    for needle in needles:
        assert needle in message, message
    return message


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a successful fetch ------------------------------------------------------------

def test_an_html_page_is_fetched_with_its_validators(site):
    page = fetch(f"{site}/privacy-policy.html")
    assert page.url == f"{site}/privacy-policy.html"
    assert page.data == HTML and page.sha256 == hashlib.sha256(HTML).hexdigest()
    assert page.content_type == "text/html"
    assert (page.etag, page.last_modified) == (ETAG, LAST_MODIFIED)


def test_a_fetched_page_is_the_same_policy_as_the_file(site):
    policy = load_policy_url(f"{site}/privacy-policy.html", allow_private=True)
    local = load_policy(OPENGOV.with_suffix(".html"))
    assert policy.format == "html" and policy.name == "privacy-policy.html"
    assert policy.source == local.source and policy.sha256 == local.sha256
    assert policy.inbox == "sayhello@opengovfoundation.org"
    sections = [c.section for c in split_policy(policy)]
    assert len(set(sections)) > 5 and sections == [c.section for c in split_policy(local)]
    assert policy.url == f"{site}/privacy-policy.html"  # no canonical: the fetched URL


def test_the_pages_canonical_url_wins_over_the_fetched_one_and_base_url_over_both(site):
    policy = load_policy_url(f"{site}/policy", allow_private=True)
    assert policy.format == "html" and policy.name == "policy.html"
    assert policy.url == CANONICAL
    assert dict(policy.source_info)["url"] == f"{site}/policy"  # what was fetched
    given = load_policy_url(f"{site}/policy", allow_private=True,
                            base_url="https://example.org/privacy")
    assert given.url == "https://example.org/privacy"


def test_a_pdf_is_fetched_and_read(site):
    policy = load_policy_url(f"{site}/privacy-policy.pdf", allow_private=True)
    assert policy.format == "pdf" and len(policy.pages) == 5
    assert policy.sha256 == hashlib.sha256(PDF).hexdigest()
    assert dict(policy.source_info)["etag"] == ""  # the server sent none


def test_the_manifest_keeps_the_source_for_a_later_resync(site, embedder):
    policy = load_policy_url(f"{site}/privacy-policy.html", allow_private=True)
    source = build_index(policy, embedder).manifest["source"]
    assert set(source) >= {"url", "sha256", "etag", "last_modified", "fetched_at"}
    assert source["url"] == f"{site}/privacy-policy.html"
    assert source["sha256"] == hashlib.sha256(HTML).hexdigest()
    assert (source["etag"], source["last_modified"]) == (ETAG, LAST_MODIFIED)
    assert source["fetched_at"].endswith("Z")
    local = build_index(load_policy(OPENGOV.with_suffix(".html")), embedder).manifest
    assert "source" not in local  # a file is not fetched


# --- redirects ---------------------------------------------------------------------

def test_a_redirect_is_followed_and_its_target_is_the_url(site):
    page = fetch(f"{site}/old-policy")
    assert page.url == f"{site}/privacy-policy.html" and page.data == HTML
    policy = load_policy_url(f"{site}/old-policy", allow_private=True)
    assert policy.url == f"{site}/privacy-policy.html"


def test_a_redirect_loop_is_named(site):
    refused(f"{site}/loop-a", "redirect loop", "/loop-b -> ", allow_private=True)


def test_redirects_are_limited(site):
    assert fetch(f"{site}/hop/5").data == HTML  # five hops are allowed
    refused(f"{site}/hop/6", "too many redirects (more than 5)", allow_private=True)
    refused(f"{site}/hop/2", "too many redirects (more than 1)", allow_private=True,
            max_redirects=1)


# --- refusals --------------------------------------------------------------------------

def test_private_and_loopback_addresses_need_allow_private(site):
    refused(f"{site}/privacy-policy.html", "private or loopback address (127.0.0.1)",
            "--allow-private")
    for url in ("http://localhost/", "http://[::1]/", "http://10.1.2.3/p",
                "http://192.168.0.1/", "http://169.254.169.254/latest/meta-data/",
                "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/"):
        refused(url, "--allow-private")


def test_a_redirect_to_a_private_address_is_refused_too(site, monkeypatch):
    import index.fetch

    checked: list[str] = []
    real = index.fetch.check_url

    def only_the_first_hop_is_allowed(url, *, allow_private=False, shown=None):
        checked.append(url)
        real(url, allow_private=allow_private and len(checked) == 1, shown=shown)

    monkeypatch.setattr(index.fetch, "check_url", only_the_first_hop_is_allowed)
    refused(f"{site}/old-policy", "private or loopback", allow_private=True)
    assert checked == [f"{site}/old-policy", f"{site}/privacy-policy.html"]


@pytest.mark.parametrize(("url", "needle"), [
    ("file:///etc/passwd", "not file:"),
    ("ftp://ftp.example.org/privacy.txt", "not ftp:"),
    ("gopher://example.org/", "not gopher:"),
    ("http:///privacy", "no host"),
    ("https://user:secret@example.org/privacy", "credentials"),
])
def test_other_schemes_hostless_urls_and_credentials_are_refused(url, needle):
    assert "secret" not in refused(url, needle, allow_private=True)


def test_an_http_error_is_named_by_its_status(site):
    refused(f"{site}/no-such-page", "HTTP 404 Not Found", allow_private=True)


def test_a_non_document_content_type_is_refused(site):
    refused(f"{site}/logo.png", "content type image/png is not a policy document",
            allow_private=True)


def test_a_body_over_the_cap_is_refused(site):
    refused(f"{site}/privacy-policy.html", f"{len(HTML)} bytes; the limit is 1000",
            allow_private=True, max_bytes=1000)  # from Content-Length
    refused(f"{site}/streamed", "over the limit of 50000 bytes", allow_private=True,
            max_bytes=50_000)  # no Content-Length: stopped while streaming


def test_a_slow_server_times_out(site):
    started = time.monotonic()
    refused(f"{site}/slow", "timed out after 0.3s", allow_private=True, timeout=0.3)
    assert time.monotonic() - started < SLEEP


def test_a_closed_port_is_one_line(site):
    refused(f"http://127.0.0.1:{free_port()}/", "cannot connect", allow_private=True)


# --- the command ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(site, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`policy-qa build URL --allow-private` as a real process (the one model load)."""
    out = tmp_path_factory.mktemp("fetch") / "index"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    environ.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
                   TOKENIZERS_PARALLELISM="false", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "ui.cli", "build", f"{site}/privacy-policy.html",
         "--allow-private", "--out", str(out)],
        capture_output=True, text=True, env=environ, cwd=ROOT, timeout=300)
    return out, result


def test_cli_builds_an_index_from_a_url_that_answers(site, built, embedder, tmp_path):
    out, result = built
    assert result.returncode == 0, result.stderr
    digest = hashlib.sha256(HTML).hexdigest()
    assert (f"fetched {site}/privacy-policy.html ({len(HTML)} bytes, sha256 {digest[:12]}, "
            f"ETag {ETAG}, Last-Modified {LAST_MODIFIED})") in result.stdout.splitlines()
    assert f"links: {site}/privacy-policy.html" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["base_url"] == f"{site}/privacy-policy.html"
    assert manifest["source"]["sha256"] == digest and manifest["source"]["etag"] == ETAG
    settings = Settings(index=out, outbox=tmp_path / "outbox.sqlite3",
                        maildir=tmp_path / "maildir", analytics=tmp_path / "analytics.sqlite3")
    service = Service(settings, index=load_index(out, model=embedder.id), embedder=embedder)
    answer = service.ask("Do you use cookies?")
    assert answer.resolved, answer.answer
    assert "We use session cookies" in " ".join(p.quote for p in answer.passages)
    assert answer.passages[0].url.startswith(f"{site}/privacy-policy.html#cookies")


@pytest.mark.parametrize("case", ["unreachable", "loop", "private"])
def test_cli_fetch_failure_is_one_line_and_leaves_the_index(site, built, capsys, case):
    out, result = built
    assert result.returncode == 0, result.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    if case == "unreachable":
        argv = [f"http://127.0.0.1:{free_port()}/privacy-policy.html", "--allow-private"]
    elif case == "loop":
        argv = [f"{site}/loop-a", "--allow-private"]
    else:  # the loopback server without --allow-private
        argv = [f"{site}/privacy-policy.html"]
    capsys.readouterr()
    code = main(["build", *argv, "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == 2 and stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("policy-qa: error: cannot fetch "), stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["index"]  # no temp dir left
