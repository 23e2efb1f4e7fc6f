"""Leave-one-policy-out choice of the retriever's fusion weights (issue 14, item 2/4).

For each labelled policy P: choose the weights (qa/answering/retrieve.py `Weights`) on
a grid by the mean of hit@1 + hit@3 over the OTHER policies' answerable questions, then
measure P with them; the shipped weights are measured beside. Korero is chosen on with
its dev/train/calib sets and measured on its test set only when held out (as in
scripts/answerability_lopo.py). The Subscription notice's set is never used to choose:
it is reported with the weights chosen on all five (`--all`); the other sets' figures
on that line were seen by the choice (Korero's test set was not). `--lexical-only`
varies only the BM25 weight. `--tokens` varies only late interaction's weight
(`Weights.tokens`, qa/answering/late.py) with the shipped five, "before" being them
without it; otherwise "before" is BEFORE and the grid keeps the shipped late weight.

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python scripts/retrieval_lopo.py

The per-chunk signals are computed once per question with the product's own code
(speller, embedding, unit scores, `Retriever.signals`); a weight setting is then a dot
product (what `retrieve.fuse` computes), and places are counted as `policy-qa eval` counts them
(qa/evaluation/systems.place, metrics.reading_list).
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from answerability_lopo import DATA, POLICIES, SHARED  # noqa: E402  (the same five sets)

from index.embed import Embedder, token_names  # noqa: E402
from index.policy import load_policy  # noqa: E402
from index.runs import TextTokens  # noqa: E402
from index.store import build_index  # noqa: E402
from index.tokens import content_rows  # noqa: E402
from index.vectors import unit_scores  # noqa: E402
from qa.answering.late import CANDIDATES, maxsim  # noqa: E402
from qa.answering.retrieve import Retriever, Weights, blend  # noqa: E402
from qa.evaluation.data import load_questions  # noqa: E402
from qa.evaluation.metrics import matches, reading_list  # noqa: E402
from qa.evaluation.systems import place  # noqa: E402
from qa.normalize import tokenize  # noqa: E402

CHECK = ("subscription", SHARED / "mozilla/subscription_services_privacy_notice.md",
         "subscription-questions")
SIGNALS = ("sentences", "plain", "chunk", "heading", "lexical", "tokens")
BEFORE = (0.2, 0.2, 0.4, 0.2, 0.04, 0.0)  # the weights before this choice (Korero dev)
LATE = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
LEXICAL = (0.0, 0.02, 0.04, 0.08, 0.12, 0.2, 0.3)


def before(mode: str) -> tuple[float, ...]:
    """What "before" means: BEFORE, or for `--tokens` the shipped five without it."""
    return (*astuple(Weights())[:5], 0.0) if mode == "--tokens" else BEFORE


def grid(mode: str) -> list[tuple[float, ...]]:
    """Dense weights summing to 1 (steps of 0.1) and a lexical weight (with the shipped
    late weight); with "--lexical-only" the dense weights before and a lexical weight;
    with "--tokens" the shipped five and a late weight."""
    late = Weights().tokens
    if mode == "--lexical-only":
        return [(*BEFORE[:4], lex, BEFORE[5]) for lex in LEXICAL]
    if mode == "--tokens":
        return [(*astuple(Weights())[:5], t) for t in LATE]
    steps = [round(x * 0.1, 1) for x in range(11)]
    out = []
    for s, p, h in itertools.product(steps, steps, steps[:6]):
        c = round(1.0 - s - p - h, 1)
        if c < 0:
            continue
        for lex in LEXICAL:
            out.append((s, p, c, h, lex, late))
    return out


class Policy:
    """One policy's index, and per question set the signals (questions x chunks x 5)
    and gold labels of its answerable questions."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        self.index = build_index(load_policy(path), embedder)
        self.retriever = Retriever(self.index, embedder)
        places = [place(self.index, c) for c in self.index.chunks]
        self.places = places
        self.place_ids = [places.index(p) for p in places]  # equal places, one id

    def signals(self, set_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per question and chunk: the five fused signals, the late interaction, and
        whether the chunk's place is labelled."""
        qs = [q for q in load_questions(DATA / f"{set_name}.jsonl") if q.answerable]
        r = self.retriever
        queries = [r.speller.correct(q.text) for q in qs]
        vectors, tokens = r.embedder.encode_tokens(queries)
        scores = unit_scores(self.index.vectors, vectors)
        rows = [np.stack(r.signals(tokenize(query), row), axis=-1)
                for query, row in zip(queries, scores, strict=True)]
        late = [self.late(t) for t in tokens]
        return np.stack(rows), np.stack(late), self.golden([q.gold for q in qs])

    def late(self, tokens: TextTokens) -> np.ndarray:
        """One question's late interaction with every chunk, as the retriever scores it
        (scripts/tried_ideas.py part 5 weighs the tokens instead)."""
        names = token_names(self.retriever.embedder)
        return maxsim(content_rows(tokens, names), self.index.tokens,
                      range(len(self.index.chunks)))

    def golden(self, gold: list[frozenset]) -> np.ndarray:
        """Per question, whether each chunk's place is one its labels name."""
        return np.array([[matches(p, labels) for p in self.places] for labels in gold])

    def hits(self, signals: np.ndarray, late: np.ndarray, golden: np.ndarray,
             w: np.ndarray) -> tuple[float, float]:
        """hit@1 and hit@3 as `policy-qa eval` counts them: the first three distinct
        places (metrics.reading_list) of the chunks ranked as the retriever ranks them
        (the best CANDIDATES again with late interaction: Retriever._order)."""
        fused = signals @ w[:5]
        order = np.argsort(-fused, axis=1, kind="stable")
        if w[5]:
            weights = Weights(*w)
            for q, ranked in enumerate(order):
                best = ranked[:CANDIDATES]
                again = np.argsort(-blend(weights, fused[q, best], late[q, best]),
                                   kind="stable")
                order[q, :CANDIDATES] = best[again]
        return self.counted(order, golden)

    def counted(self, order: np.ndarray, golden: np.ndarray) -> tuple[float, float]:
        """hit@1 and hit@3 of each question's chunks ranked as `order` says (questions x
        chunks, best first), counted over their first three distinct places."""
        h1 = h3 = 0
        for q, ranked in enumerate(order[:, :10]):
            reading = reading_list((self.place_ids[i],) for i in ranked)[:3]
            first = {self.place_ids[i]: i for i in reversed(ranked)}
            found = [bool(golden[q, first[p]]) for p in reading]
            h1 += found[0]
            h3 += any(found)
        return h1 / len(order), h3 / len(order)


def table(data: dict, weights: list[tuple[float, ...]]) -> np.ndarray:
    """hit@1 and hit@3 of every weight setting on each (policy, set): settings x sets x 2."""
    out = np.zeros((len(weights), len(data), 2))
    for j, (policy, sig, late, gold) in enumerate(data.values()):
        for i, w in enumerate(weights):
            out[i, j] = policy.hits(sig, late, gold, np.asarray(w))
    return out


def best(scores: np.ndarray, weights: list[tuple[float, ...]], keys: list[tuple[str, str]],
         held_out: str) -> int:
    """The setting with the highest hit@1 + hit@3, averaged over the policies other than
    `held_out` (each policy weighs the same, whatever its number of sets); ties go to
    the one nearest the first setting (the weights before)."""
    shipped = np.asarray(weights[0])
    policies = sorted({k[0] for k in keys} - {held_out})
    value = np.mean([scores[:, [j for j, k in enumerate(keys) if k[0] == p]].sum(axis=2)
                     .mean(axis=1) for p in policies], axis=0)
    top = value.max()
    tied = [i for i in range(len(weights)) if value[i] >= top - 1e-9]
    return min(tied, key=lambda i: float(np.abs(np.asarray(weights[i]) - shipped).sum()))


def astuple(w: Weights) -> tuple[float, ...]:
    return tuple(getattr(w, name) for name in SIGNALS)


def main(policy_type: type[Policy] = Policy, mode: str | None = None) -> int:
    """The table; `policy_type` computes the signals (scripts/tried_ideas.py part 5
    passes one whose late score weighs the question's tokens)."""
    embedder = Embedder()
    if mode is None:
        mode = next((a for a in sys.argv[1:] if a in ("--lexical-only", "--tokens")), "")
    weights = [before(mode), *grid(mode)]
    fit, measure = {}, {}
    for name, (path, fit_sets, measured) in POLICIES.items():
        policy = policy_type(path, embedder)
        for s in fit_sets or [measured]:
            fit[(name, s)] = (policy, *policy.signals(s))
        measure[name] = (policy, *policy.signals(measured))
    check_policy = policy_type(CHECK[1], embedder)
    measure[CHECK[0]] = (check_policy, *check_policy.signals(CHECK[2]))
    fit_scores, measure_scores = table(fit, weights), table(measure, weights)
    fit_keys, names = list(fit), list(measure)
    print(f"{len(weights) - 1} settings; signals {', '.join(SIGNALS)}; before {weights[0]}; "
          f"shipped {astuple(Weights())}")
    print(f"{'held out':18s} {'chosen on the others':34s} hit@1 before -> chosen   "
          "hit@3 before -> chosen")
    for name in [*POLICIES, "--all"]:
        i = best(fit_scores, weights, fit_keys, name)
        shown = [name] if name != "--all" else names  # all 5: every set, for reference
        for n in shown:
            j = names.index(n)
            (a1, a3), (b1, b3) = measure_scores[0, j], measure_scores[i, j]
            label = n if name != "--all" else f"{n} (all 5){'' if n == CHECK[0] else ' seen'}"
            print(f"{label:18s} {str(weights[i]):34s} {a1:.3f} -> {b1:.3f}          "
                  f"{a3:.3f} -> {b3:.3f}")
    held = [best(fit_scores, weights, fit_keys, n) for n in POLICIES]
    for label, pick in (("before", [0] * len(held)), ("held out", held)):
        m = np.array([measure_scores[i, names.index(n)] for i, n in
                      zip(pick, POLICIES, strict=True)])
        print(f"mean over the five, {label}: hit@1 {m[:, 0].mean():.3f} hit@3 "
              f"{m[:, 1].mean():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
