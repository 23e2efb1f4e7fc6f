"""Late interaction (qa/answering/late.py, index/tokens.py): the token table, MaxSim,
the question's content tokens, and how the retriever ranks its best chunks again."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from index.embed import token_names
from index.runs import TextTokens
from index.store import load_index
from index.tokens import FILE, TokenTable, content_rows, is_content, join
from qa.answering import late
from qa.answering.late import CANDIDATES, maxsim
from qa.answering.retrieve import Retriever, Weights, blend

QUESTIONS = ["Do you sell my data?", "how long do you keep my messages",
             "Can I get a copy of the information you hold about me?",
             "does korero know my real name?",  # the first hit moves (Korero dev set)
             "do the payment processors you use have to follow this privacy policy too?"]


def _unit(rng: np.random.Generator, n: int, d: int = 8) -> np.ndarray:
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _table(parts: list[np.ndarray]) -> TokenTable:
    starts = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    return TokenTable(np.vstack(parts).astype(np.float16), starts)


@pytest.mark.parametrize("full", [8192, 0])  # one product with the whole table, or per chunk
def test_maxsim_is_the_mean_of_each_query_rows_best_cosine(full, monkeypatch):
    monkeypatch.setattr(late, "FULL", full)
    rng = np.random.default_rng(1)
    parts = [_unit(rng, 5), _unit(rng, 0), _unit(rng, 9), _unit(rng, 0)]
    table, query = _table(parts), _unit(rng, 3)
    got = maxsim(query, table, [2, 0, 1, 3])
    for n, i in enumerate([2, 0, 1, 3]):
        rows = table.vectors[table.starts[i]:table.starts[i + 1]].astype(np.float32)
        want = np.mean([max(float(q @ r) for r in rows) for q in query]) if len(rows) else 0.0
        assert got[n] == pytest.approx(want, abs=1e-6)
    assert got[2] == got[3] == 0.0  # chunks without tokens, the last one too
    assert not maxsim(query[:0], table, [0, 2]).any()  # a question without tokens


def test_a_table_splits_and_joins_by_chunk_and_refuses_bad_offsets():
    rng = np.random.default_rng(2)
    table = _table([_unit(rng, 4), _unit(rng, 2), _unit(rng, 3)])
    again = join([table.part(0, 1), table.part(1, 3)])
    assert np.array_equal(again.vectors, table.vectors)
    assert np.array_equal(again.starts, table.starts)
    assert np.array_equal(table.part(1, 3).rows(1), table.rows(2))
    with pytest.raises(ValueError, match=FILE):
        TokenTable(table.vectors, table.starts[:-1])
    empty = TokenTable(np.zeros((0, 8), np.float16), np.zeros(3, np.int64))  # 2 chunks, no rows
    joined = join([empty, empty])  # a traceback before (an index of chunks without tokens)
    assert joined.vectors.shape[0] == 0 and list(joined.starts) == [0, 0, 0, 0, 0]


def test_content_tokens_leave_out_stop_words_and_punctuation(embedder):
    names = token_names(embedder)
    _, (tokens,) = embedder.encode_tokens(["Do you sell my data, or share it?"])
    kept = [names[int(i)] for i, keep in zip(tokens.ids, map(is_content, (
        names[int(i)] for i in tokens.ids)), strict=True) if keep]
    assert kept == ["sell", "data", "share"]
    assert len(content_rows(tokens, names)) == 3
    _, (only_stop,) = embedder.encode_tokens(["do you?"])
    assert len(content_rows(only_stop, names)) == len(only_stop.ids) == 3  # all, not none
    assert is_content("##ing") and not is_content("##,")


def test_token_vectors_come_from_the_same_run_as_the_vector(raw_embedder):
    texts = ["Do you sell my data?", "HIPAA", "How long do you keep the e-mail messages?"]
    vectors, tokens = raw_embedder.encode_tokens(texts)
    np.testing.assert_allclose(vectors, raw_embedder.encode(texts), atol=1e-6)
    assert [len(t.ids) for t in tokens] == [
        len(embedder_ids) - 2 for embedder_ids in _ids(raw_embedder, texts)]  # no [CLS], [SEP]
    for t in tokens:
        assert isinstance(t, TextTokens) and t.vectors.shape == (len(t.ids), 384)
        assert np.allclose(np.linalg.norm(t.vectors, axis=1), 1.0, atol=1e-5)


def _ids(embedder, texts):
    from index.embed import _load

    return _load(embedder.model).tokenizer(texts)["input_ids"]


def test_the_best_candidates_are_ranked_by_the_blend(korero_index, embedder):
    late = Retriever(korero_index, embedder)
    plain = Retriever(korero_index, embedder, Weights(tokens=0.0))
    assert plain.tokens is None
    moved = 0
    for question in QUESTIONS:
        ranked, before = late.retrieve(question), plain.retrieve(question, k=CANDIDATES)
        fused = {h.chunk.id: h.score for h in before.hits}
        scores = [h.score for h in ranked.hits]
        assert scores == sorted(scores, reverse=True)
        for hit in ranked.hits:  # each shown hit is a candidate, scored by the blend
            assert hit.late is not None
            assert hit.score == pytest.approx(blend(late.weights, fused[hit.chunk.id], hit.late))
        assert ranked.evidence == before.evidence  # the decision reads its own fusion
        moved += ranked.hits[0].chunk.id != before.hits[0].chunk.id
    assert moved >= 1  # late interaction does change what comes first


def test_an_index_saved_without_tokens_gets_them_when_first_used(korero_index_dir, tmp_path,
                                                                 korero_index, embedder):
    copy = shutil.copytree(korero_index_dir, tmp_path / "old")
    (copy / FILE).unlink()  # saved before token vectors were kept: no file, no flag
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["tokens"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    old = load_index(copy, model=embedder.id)
    assert old.tokens is None
    rebuilt = Retriever(old, embedder)
    assert np.array_equal(rebuilt.tokens.vectors, korero_index.tokens.vectors)
    stored = Retriever(korero_index, embedder)
    for question in QUESTIONS:
        assert rebuilt.retrieve(question).hits == stored.retrieve(question).hits


def test_a_batch_scores_each_question_as_alone():
    rng = np.random.default_rng(3)
    table = _table([_unit(rng, 4), _unit(rng, 0), _unit(rng, 7)])
    queries = [_unit(rng, 2), _unit(rng, 0), _unit(rng, 5)]
    batch = late.maxsim_all(queries, table)
    for query, every in zip(queries, batch, strict=True):
        np.testing.assert_allclose(every, maxsim(query, table, [0, 1, 2]), atol=1e-6)
    assert late.maxsim_all(queries, _table([_unit(rng, 9000)])) is None  # too big: per chunk
