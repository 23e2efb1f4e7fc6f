"""Ideas tried for issue 14 and dropped, kept runnable so their figures can be checked.

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python scripts/tried_ideas.py

1. How far calibration alone could go. For each policy held out, the shipped rule's
   score (scripts/answerability_lopo.py, fitted without that policy): its AUC, AR/UU at
   the shipped p >= 0.5, and the best any threshold could do on that very set (an oracle:
   it reads the labels it is measured on), with whether any threshold gives AR >= 0.85
   and UU >= 0.85 together. Where none does, no per-index offset can meet the targets:
   the signals do not separate the classes well enough.
2. The answerability fit's knobs, held out as the shipped rule is: the prior's and the
   combiner's L2, and the shipped bank's generic questions (labelled answered/unanswered
   in general, not for any policy) added to the prior's training.
3. Two retrieval ideas on the six labelled sets, shipped fusion weights without late
   interaction (qa/answering/late.py came after them): a hub correction
   (each chunk's signals minus gamma times their mean over the bank's 196 questions, so
   a chunk that scores high for every question counts less) and pseudo-relevance
   feedback (the query vector plus beta times the mean vector of the k best chunks,
   normalised, then ranked again).

4. Late interaction (qa/answering/late.py) as a fifth answerability signal: the late
   score of the decision's top evidence chunk, held out as the shipped rule is.

5. Late interaction with each question token weighted by its IDF among the policy's
   chunks (word pieces, the model's tokenizer; weight idf ** power, normalised), as
   ColBERT-style scorers often do, its weight chosen leave one policy out as
   `scripts/retrieval_lopo.py --tokens` chooses the plain one (which it is compared with).

Part 1, 2 and 4 read the cache of scripts/answerability_lopo.py (/tmp/answerability/,
built on first use); part 3 builds the six indexes (a few minutes), part 4 retrieves
every labelled question again (about five minutes).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import answerability_lopo as lopo  # noqa: E402
import retrieval_lopo as rlopo  # noqa: E402

from index.embed import Embedder, token_names  # noqa: E402
from index.store import load_index  # noqa: E402
from index.tokens import content_rows  # noqa: E402
from index.vectors import _flat_matrix, unit_scores  # noqa: E402
from qa.answering.late import maxsim  # noqa: E402
from qa.answering.retrieve import Retriever  # noqa: E402
from qa.evaluation.data import load_questions  # noqa: E402
from qa.normalize import tokenize  # noqa: E402

COLS = list(range(len(lopo.FEATURES)))
TARGET = 0.85


def auc(score: np.ndarray, y: np.ndarray) -> float:
    """Probability that an answerable question outscores an unanswerable one."""
    pos, neg = score[y], score[~y]
    return float(((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum())
                 / (len(pos) * len(neg)))


def held_out_logits(data: dict, held: str, cols: list[int] = COLS,
                    policies: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The shipped rule's logit (over feature columns `cols`) on `held`'s measured set,
    fitted on the other `policies` (default: the five)."""
    others = [p for p in policies or lopo.POLICIES if p != held]
    th, prior = lopo.fit_model(data, others, cols, True, False, "shift")
    s = lopo.POLICIES[held][2]
    x = lopo.design(data, held, s, cols, prior, False, "shift")
    return x @ th[:-1] + th[-1], data[held][s]["y"]


def calibration_ceiling(data: dict) -> None:
    print("1. calibration's ceiling: the shipped rule held out, and the best threshold "
          "chosen on the very set (an oracle)")
    print(f"   {'policy':18s} {'AUC':>5s}  {'at p>=0.5 AR/UU':>15s}  {'oracle AR/UU (BA)':>19s}"
          f"  both >= {TARGET}?")
    for held in lopo.POLICIES:
        z, y = held_out_logits(data, held)
        ar, uu, _ = lopo.rates(z >= 0, y)
        cuts = [lopo.rates(z >= t, y) for t in np.unique(np.r_[z, np.inf])]
        best = max(cuts, key=lambda r: r[2])
        both = any(a >= TARGET and u >= TARGET for a, u, _ in cuts)
        print(f"   {held:18s} {auc(z, y):5.3f}  {ar:7.2f}/{uu:.2f}  {best[0]:9.2f}/{best[1]:.2f}"
              f" ({best[2]:.3f})  {'yes' if both else 'no'}")


