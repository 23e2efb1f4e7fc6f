"""The `policy-qa` command: build, ask (JSON lines, --file), chat, and bad input as one
line on stderr with exit code 2, never a traceback.

`ask --json` and a sample of the error cases run as real subprocesses (`python -m
ui.cli.main`, the model loads in the child); the other error cases and chat run in-process
through `ui.cli.main.main(argv)` over the session's model, which checks the same exit code
and stderr line in a fraction of the time.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ui.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
POLICIES = Path(__file__).parent / "data" / "policies"
CONTRACT = {"question", "resolved", "confidence", "answer", "passages", "escalation",
            "request"}


def run(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    environ.update({"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "ui.cli.main", *argv], capture_output=True,
                          text=True, env=environ, cwd=cwd or ROOT, timeout=timeout)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture()
def cli(capsys, monkeypatch, embedder):
    """`policy-qa ARGV` in-process, with POLICY_QA_* taken from `env` only."""

    def invoke(*argv: str, env: dict[str, str] | None = None) -> Result:
        with monkeypatch.context() as patch:
            for key in [k for k in os.environ if k.startswith("POLICY_QA_")]:
                patch.delenv(key)
            for key, value in (env or {}).items():
                patch.setenv(key, value)
            capsys.readouterr()
            code = main(list(argv))
            out, err = capsys.readouterr()
        return Result(code, out, err)

    return invoke


def assert_clean_error(result: subprocess.CompletedProcess | Result, *needles: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("policy-qa: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder) -> Path:
    """`policy-qa build` of the Acme fixture policy (in-process: the model is loaded)."""
    import contextlib

    home = tmp_path_factory.mktemp("cli")
    out = home / "index"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["build", str(POLICIES / "acme.md"), "--out", str(out),
                     "--base-url", "https://acme.example/privacy"])
    assert code == 0, stderr.getvalue()
    assert "indexed 'acme.md' (Acme Privacy Notice, last revised March 3, 2025)" in (
        stdout.getvalue())
    assert "privacy@acme.example" in stdout.getvalue()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["base_url"] == "https://acme.example/privacy"
    return out


@pytest.fixture()
def index_copy(built, tmp_path) -> Path:
    return shutil.copytree(built, tmp_path / "index")


def test_ask_json_prints_one_answer_object_per_line(built, tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text("How long do you keep IP addresses?\n\n  \nCan I export my data?\n"
                         "hello\n", encoding="utf-8")
    result = run("ask", "--json", "--file", str(questions), "Do you sell my data?",
                 env={"POLICY_QA_INDEX": str(built)})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    answers = [json.loads(line) for line in lines]
    assert [a["question"] for a in answers] == [
        "Do you sell my data?", "How long do you keep IP addresses?", "Can I export my data?",
        "hello"]
    for answer in answers:
        assert set(answer) == CONTRACT
        assert answer["escalation"] is None
    logs = answers[1]
    assert logs["resolved"]
    assert logs["passages"][0]["anchor"] == "server-logs"  # the #### heading's own anchor
    assert logs["passages"][0]["url"].startswith(
        "https://acme.example/privacy#server-logs:~:text=")
    assert "14 days" in logs["passages"][0]["quote"]
    assert answers[3]["passages"] == []


# --- bad input: exit code 2 and one line on stderr --------------------------------
# A few in a real process, where a traceback or a library's stderr chatter would show:

def test_real_process_refuses_a_binary_policy(tmp_path):
    policy = tmp_path / "policy.pdf"
    policy.write_bytes(b"%PDF-1.7\n\x00\x01binary\x00")
    result = run("build", str(policy), "--out", str(tmp_path / "index"))
    assert_clean_error(result, "binary", "policy.pdf")
    assert result.stdout == "" and not (tmp_path / "index").exists()


def test_real_process_refuses_an_empty_question(built):
    result = run("ask", "--json", "--index", str(built), " ")
    assert_clean_error(result, "empty")
    assert result.stdout == ""


def test_real_process_refuses_a_corrupt_index(index_copy):
    (index_copy / "index.faiss").write_bytes(b"garbage, not FAISS")
    assert_clean_error(run("ask", "--index", str(index_copy), "Do you sell my data?"),
                       "corrupt")


def test_real_process_refuses_an_index_built_with_another_model(built, tmp_path):
    other = tmp_path / "other-model"
    other.mkdir()  # an existing (bogus) model folder, named in the environment
    line = assert_clean_error(run("ask", "--index", str(built), "hi",
                                  env={"POLICY_QA_MODEL": str(other)}),
                              "all-MiniLM-L6-v2", str(other))
    assert "rebuild" in line


# ... and the rest in-process, the same checks:

def test_build_missing_policy(cli, tmp_path):
    assert_clean_error(cli("build", str(tmp_path / "missing.md"), "--out", str(tmp_path / "x")),
                       "not found", "missing.md")


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("latin1.md", "# Politique\n\nDonn\u00e9es collect\u00e9es.\n".encode("latin-1"),
         "not UTF-8"),
        ("empty.md", b"", "no text"),
        ("blank.md", b"  \n\n\t\n", "no text"),
        ("headings.md", b"---\ntitle: P\n---\n# Privacy\n\n## Data\n", "no text"),
        # one line of plain text is its title and nothing else (a traceback before)
        ("one-line.md", b"We use cookies", "besides its title ('We use cookies')"),
        ("fake.docx", b"not a zip", "besides its title"),
    ],
)
def test_build_refuses_bad_policies(cli, tmp_path, name, content, needle):
    policy = tmp_path / name
    policy.write_bytes(content)
    out = tmp_path / "index"
    assert_clean_error(cli("build", str(policy), "--out", str(out)), needle, name)
    assert not out.exists()


def test_build_refuses_a_folder_with_no_policy_file(cli, tmp_path):
    """A folder is a set of documents (tests/test_documents.py); an empty one is refused."""
    (tmp_path / "README.md").write_text("# About these files\n\nNot a policy.\n")
    assert_clean_error(cli("build", str(tmp_path), "--out", str(tmp_path / "i")),
                       "holds no policy files")


def test_build_refuses_the_bundled_policy_path_from_a_bad_setting(cli, tmp_path):
    assert_clean_error(cli("build", "--out", str(tmp_path / "i"),
                           env={"POLICY_QA_POLICY": str(tmp_path / "gone.md")}), "gone.md")


def test_build_never_replaces_a_folder_that_is_no_index(cli, tmp_path):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    assert_clean_error(cli("build", str(POLICIES / "acme.md"), "--out", str(folder)),
                       "refusing", "manifest.json")
    assert (folder / "precious.txt").read_text() == "keep me"
    afile = tmp_path / "notes.txt"
    afile.write_text("keep me too")
    assert_clean_error(cli("build", str(POLICIES / "acme.md"), "--out", str(afile)),
                       "not a folder")
    assert_clean_error(cli("build", str(POLICIES / "acme.md"), "--out", str(afile / "idx")),
                       str(afile / "idx"))
    assert afile.read_text() == "keep me too"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents", "notes.txt"]


@pytest.mark.parametrize(
    ("question", "needle"),
    [("", "empty"), ("   \t ", "empty"), ("Do you sell my data? " * 60, "limit is 1000")],
)
def test_ask_refuses_bad_questions(cli, built, question, needle):
    result = cli("ask", "--json", "--index", str(built), question)
    assert_clean_error(result, needle)
    assert result.stdout == ""


def test_question_limit_from_the_environment(cli, built):
    result = cli("ask", "Do you sell my data? Tell me everything.",
                 env={"POLICY_QA_INDEX": str(built), "POLICY_QA_MAX_QUESTION_CHARS": "20"})
    assert_clean_error(result, "limit is 20")


def test_ask_refuses_a_missing_index(cli, tmp_path):
    assert_clean_error(cli("ask", "--index", str(tmp_path / "nowhere"), "hello"),
                       "no index", "policy-qa build")
    assert_clean_error(cli("ask", "hello", env={"POLICY_QA_INDEX": str(tmp_path / "gone")}),
                       "no index", "gone")


def test_ask_refuses_a_missing_index_file(cli, index_copy):
    (index_copy / "chunks.jsonl").unlink()
    assert_clean_error(cli("ask", "--index", str(index_copy), "Do you sell my data?"),
                       "missing chunks.jsonl")


@pytest.mark.parametrize(
    ("name", "content"),
    [("index.faiss", b""), ("manifest.json", b"{not json"), ("chunks.jsonl", b"[]\n")],
)
def test_ask_refuses_a_corrupt_index(cli, index_copy, name, content):
    (index_copy / name).write_bytes(content)
    assert_clean_error(cli("ask", "--index", str(index_copy), "Do you sell my data?"),
                       "corrupt")


def test_ask_refuses_an_index_whose_manifest_names_another_model(cli, index_copy):
    manifest = json.loads((index_copy / "manifest.json").read_text())
    manifest["model"] = "sentence-transformers/all-mpnet-base-v2"
    (index_copy / "manifest.json").write_text(json.dumps(manifest))
    assert_clean_error(cli("ask", "--index", str(index_copy), "hi"),
                       "all-mpnet-base-v2", "all-MiniLM-L6-v2")


def test_ask_refuses_a_missing_questions_file(cli, built, tmp_path):
    assert_clean_error(cli("ask", "--index", str(built), "--file", str(tmp_path / "q.txt")),
                       "q.txt")


def test_ask_refuses_a_questions_file_that_is_not_utf8(cli, built, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_bytes("Donn\u00e9es?\n".encode("latin-1"))
    assert_clean_error(cli("ask", "--index", str(built), "--file", str(questions)), "q.txt")


def test_ask_without_a_question(cli, built):
    assert_clean_error(cli("ask", "--index", str(built)), "no question")


def test_bad_setting_names_the_value(cli, built):
    assert_clean_error(cli("ask", "--index", str(built), "hi",
                           env={"POLICY_QA_TOP_K": "three"}), "top_k", "'three'")


# --- in-process: human output, stdin, chat, build settings -------------------------

@pytest.fixture()
def korero_env(monkeypatch, korero_index_dir, embedder):
    for key in [k for k in os.environ if k.startswith("POLICY_QA_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("POLICY_QA_INDEX", str(korero_index_dir))
    return korero_index_dir


def test_ask_prints_readable_answers(korero_env, capsys):
    assert main(["ask", "Do you sell my data?"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Q: Do you sell my data?\n")
    assert "Korero does not sell" in out
    assert "https://koreroapp.com/privacy#when-would-we-share-your-information:~:text=" in out
    assert err == ""


def test_ask_reads_questions_from_stdin(korero_env, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("Do you use cookies?\n\nthanks\n"))
    assert main(["ask", "--json", "--file", "-"]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["question"] for a in answers] == ["Do you use cookies?", "thanks"]
    assert answers[0]["passages"][0]["anchor"] == "what-tracking-technologies-do-we-utilize"


def test_chat_answers_until_an_empty_line(korero_env, capsys, monkeypatch):
    long = "why " * 400
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"hi\n{long}\nDo you sell my data?\n\n"
                                                  "never read\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Ask about Privacy Policy.")
    assert "Hello!" in out
    assert "limit is 1000" in out  # a bad question is reported and the chat goes on
    assert "Korero does not sell" in out


def test_chat_ends_at_end_of_input(korero_env, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("hello"))
    assert main(["chat"]) == 0


def test_chat_refuses_a_missing_index(korero_env, tmp_path, capsys):
    assert main(["chat", "--index", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("policy-qa: error: no index") and err.count("\n") == 1


def test_build_uses_settings_from_the_environment(korero_env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("POLICY_QA_INBOX", "team@acme.example")
    monkeypatch.setenv("POLICY_QA_BASE_URL", "https://acme.example/p")
    out = tmp_path / "built"
    assert main(["build", str(POLICIES / "acme.md"), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inbox"] == "team@acme.example"
    assert manifest["base_url"] == "https://acme.example/p"
    assert "team@acme.example" in capsys.readouterr().out
    # building again over an index is fine, and replaces it
    assert main(["build", str(POLICIES / "tiny-shop.txt"), "--out", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text())["title"] == "Tiny Shop Privacy Policy"


def test_build_says_which_inbox_it_chose_and_why(cli, tmp_path):
    policy = tmp_path / "p.md"
    policy.write_text("# Privacy\n\nSales: sales@shop.example.\n\n## Contact us\n\n"
                      "Write to privacy[at]shop[dot]example with any privacy question.\n")
    built = cli("build", str(policy), "--out", str(tmp_path / "i"))
    assert built.returncode == 0, built.stderr
    inbox = next(line for line in built.stdout.splitlines() if line.startswith("privacy inbox:"))
    assert "privacy@shop.example" in inbox and "Contact us" in inbox
    assert "links: (fragment-only" in built.stdout
    forced = cli("build", str(policy), "--out", str(tmp_path / "j"),
                 env={"POLICY_QA_INBOX": "dpo@shop.example"})
    assert "privacy inbox: dpo@shop.example (POLICY_QA_INBOX)" in forced.stdout
    assert "cannot be forwarded" not in forced.stderr


def _opening(path: Path, size: int = 4000) -> str:
    """The first `size` characters of a real policy, cut at a paragraph (a quick build)."""
    text = path.read_text("utf-8")
    return text[: text.rfind("\n\n", 0, size)] + "\n"


def test_build_warns_that_a_policy_in_another_language_is_beyond_the_model(cli, tmp_path):
    mozilla = ROOT.parent / "shared" / "policies" / "mozilla"
    for name, path in (("de.md", mozilla / "firefox_privacy_notice.de.md"),
                       ("en.md", POLICIES / "opengov" / "privacy-policy.md")):
        (tmp_path / name).write_text(_opening(path), encoding="utf-8")
    german = cli("build", str(tmp_path / "de.md"), "--out", str(tmp_path / "de"))
    assert german.returncode == 0, german.stderr
    assert "does not look English" in german.stderr
    english = cli("build", str(tmp_path / "en.md"), "--out", str(tmp_path / "en"))
    assert english.returncode == 0 and "does not look English" not in english.stderr


def test_build_warns_when_unanswered_questions_would_go_nowhere(cli, tmp_path):
    policy = tmp_path / "p.md"
    policy.write_text("# Privacy\n\n## Cookies\n\nWe use cookies to keep you signed in.\n")
    built = cli("build", str(policy), "--out", str(tmp_path / "i"), env={"POLICY_QA_INBOX": ""})
    assert built.returncode == 0, built.stderr
    assert "privacy inbox: (none)" in built.stdout
    assert "cannot be forwarded until POLICY_QA_INBOX" in built.stderr
