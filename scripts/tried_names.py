"""Tried, not adopted (issue 14): a question that names something the policy never
mentions ("Google Analytics", "HIPAA", "Madison") left unresolved, as the amount rule
does for amounts. A name is a run of capitalised words past the first, or an acronym
("GDPR"); it is missing when its words, as a phrase, occur nowhere in the policy.

For each policy held out it prints AR/UU of the product's rule (the model fitted without
the policy, as scripts/answerability_lopo.py; direct answers and amounts added) before
and after the veto, the questions it vetoes, and the answerable questions of the other
sets it would veto (Korero's fitting sets, the bank's answered questions).

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/tried_names.py [--cache DIR]

Uses answerability_lopo.py's cache (a run since the amount rule: it needs "missing").
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import answerability_lopo as lopo  # noqa: E402

from index.store import load_index  # noqa: E402
from index.units import chunk_text  # noqa: E402

TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'&.-]*[A-Za-z0-9]|[A-Za-z]")
NOT_NAMES = {"I", "I'm", "I've", "I'd", "I'll", "Hi", "Hello", "Hey", "Ok", "OK", "Okay",
             "So", "Also", "Please", "Thanks", "EU", "US", "USA", "UK"}


def names(question: str) -> list[str]:
    out: list[str] = []
    run: list[str] = []
    for i, tok in enumerate(TOKEN.findall(question)):
        if tok not in NOT_NAMES and ((tok[0].isupper() and i > 0)
                                     or (len(tok) >= 2 and tok.isupper())):
            run.append(tok)
        elif run:
            out.append(" ".join(run))
            run = []
    return [*out, " ".join(run)] if run else out


def plain(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/answerability"))
    args = parser.parse_args()
    data, cols = lopo.collect(args.cache), list(range(len(lopo.FEATURES)))
    before, after = [], []
    for held in lopo.POLICIES:
        index = load_index(args.cache / "idx" / held)
        text = f" {plain(' '.join(chunk_text(c) for c in index.chunks))} "

        def missing(question: str, text: str = text) -> list[str]:
            return [n for n in names(question) if f" {plain(n)} " not in text]

        th, prior = lopo.fit_model(data, [p for p in lopo.POLICIES if p != held], cols,
                                   True, False, "shift")
        d = data[held][lopo.POLICIES[held][2]]
        x = lopo.design(data, held, lopo.POLICIES[held][2], cols, prior, False, "shift")
        p = 1 / (1 + np.exp(-(x @ th[:-1] + th[-1])))
        resolved = ((p >= 0.5) | d["direct"]) & ~d["missing"]
        veto = np.array([bool(missing(q)) for q in d["q"]])
        before.append(lopo.rates(resolved, d["y"]))
        after.append(lopo.rates(resolved & ~veto, d["y"]))
        print(f"{held:18s} AR / UU {before[-1][0]:.2f} / {before[-1][1]:.2f} -> "
              f"{after[-1][0]:.2f} / {after[-1][1]:.2f}")
        for q, y, v, r in zip(d["q"], d["y"], veto, resolved, strict=True):
            if v:
                print(f"    {'answerable' if y else 'unanswerable'}, resolved before: {r}, "
                      f"missing {missing(q)}: {q}")
        for s in [*lopo.POLICIES[held][1], "question-bank"]:
            for row in lopo.read_set(s):
                if row.get("answerable", row.get("expect") == "answered") and \
                        missing(row["question"]):
                    print(f"    {s}: answerable, would be vetoed: {row['question']}")
    for label, rows in (("before", before), ("after", after)):
        print(f"{label}: mean BA {np.mean([r[2] for r in rows]):.3f}, worst "
              f"{min(min(r[0], r[1]) for r in rows):.2f}")


if __name__ == "__main__":
    main()
