"""Tried, not adopted (issue 14): each index's own decision threshold, the q-quantile of
the answerability model's probability over the question bank's unanswerable questions on
that index (no labels of the policy), instead of the shipped p >= 0.5; with `--rule z`,
a smoother version of the same: the threshold at the mean plus k standard deviations of
those questions' logits.

For every q of a grid it prints the held-out AR/UU per policy (the model fitted without
the policy measured, as scripts/answerability_lopo.py does; the direct-answer and amount
rules added, as the product adds them), then q chosen by nested leave-one-policy-out: for
each held-out policy, the q with the best mean balanced accuracy over the other four, each
measured with a model fitted without it and without the held-out policy.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/tried_bank_quantile.py [--cache DIR] [--rule z]
        [--extra-bank tests/data/question-bank-extra.jsonl [--replace]]

Uses answerability_lopo.py's cached features (--cache, default /tmp/answerability).
`--extra-bank` adds a second bank's unanswerable questions (240 more, written blind by a
helper who had read neither the code nor the labelled sets) to the shipped bank's 100,
both for each index's scale (the shift) and for its quantile; `--replace` uses them
instead of the shipped bank's unanswerable ones.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import answerability_lopo as lopo  # noqa: E402

GRIDS = {"quantile": (0.9, 0.93, 0.95, 0.96, 0.97, 0.98, 0.99, None),  # None: p >= 0.5
         "z": (1.5, 1.75, 2.0, 2.25, 2.5, None)}
COLS = list(range(len(lopo.FEATURES)))


def probabilities(data: dict, th: np.ndarray, prior: np.ndarray, policy: str,
                  name: str) -> np.ndarray:
    x = lopo.design(data, policy, name, COLS, prior, False, "shift")
    return 1 / (1 + np.exp(-(x @ th[:-1] + th[-1])))


def held_out(data: dict, train: list[str], held: str, q: float | None, rule: str = "quantile"
             ) -> tuple[tuple[float, float, float], float]:
    """(AR, UU, BA) on `held` and the threshold used, the model fitted on `train`."""
    th, prior = lopo.fit_model(data, train, COLS, True, False, "shift")
    test = lopo.POLICIES[held][2]
    p = probabilities(data, th, prior, held, test)
    threshold = 0.5
    if q is not None:
        bank = data[held]["question-bank"]
        bank_p = probabilities(data, th, prior, held, "question-bank")
        if rule == "quantile":
            threshold = float(np.quantile(bank_p[~bank["y"]], q))
        else:
            z = np.log(np.clip(bank_p[~bank["y"]], 1e-6, 1 - 1e-6)
                       / np.clip(1 - bank_p[~bank["y"]], 1e-6, 1))
            threshold = float(1 / (1 + np.exp(-(z.mean() + q * z.std()))))
    d = data[held][test]
    resolved = (p >= threshold) | d["direct"]  # the product's rules beside the threshold:
    resolved &= ~d.get("missing", np.zeros(len(p), bool))  # amounts (newer caches)
    return lopo.rates(resolved, data[held][test]["y"]), threshold


def with_extra_bank(data: dict, cache: Path, bank: Path, replace: bool) -> dict:
    """`data` with the extra bank's unanswerable questions in each index's bank (their
    signals computed on the cached indexes)."""
    from index.embed import Embedder
    from index.store import load_index
    from qa.answering.answerability import Lexicon, features
    from qa.answering.retrieve import Retriever

    questions = [json.loads(line)["question"] for line in bank.open() if line.strip()]
    embedder, out = Embedder().warm_up(), copy.deepcopy(data)
    for policy in lopo.POLICIES:
        retriever = Retriever(load_index(cache / "idx" / policy, model=embedder.id), embedder)
        found = retriever.retrieve_many(questions)
        evidence = Lexicon.of(retriever).evidence_many(questions)
        x = np.array([features(r, e) for r, e in zip(found, evidence, strict=True)])
        b = out[policy]["question-bank"]
        keep = b["y"] if replace else np.ones(len(b["y"]), bool)
        b["x"] = np.vstack([b["x"][keep], x])
        b["v"] = np.vstack([b["v"][keep], [e.vector for e in evidence]])
        b["y"] = np.concatenate([b["y"][keep], np.zeros(len(x), bool)])
        b["extra"] = np.vstack([b["extra"][keep], np.zeros((len(x), b["extra"].shape[1]))])
        b["q"] = [q for q, k in zip(b["q"], keep, strict=True) if k] + questions
        for key in ("direct", "missing"):  # not read for the bank; kept the same length
            if key in b:
                b[key] = np.concatenate([b[key][keep], np.zeros(len(x), bool)])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/answerability"))
    parser.add_argument("--rule", choices=sorted(GRIDS), default="quantile")
    parser.add_argument("--extra-bank", type=Path)
    parser.add_argument("--replace", action="store_true")
    args = parser.parse_args()
    data, grid = lopo.collect(args.cache), GRIDS[args.rule]
    if args.extra_bank:
        data = with_extra_bank(data, args.cache, args.extra_bank, args.replace)
    names = list(lopo.POLICIES)
    print(f"each {args.rule} parameter, held out (AR/UU, the index's threshold):")
    for q in grid:
        rows = {h: held_out(data, [p for p in names if p != h], h, q, args.rule)
                for h in names}
        worst = min(min(r[0][0], r[0][1]) for r in rows.values())
        print(f"q={q}: " + "  ".join(f"{h[:10]} {r[0][0]:.2f}/{r[0][1]:.2f} t={r[1]:.2f}"
                                     for h, r in rows.items())
              + f"  mean BA {np.mean([r[0][2] for r in rows.values()]):.3f} worst {worst:.2f}")
    print("q chosen without the policy measured (nested):")
    chosen = {}
    for h in names:
        others = [p for p in names if p != h]
        score = {q: np.mean([held_out(data, [p for p in others if p != g], g, q, args.rule)[0][2]
                             for g in others]) for q in grid if q is not None}
        best = max(score, key=lambda q: score[q])
        chosen[h] = (held_out(data, others, h, best, args.rule)[0], best)
    print("  ".join(f"{h[:10]} q={q} {r[0]:.2f}/{r[1]:.2f}" for h, (r, q) in chosen.items()),
          f" mean BA {np.mean([r[2] for r, _ in chosen.values()]):.3f}"
          f" worst {min(min(r[0], r[1]) for r, _ in chosen.values()):.2f}")


if __name__ == "__main__":
    main()