def _prior_with_bank(data: dict, train: list[str]) -> np.ndarray:
    pairs = lopo.fit_sets(data, train, None)
    bank = data["korero"]["question-bank"]  # a question's vector is the same for every policy
    x = np.vstack([*(data[p][s]["v"] for p, s in pairs), bank["v"]])
    y = np.concatenate([*(data[p][s]["y"] for p, s in pairs), bank["y"]])
    blocks = [*((p, data[p][s]["y"]) for p, s in pairs), ("bank", bank["y"])]
    return lopo.fit_lr(x, y.astype(float), lopo.balanced(blocks), lopo.PRIOR_L2)


def fit_knobs(data: dict) -> None:
    print("\n2. the fit's knobs, held out (mean BA over the five; worst AR or UU)")
    shipped = (lopo.PRIOR_L2, lopo.L2, lopo.fit_prior)
    rows: list[tuple[str, float, float, Callable]] = [
        ("shipped (prior L2 1e-3, L2 1e-3)", 1e-3, 1e-3, lopo.fit_prior),
        ("prior L2 1e-4", 1e-4, 1e-3, lopo.fit_prior),
        ("prior L2 1e-2", 1e-2, 1e-3, lopo.fit_prior),
        ("combiner L2 1e-2", 1e-3, 1e-2, lopo.fit_prior),
        ("bank questions in the prior", 1e-3, 1e-3, _prior_with_bank)]
    try:
        for label, prior_l2, l2, prior in rows:
            lopo.PRIOR_L2, lopo.L2, lopo.fit_prior = prior_l2, l2, prior
            found = [lopo.rates(z >= 0, y) for z, y in
                     (held_out_logits(data, h) for h in lopo.POLICIES)]
            print(f"   {label:34s} {np.mean([r[2] for r in found]):.3f}  "
                  f"{min(min(r[0], r[1]) for r in found):.2f}")
    finally:
        lopo.PRIOR_L2, lopo.L2, lopo.fit_prior = shipped


class Measured:
    """One policy's index and its answerable labelled questions, embedded once."""

    def __init__(self, path: Path, set_name: str, embedder: Embedder,
                 bank: list[str]) -> None:
        self.policy = rlopo.Policy(path, embedder)
        r = self.policy.retriever
        questions = [q for q in load_questions(rlopo.DATA / f"{set_name}.jsonl")
                     if q.answerable]
        self.queries = [r.speller.correct(q.text) for q in questions]
        self.vectors = np.asarray(embedder.encode(self.queries))
        self.gold = self.policy.golden([q.gold for q in questions])
        self.hub = self.signals([r.speller.correct(q) for q in bank],
                                np.asarray(embedder.encode(bank))).mean(axis=0)
        units = self.policy.index.units
        whole = {u.chunk: j for j, u in enumerate(units) if u.kind == "chunk"}
        self.chunk_vectors = _flat_matrix(self.policy.index.vectors)[
            [whole[i] for i in range(len(self.policy.index.chunks))]]

    def signals(self, queries: list[str], vectors: np.ndarray) -> np.ndarray:
        r = self.policy.retriever
        scores = unit_scores(self.policy.index.vectors, vectors.astype(np.float32))
        return np.stack([np.stack(r.signals(tokenize(q), row), axis=-1)
                         for q, row in zip(queries, scores, strict=True)])

    def hits(self, gamma: float = 0.0, beta: float = 0.0, k: int = 1) -> tuple[float, float]:
        w = np.r_[rlopo.astuple(rlopo.Weights())[:5], 0.0]  # as tried: no late interaction
        vectors = self.vectors
        if beta:
            best = np.argsort(-(self.signals(self.queries, vectors) @ w[:5]), axis=1)[:, :k]
            vectors = vectors + beta * self.chunk_vectors[best].mean(axis=1)
            vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        signals = self.signals(self.queries, vectors)
        if gamma:
            signals = signals.copy()
            signals[..., :4] -= gamma * self.hub[None, :, :4]  # the dense signals
        return self.policy.hits(signals, np.zeros(signals.shape[:2]), self.gold, w)


