"""More ideas tried for issue 14 and dropped (after scripts/tried_ideas.py's five), kept
runnable so their figures can be checked. All three are held out as the shipped rules are:
whatever is fitted is fitted without the policy it is measured on.

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python scripts/tried_learned.py

6. Each chunk's own scale for the decision: the top evidence chunk's fused score (the
   decision's fusion, CONFIDENCE) measured against what the bank's unanswerable
   questions score on that very chunk (minus their mean; as a z score; as the share of
   them it beats), and the best such margin over all chunks, each added to the four
   signals. A chunk that every question lands on would then need more.
7. The Subscription notice's set added to the decision's training pool: six policies
   left out one at a time instead of five, so each fit sees one more policy.
8. A learned ranking instead of the grid-chosen fusion: a linear softmax over each
   question's chunks (the six signals the shipped `Weights` fuse, then with the chunk's
   log length and four products of the signals), fitted on the other policies' sets by
   maximum likelihood of the labelled chunks, each policy weighing the same.

Parts 6 and 7 read and extend the cache of scripts/answerability_lopo.py
(/tmp/answerability/); part 8 builds the six indexes (a few minutes).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import answerability_lopo as lopo  # noqa: E402
import retrieval_lopo as rlopo  # noqa: E402
import tried_ideas as ideas  # noqa: E402

from index.embed import Embedder  # noqa: E402
from index.store import load_index  # noqa: E402
from index.vectors import unit_scores  # noqa: E402
from qa.answering.retrieve import CONFIDENCE, Retriever, Weights, fuse  # noqa: E402
from qa.normalize import tokenize  # noqa: E402

CACHE = Path("/tmp/answerability")
COLS = list(range(len(lopo.FEATURES)))
SUBSCRIPTION = (lopo.SHARED / "mozilla/subscription_services_privacy_notice.md", [],
                "subscription-questions")


# --- 6. each chunk's own scale --------------------------------------------------------

def fused_every_chunk(name: str, embedder: Embedder) -> dict[str, np.ndarray]:
    """Per question set (and the bank): the decision's fused score of every chunk."""
    retriever = Retriever(load_index(CACHE / "idx" / name, model=embedder.id), embedder)
    _, fit, test = lopo.POLICIES[name]

    def scores(questions: list[str]) -> np.ndarray:
        queries = [retriever.speller.correct(q) for q in questions]
        rows = unit_scores(retriever.index.vectors, embedder.encode(queries))
        return np.array([fuse(CONFIDENCE, retriever.signals(tokenize(q), row))[1]
                         for q, row in zip(queries, rows, strict=True)])
    return {s: scores([r["question"] for r in lopo.read_set(s)])
            for s in [*fit, test, "question-bank"]}


