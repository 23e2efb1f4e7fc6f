"""The `policy-qa` command: build, ask (JSON lines, --file), chat, and bad input as one
line on stderr with exit code 2, never a traceback.

Build and ask run as real subprocesses (`python -m ui.cli`); the error cases do too
(they fail before the model loads, so each takes well under a second). Chat and the
human-readable output run in-process over the session's model and Korero index.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ui.cli import main

ROOT = Path(__file__).resolve().parent.parent
POLICIES = Path(__file__).parent / "data" / "policies"
CONTRACT = {"question", "resolved", "confidence", "answer", "passages", "escalation"}


def run(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    environ.update({"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "ui.cli", *argv], capture_output=True,
                          text=True, env=environ, cwd=cwd or ROOT, timeout=timeout)


def assert_clean_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("policy-qa: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def built(home) -> Path:
    """A real `policy-qa build` of the Acme fixture policy."""
    out = home / "index"
    result = run("build", str(POLICIES / "acme.md"), "--out", str(out),
                 "--base-url", "https://acme.example/privacy",
                 env={"POLICY_QA_INDEX": str(home / "unused")})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bars when stderr is no terminal
    assert "indexed 'acme.md' (Acme Privacy Notice, last revised March 3, 2025)" in result.stdout
    assert "privacy@acme.example" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["base_url"] == "https://acme.example/privacy"
    assert not (home / "unused").exists()
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
    assert logs["passages"][0]["anchor"] == "what-we-collect"
    assert logs["passages"][0]["url"].startswith(
        "https://acme.example/privacy#what-we-collect:~:text=")
    assert "14 days" in logs["passages"][0]["quote"]
    assert answers[3]["passages"] == []


# --- bad input: exit code 2 and one line on stderr --------------------------------

def test_build_missing_policy(home):
    assert_clean_error(run("build", str(home / "missing.md"), "--out", str(home / "x")),
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
    ],
)
def test_build_refuses_bad_policies(tmp_path, name, content, needle):
    policy = tmp_path / name
    policy.write_bytes(content)
    out = tmp_path / "index"
    assert_clean_error(run("build", str(policy), "--out", str(out)), needle, name)
    assert not out.exists()


def test_build_refuses_a_policy_that_is_a_directory(tmp_path):
    assert_clean_error(run("build", str(tmp_path), "--out", str(tmp_path / "i")), "directory")


def test_build_never_replaces_a_folder_that_is_no_index(tmp_path):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    assert_clean_error(run("build", str(POLICIES / "acme.md"), "--out", str(folder)),
                       "refusing", "manifest.json")
    assert (folder / "precious.txt").read_text() == "keep me"
    afile = tmp_path / "notes.txt"
    afile.write_text("keep me too")
    assert_clean_error(run("build", str(POLICIES / "acme.md"), "--out", str(afile)),
                       "not a folder")
    assert_clean_error(run("build", str(POLICIES / "acme.md"), "--out", str(afile / "idx")),
                       "not a folder")
    assert afile.read_text() == "keep me too"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["documents", "notes.txt"]


@pytest.mark.parametrize(
    ("question", "needle"),
    [("", "empty"), ("   \t ", "empty"), ("Do you sell my data? " * 60, "limit is 1000")],
)
def test_ask_refuses_bad_questions(built, question, needle):
    result = run("ask", "--json", "--index", str(built), question)
    assert_clean_error(result, needle)
    assert result.stdout == ""


def test_question_limit_from_the_environment(built):
    result = run("ask", "Do you sell my data? Tell me everything.",
                 env={"POLICY_QA_INDEX": str(built), "POLICY_QA_MAX_QUESTION_CHARS": "20"})
    assert_clean_error(result, "limit is 20")


def test_ask_refuses_a_missing_index(tmp_path):
    assert_clean_error(run("ask", "--index", str(tmp_path / "nowhere"), "hello"),
                       "no index", "policy-qa build")


def test_ask_refuses_a_missing_index_file(index_copy):
    (index_copy / "chunks.jsonl").unlink()
    assert_clean_error(run("ask", "--index", str(index_copy), "Do you sell my data?"),
                       "missing chunks.jsonl")


@pytest.mark.parametrize(
    ("name", "content"),
    [("index.faiss", b"garbage, not FAISS"), ("manifest.json", b"{not json")],
)
def test_ask_refuses_a_corrupt_index(index_copy, name, content):
    (index_copy / name).write_bytes(content)
    assert_clean_error(run("ask", "--index", str(index_copy), "Do you sell my data?"),
                       "corrupt")


def test_ask_refuses_an_index_built_with_another_model(built, tmp_path):
    other = tmp_path / "other-model"
    other.mkdir()  # an existing (bogus) model folder
    line = assert_clean_error(run("ask", "--index", str(built), "Do you sell my data?",
                                  env={"POLICY_QA_MODEL": str(other)}),
                              "all-MiniLM-L6-v2", str(other))
    assert "rebuild" in line


def test_ask_refuses_an_index_whose_manifest_names_another_model(index_copy):
    manifest = json.loads((index_copy / "manifest.json").read_text())
    manifest["model"] = "sentence-transformers/all-mpnet-base-v2"
    (index_copy / "manifest.json").write_text(json.dumps(manifest))
    assert_clean_error(run("ask", "--index", str(index_copy), "hi"),
                       "all-mpnet-base-v2", "all-MiniLM-L6-v2")


def test_ask_refuses_a_missing_questions_file(built, tmp_path):
    assert_clean_error(run("ask", "--index", str(built), "--file", str(tmp_path / "q.txt")),
                       "q.txt")


def test_ask_without_a_question(built):
    assert_clean_error(run("ask", "--index", str(built)), "no question")


def test_bad_setting_names_the_value(built):
    assert_clean_error(run("ask", "--index", str(built), "hi",
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
