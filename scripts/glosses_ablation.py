"""Contact-detail glosses (index/glosses.py) switched off, one kind at a time, and all on:
hit@1 and hit@3 of the shipped ranking on every labelled set, Korero's fitting sets
(dev, train, train-extra, calib) included, which is what the glosses were kept on.

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python scripts/glosses_ablation.py

Each setting builds the six indexes again (about a minute each setting); signals and
places are counted as scripts/retrieval_lopo.py counts them (equal to `policy-qa eval`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import retrieval_lopo as rlopo  # noqa: E402

import index.glosses  # noqa: E402
from index.embed import Embedder  # noqa: E402

KINDS = ("postal", "e-mail", "phone", "date")  # index.glosses.GLOSSES, in order
SETTINGS = {"none": (),
            **{f"{kind} only": (words,) for kind, (words, _) in
               zip(KINDS, index.glosses.GLOSSES, strict=True)},
            "all (shipped)": tuple(words for words, _ in index.glosses.GLOSSES)}


def main() -> int:
    embedder = Embedder()
    weights = np.asarray(rlopo.astuple(rlopo.Weights()))
    sets = {**rlopo.POLICIES, rlopo.CHECK[0]: (rlopo.CHECK[1], [], rlopo.CHECK[2])}
    shipped = index.glosses.GLOSSES
    for label, kinds in SETTINGS.items():
        index.glosses.GLOSSES = tuple(g for g in shipped if g[0] in kinds)
        for path, fit_sets, measured in sets.values():
            policy = rlopo.Policy(path, embedder)
            for name in [*fit_sets, measured]:
                signals, late, gold = policy.signals(name)
                h1, h3 = policy.hits(signals, late, gold, weights)
                print(f"{label:24s} {name:28s} n={len(gold):3d} hit@1 {h1:.3f} "
                      f"hit@3 {h3:.3f}", flush=True)
    index.glosses.GLOSSES = shipped
    return 0


if __name__ == "__main__":
    sys.exit(main())