def chunk_scale(scores: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Per question: top minus its chunk's bank mean, that as a z score, the share of
    the bank it beats there, and the best z and margin over all chunks."""
    mean, spread = bank.mean(axis=0), bank.std(axis=0) + 1e-6
    top, sure = scores.argmax(axis=1), scores.max(axis=1)
    over = sure - mean[top]
    return np.stack([over, over / spread[top], (bank[:, top] < sure[None]).mean(axis=0),
                     ((scores - mean) / spread).max(axis=1), (scores - mean).max(axis=1)],
                    axis=1)


def held_out(data: dict, cols: list[int], policies: list[str]) -> list[tuple]:
    """The shipped rule over `cols`, each of `policies` held out: (AR, UU, BA)."""
    return [lopo.rates(z >= 0, y) for z, y in
            (ideas.held_out_logits(data, held, cols, policies) for held in policies)]


def show_rates(label: str, found: list[tuple]) -> None:
    print(f"   {label:34s} {np.mean([r[2] for r in found]):.3f}  "
          f"{min(min(r[0], r[1]) for r in found):.2f}  "
          + "  ".join(f"{r[0]:.2f}/{r[1]:.2f}" for r in found))


def chunk_scales(data: dict) -> None:
    print("6. the top chunk against the bank on that chunk, as a fifth signal, held out "
          "(mean BA; worst AR or UU; AR/UU per policy)")
    embedder = Embedder()
    names = ("minus its bank mean", "z on it", "share of the bank it beats",
             "best z of any chunk", "best margin of any chunk")
    extra = {}
    for p in lopo.POLICIES:
        every = fused_every_chunk(p, embedder)
        bank = every["question-bank"][~data[p]["question-bank"]["y"]]
        extra[p] = {s: chunk_scale(x, bank) for s, x in every.items()}
    show_rates("shipped four signals", held_out(data, COLS, list(lopo.POLICIES)))
    for i, name in enumerate(names):
        joined = {p: {s: {**d, "x": np.hstack([d["x"], extra[p][s][:, [i]]])}
                      for s, d in sets.items()} for p, sets in data.items()}
        show_rates(f"+ {name}", held_out(joined, [*COLS, len(COLS)], list(lopo.POLICIES)))


# --- 7. one more policy to fit on -------------------------------------------------------

def six_policies() -> None:
    print("\n7. the decision fitted with the Subscription set in the pool, held out "
          "(the five first; then Subscription)")
    five = list(lopo.POLICIES)
    show_rates("five policies (shipped)", held_out(lopo.collect(CACHE), COLS, five))
    lopo.POLICIES["subscription"] = SUBSCRIPTION
    try:
        found = held_out(lopo.collect(CACHE.with_name("answerability6")), COLS,
                         [*five, "subscription"])
    finally:
        del lopo.POLICIES["subscription"]
    show_rates("six policies: the five", found[:5])
    show_rates("six policies: Subscription", found[5:])


# --- 8. a learned ranking -----------------------------------------------------------------

class Ranked:
    """One policy's measured (and fitting) sets as arrays: per question and chunk the
    six shipped signals, a few more, and whether the chunk is labelled."""

    def __init__(self, path: Path, sets: list[str], embedder: Embedder) -> None:
        self.policy = rlopo.Policy(path, embedder)
        words = np.array([len(c.text.split()) for c in self.policy.index.chunks])
        self.length = np.log1p(words)
        self.sets = {s: self.policy.signals(s) for s in sets}

    def features(self, s: str, more: bool) -> tuple[np.ndarray, np.ndarray]:
        signals, late, gold = self.sets[s]
        f = [*(signals[..., i] for i in range(5)), late]
        if more:
            f += [np.broadcast_to(self.length, late.shape), signals[..., 1] * late,
                  signals[..., 4] * late, signals[..., 1] ** 2, late ** 2]
        return np.stack(f, axis=-1), gold

    def hits(self, scores: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
        """hit@1 and hit@3 of the chunks ranked by `scores`, as `policy-qa eval` counts."""
        return self.policy.counted(np.argsort(-scores, axis=1, kind="stable"), gold)

    def shipped(self, s: str) -> tuple[float, float]:
        """The shipped ranking's hit@1 and hit@3 on set `s` (fused, then late interaction)."""
        return self.policy.hits(*self.sets[s], np.asarray(rlopo.astuple(Weights())))


def fit_softmax(blocks: list[tuple[np.ndarray, np.ndarray, float]], l2: float) -> np.ndarray:
    """Weights maximising the likelihood of the labelled chunks under a softmax over
    each question's chunks (features standardised; blocks weighted)."""
    flat = np.concatenate([x.reshape(-1, x.shape[-1]) for x, _, _ in blocks])
    mean, spread = flat.mean(axis=0), flat.std(axis=0) + 1e-9

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = l2 * w @ w, 2 * l2 * w
        for x, gold, weight in blocks:
            z = (x - mean) / spread
            s = z @ w
            p = np.exp(s - s.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            ok = gold.any(axis=1)
            pg = p * gold
            mass = pg.sum(axis=1)
            total += weight * -np.log(mass[ok] + 1e-12).mean()
            pg /= np.maximum(mass[:, None], 1e-12)
            grad += weight * (np.einsum("qc,qcf->qf", p - pg, z)[ok]).mean(axis=0)
        return total, grad

    return minimize(loss, np.zeros(flat.shape[1]), jac=True, method="L-BFGS-B").x / spread


def learned_ranking() -> None:
    print("\n8. a learned ranking (softmax over chunks), held out: hit@1/hit@3 per policy, "
          "the mean over the first five")
    embedder = Embedder()
    policies = {**lopo.POLICIES, "subscription": SUBSCRIPTION}
    ranked = {p: Ranked(path, list(dict.fromkeys([*fit, test])), embedder)
              for p, (path, fit, test) in policies.items()}

    def show(label: str, found: list[tuple[float, float]]) -> None:
        mean = np.mean(found[:5], axis=0)
        print(f"   {label:26s} {mean[0]:.3f}/{mean[1]:.3f}  "
              + "  ".join(f"{a:.3f}/{b:.3f}" for a, b in found))

    show("shipped fusion", [r.shipped(policies[p][2]) for p, r in ranked.items()])
    for more in (False, True):
        for l2 in (1e-3, 1e-2, 1e-1):
            found = []
            for held in policies:
                blocks = [(*ranked[p].features(s, more), 1 / len(fit or [test]))
                          for p, (_, fit, test) in lopo.POLICIES.items() if p != held
                          for s in fit or [test]]
                w = fit_softmax(blocks, l2)
                x, gold = ranked[held].features(policies[held][2], more)
                found.append(ranked[held].hits(x @ w, gold))
            show(f"{'11' if more else 'the six'} features, L2 {l2:g}", found)


def main() -> int:
    chunk_scales(lopo.collect(CACHE))
    six_policies()
    learned_ranking()
    return 0


if __name__ == "__main__":
    sys.exit(main())
