"""How long the lexical signal and the question key take per question (issue 15's
Python around the model): rank_bm25's `get_scores` against qa/answering/bm25.py's
postings (the same scores, tests/test_bm25.py), on the bundled policy and on 100 copies
of its chunks (2,300, the size of about ten PolicyQA policies); and question_key's
general Unicode pass against its ASCII shortcut. Korero's test questions, tokenized as
the retriever does.

    .venv/bin/python scripts/lexical_speed.py
"""

from __future__ import annotations

import json
import sys
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rank_bm25 import BM25Okapi  # noqa: E402

from index.policy import load_policy  # noqa: E402
from index.split import split_policy  # noqa: E402
from index.units import chunk_text  # noqa: E402
from qa import normalize  # noqa: E402
from qa.answering.bm25 import Bm25  # noqa: E402
from qa.settings import BUNDLED_POLICY  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "korero-questions.jsonl"


def per_question_ms(score, queries: list[list[str]], rounds: int = 3) -> float:
    score(queries[0])
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for query in queries:
            score(query)
        best = min(best, (time.perf_counter() - start) / len(queries) * 1000)
    return best


def main() -> None:
    chunks = [normalize.tokenize(chunk_text(c)) or ["_"]
              for c in split_policy(load_policy(BUNDLED_POLICY))]
    texts = [json.loads(line)["question"] for line in QUESTIONS.open(encoding="utf-8")]
    queries = [normalize.tokenize(t) for t in texts]
    for label, corpus in (("bundled policy", chunks), ("x100", chunks * 100)):
        theirs = per_question_ms(BM25Okapi(corpus).get_scores, queries)
        ours = per_question_ms(Bm25(corpus).scores, queries)
        print(f"BM25 {label:15s} {len(corpus):5d} chunks: rank_bm25 {theirs:.3f} ms, "
              f"postings {ours:.3f} ms a question ({theirs / ours:.1f}x)")
    general = normalize._question_key.__wrapped__
    slow = min(timeit.repeat(lambda: [general("\u00a0" + t) for t in texts], number=5,
                             repeat=3)) / (5 * len(texts)) * 1e6
    fast = min(timeit.repeat(lambda: [general(t) for t in texts], number=5,
                             repeat=3)) / (5 * len(texts)) * 1e6
    print(f"question_key: {slow:.1f} us a question by the Unicode pass (a non-ASCII "
          f"space in front), {fast:.1f} us by the ASCII shortcut")


if __name__ == "__main__":
    main()
