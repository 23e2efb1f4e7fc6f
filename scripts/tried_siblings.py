"""An idea tried for issue 14 (retrieval), kept runnable so its figures can be checked:
a place (a section anchor) split into many chunks gets as many draws at the top of the
ranking, so a long catch-all section ("What else should you know about?", six chunks
on Korero) comes first for questions it does not answer. Each chunk's fused score is
lowered by lam x ln(number of chunks sharing its place) before ranking (and before late
interaction ranks the best CANDIDATES again). lam is chosen leave one policy out, by the
mean hit@1 + hit@3 of the other policies, as scripts/retrieval_lopo.py chooses weights.

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python scripts/tried_siblings.py
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import retrieval_lopo as rlopo  # noqa: E402

from index.embed import Embedder  # noqa: E402
from qa.answering.late import CANDIDATES  # noqa: E402
from qa.answering.retrieve import Weights, blend  # noqa: E402

LAMBDAS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08)


class Siblings(rlopo.Policy):
    def __init__(self, path: Path, embedder: Embedder) -> None:
        super().__init__(path, embedder)
        count = Counter(self.place_ids)
        self.log_n = np.log([count[p] for p in self.place_ids])

    def ranked(self, signals, late, golden, lam: float) -> tuple[float, float]:
        w = np.asarray(rlopo.astuple(Weights()))
        fused = signals @ w[:5] - lam * self.log_n
        order = np.argsort(-fused, axis=1, kind="stable")
        weights = Weights(*w)
        for q, ranked in enumerate(order):
            best = ranked[:CANDIDATES]
            again = np.argsort(-blend(weights, fused[q, best], late[q, best]), kind="stable")
            order[q, :CANDIDATES] = best[again]
        return self.counted(order, golden)


def main() -> int:
    embedder = Embedder()
    fit, measure = {}, {}
    for name, (path, fit_sets, measured) in rlopo.POLICIES.items():
        policy = Siblings(path, embedder)
        for s in fit_sets or [measured]:
            fit[(name, s)] = (policy, *policy.signals(s))
        measure[name] = (policy, *policy.signals(measured))
    check = Siblings(rlopo.CHECK[1], embedder)
    measure[rlopo.CHECK[0]] = (check, *check.signals(rlopo.CHECK[2]))
    fit_scores = np.array([[p.ranked(s, la, g, lam) for (p, s, la, g) in fit.values()]
                           for lam in LAMBDAS])
    keys, names = list(fit), list(measure)
    measured = {n: [measure[n][0].ranked(*measure[n][1:], lam) for lam in LAMBDAS]
                for n in names}
    print("lam:", LAMBDAS)
    for n in names:
        print(f"{n:18s} " + "  ".join(f"{a:.3f}/{b:.3f}" for a, b in measured[n]))
    held = []
    for n in rlopo.POLICIES:
        i = rlopo.best(fit_scores, list(LAMBDAS), keys, n)
        held.append(measured[n][i])
        (a1, a3), (b1, b3) = measured[n][0], measured[n][i]
        print(f"held out {n:18s} lam {LAMBDAS[i]}: hit@1 {a1:.3f} -> {b1:.3f}, "
              f"hit@3 {a3:.3f} -> {b3:.3f}")
    before = np.array([measured[n][0] for n in rlopo.POLICIES])
    after = np.array(held)
    print(f"mean of the five: hit@1 {before[:, 0].mean():.3f} -> {after[:, 0].mean():.3f}, "
          f"hit@3 {before[:, 1].mean():.3f} -> {after[:, 1].mean():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
