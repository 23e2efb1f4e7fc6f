"""Tried, not adopted (issue 14): the decision reads how well the best chunks cover each
word of the question in context, from the token vectors late interaction already has
(qa/answering/late.py): each content token of the question takes its best cosine among
a chunk's tokens, and a fifth signal is the worst-covered token's (min), a low quantile
or the mean, over the top chunk or the top three; or late interaction's own score of the
top hit or of the best of the candidates.

For each policy held out it prints AR/UU/BA of the shipped rule's model (fitted without
the policy, as scripts/answerability_lopo.py) with each signal added; then, honestly,
the signal chosen without the policy (nested: the variant with the best mean BA over the
other four policies, each left out in turn) with the product's direct-answer and amount
rules added, against the shipped rule.

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python \
        scripts/tried_late_cover.py [--cache DIR]

Its cache is its own (the extra signals differ from answerability_lopo.py's).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import answerability_lopo as lopo  # noqa: E402

from index.embed import token_names  # noqa: E402
from index.tokens import content_rows  # noqa: E402

SIGNALS = ("late_top", "late_max", "min1", "min3", "q25_3", "mean3")
_RETRIEVER: list = []  # the policy collect() is reading (its Retriever)


class _Retriever(lopo.Retriever):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _RETRIEVER[:] = [self]


def late_signals(r, ev, vocab) -> list[float]:
    """SIGNALS for one question (collect()'s `extra_features`)."""
    retriever = _RETRIEVER[0]
    _, found = retriever.embedder.encode_tokens([ev.query])
    rows = content_rows(found[0], token_names(retriever.embedder))
    ids = [retriever.index.chunks.index(h.chunk) for h in r.hits[:3]]

    def cover(chunks: list[int]) -> np.ndarray:
        table = np.vstack([retriever.tokens.rows(i) for i in chunks])
        return (rows @ table.T).max(axis=1) if len(rows) and len(table) else np.zeros(1)

    one, three = cover(ids[:1]), cover(ids)
    late = [h.late for h in r.hits if h.late is not None]
    return [r.hits[0].late or 0.0, max(late, default=0.0), float(one.min()),
            float(three.min()), float(np.quantile(three, 0.25)), float(three.mean())]


def variants() -> dict[str, tuple[list[str], bool, bool, str]]:
    base = list(lopo.FEATURES)
    out = {"shipped (4 + prior)": (base, True, False, "shift")}
    out.update({f"4 + {s}": ([*base, s], True, True, "shift") for s in SIGNALS})
    return out


def held_out(data: dict, train: list[str], held: str, spec) -> np.ndarray:
    """The model's resolved/unresolved on `held`'s set, fitted on `train`."""
    cols, prior_on, extra, norm = spec
    names = [*lopo.FEATURES, *SIGNALS]
    idx = [names.index(c) for c in cols]
    th, prior = lopo.fit_model(data, train, idx, prior_on, extra, norm)
    x = lopo.design(data, held, lopo.POLICIES[held][2], idx, prior, extra, norm)
    return 1 / (1 + np.exp(-(x @ th[:-1] + th[-1]))) >= 0.5


def nested_choice(data: dict, train: list[str], specs: dict) -> str:
    """The variant with the best mean BA over `train`, each left out in turn."""
    def mean_ba(spec) -> float:
        return float(np.mean([lopo.rates(held_out(data, [p for p in train if p != q], q, spec),
                                         data[q][lopo.POLICIES[q][2]]["y"])[2]
                              for q in train]))
    return max(specs, key=lambda name: mean_ba(specs[name]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/answerability-late"))
    args = parser.parse_args()
    lopo.Retriever, lopo.extra_features, lopo.EXTRA = _Retriever, late_signals, SIGNALS
    data, specs = lopo.collect(args.cache), variants()
    table: dict[str, dict] = {name: {} for name in specs}
    ruled: dict[str, dict] = {"shipped rule": {}, "late signal chosen without the policy": {}}
    for held in lopo.POLICIES:
        train = [p for p in lopo.POLICIES if p != held]
        d = data[held][lopo.POLICIES[held][2]]
        for name, spec in specs.items():
            table[name][held] = lopo.rates(held_out(data, train, held, spec), d["y"])
        chosen = nested_choice(data, train, specs)
        print(f"{held}: chosen without it: {chosen}", flush=True)
        for label, name in (("shipped rule", "shipped (4 + prior)"),
                            ("late signal chosen without the policy", chosen)):
            resolved = (held_out(data, train, held, specs[name]) | d["direct"]) & ~d["missing"]
            ruled[label][held] = lopo.rates(resolved, d["y"])
    lopo.show(table)
    print("\nwith the direct-answer and amount rules:")
    lopo.show(ruled)


if __name__ == "__main__":
    main()