def retrieval_ideas() -> None:
    print("\n3. retrieval ideas, shipped weights without late interaction: hit@1/hit@3 per "
          "set; mean over the first five")
    embedder = Embedder()
    bank = [json.loads(line)["question"] for line in
            (lopo.DATA / "question-bank.jsonl").open(encoding="utf-8") if line.strip()]
    sets = {name: Measured(path, measured, embedder, bank)
            for name, (path, _, measured) in
            {**lopo.POLICIES, rlopo.CHECK[0]: (rlopo.CHECK[1], [], rlopo.CHECK[2])}.items()}
    print(f"   {'':22s}" + "".join(f"{n[:14]:>15s}" for n in sets) + "   mean")
    settings = [("shipped", {}), *((f"hub gamma {g}", {"gamma": g}) for g in (0.2, 0.5, 1.0)),
                *((f"feedback beta {b} k {k}", {"beta": b, "k": k})
                  for b in (0.2, 0.5) for k in (1, 3))]
    for label, kw in settings:
        found = [m.hits(**kw) for m in sets.values()]
        mean = np.mean(found[:5], axis=0)
        print(f"   {label:22s}" + "".join(f"{a:>9.3f}/{b:.3f}" for a, b in found)
              + f"   {mean[0]:.3f}/{mean[1]:.3f}")


def late_signal(data: dict, cache: Path) -> None:
    print("\n4. the top evidence chunk's late score as a fifth answerability signal, held "
          "out (mean BA; worst AR or UU; per policy AR/UU)")
    embedder = Embedder()
    names = token_names(embedder)
    bank = lopo.read_set("question-bank")
    extra: dict = {}
    for name, (_, fit, test) in lopo.POLICIES.items():
        index = load_index(cache / "idx" / name, model=embedder.id)
        retriever = Retriever(index, embedder)
        where = {c.id: i for i, c in enumerate(index.chunks)}
        extra[name] = {}
        for s in [*fit, test, "question-bank"]:
            questions = [r["question"] for r in (bank if s == "question-bank"
                                                  else lopo.read_set(s))]
            found = retriever.retrieve_many(questions)
            _, tokens = embedder.encode_tokens([retriever.speller.correct(q)
                                                for q in questions])
            extra[name][s] = np.array([
                maxsim(content_rows(t, names), retriever.tokens, [where[r.basis[0].chunk.id]])
                for r, t in zip(found, tokens, strict=True)])
    for label, with_late in (("shipped four signals", False), ("+ late score", True)):
        joined = {p: {s: {**d, "x": np.hstack([d["x"], extra[p][s]]) if with_late
                          else d["x"]} for s, d in sets.items()} for p, sets in data.items()}
        cols = list(range(len(lopo.FEATURES) + with_late))
        found = [lopo.rates(z >= 0, y) for z, y in
                 (held_out_logits(joined, held, cols) for held in lopo.POLICIES)]
        print(f"   {label:22s} {np.mean([r[2] for r in found]):.3f}  "
              f"{min(min(r[0], r[1]) for r in found):.2f}  "
              + "  ".join(f"{r[0]:.2f}/{r[1]:.2f}" for r in found))


def idf_policy(power: float) -> type:
    """retrieval_lopo's Policy, its late scores weighing each question token by its IDF
    among the policy's chunks to the `power` (part 5)."""
    from index.embed import _load
    from index.runs import TextTokens
    from index.tokens import is_content
    from qa.answering.late import _best_per_chunk

    class Weighted(rlopo.Policy):
        @functools.cached_property
        def chunk_ids(self) -> list[set[int]]:
            """Each chunk's word-piece ids (the model's tokenizer), for the IDF."""
            tokenizer = _load(self.retriever.embedder.model).tokenizer
            return [set(tokenizer(c.text, add_special_tokens=False)["input_ids"])
                    for c in self.index.chunks]

        def late(self, tokens: TextTokens) -> np.ndarray:
            names, chunks = token_names(self.retriever.embedder), self.chunk_ids
            table = self.index.tokens
            keep = ([k for k, i in enumerate(tokens.ids) if is_content(names[int(i)])]
                    or list(range(len(tokens.ids))))
            df = np.array([sum(int(tokens.ids[k]) in c for c in chunks) for k in keep])
            w = np.log((len(chunks) + 1) / (df + 0.5)) ** power
            best = _best_per_chunk(table.full @ tokens.vectors[keep].T, table.starts)
            return w @ best / w.sum()

    return Weighted


def main() -> int:
    cache = Path("/tmp/answerability")
    data = lopo.collect(cache)
    calibration_ceiling(data)
    fit_knobs(data)
    retrieval_ideas()
    late_signal(data, cache)
    for power in (1.0, 0.5):
        print(f"\n5. late interaction, question tokens weighted by idf ** {power}")
        rlopo.main(idf_policy(power), "--tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
