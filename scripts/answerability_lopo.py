"""Leave-one-policy-out evaluation of the answerability decision (issue 14).

For each policy P: fit on the other policies' labelled sets (and the per-index bank
stats, which use no labels), measure on P's labelled set: answerable resolved (AR),
unanswerable unresolved (UU), balanced accuracy (BA). Compared with the fixed
threshold (the `threshold` setting's default). Korero is fitted on its dev/train/calib
sets and measured on its test set (tests/data/korero-questions.jsonl) only when held
out.

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python scripts/answerability_lopo.py

Indexes and retrievals are cached under /tmp/answerability/ (--cache). Nothing is written
elsewhere unless --write-weights, which fits on ALL policies and writes
qa/answering/data/answerability.json (the shipped weights).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.embed import Embedder  # noqa: E402
from index.policy import load_policy  # noqa: E402
from index.store import build_index, load_index, save_index  # noqa: E402
from index.units import chunk_text  # noqa: E402
from qa.answering.amounts import missing_amount  # noqa: E402
from qa.answering.answer import Answerer  # noqa: E402
from qa.answering.answerability import (  # noqa: E402
    FEATURES,
    SHIPPED,
    Answerability,
    IndexStats,
    Lexicon,
    features,
)
from qa.answering.lead import direct_lead  # noqa: E402
from qa.answering.pages import pages_for  # noqa: E402
from qa.answering.retrieve import Retriever  # noqa: E402
from qa.evaluation.uncertainty import wilson  # noqa: E402
from qa.normalize import tokenize  # noqa: E402
from qa.settings import BUNDLED_POLICY, Settings  # noqa: E402

DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared" / "policies"
KORERO_FIT = ["korero-dev", "korero-train", "korero-train-extra", "korero-calib"]
POLICIES = {  # name: (policy file, sets to fit on, the set measured when held out)
    "korero": (BUNDLED_POLICY, KORERO_FIT, "korero-questions"),
    "mozilla-accounts": (DATA / "policies/mozilla/mozilla_accounts_privacy_notice.md", [],
                         "mozilla-accounts-questions"),
    "opengov": (DATA / "policies/opengov/privacy-policy.md", [], "opengov-questions"),
    "mozilla-websites": (DATA / "policies/mozilla/websites_privacy_notice.md", [],
                         "mozilla-websites-questions"),
    "firefox": (SHARED / "mozilla/firefox_privacy_notice.md", [], "firefox-questions"),
}
EXTRA = ("margin", "gap10", "lexical", "oov", "min_cover")  # tried, not shipped
BASELINE = Settings().threshold  # the threshold decision's default (calibrated on Korero)
PRIOR_L2 = 1e-3
L2 = 1e-3


def read_set(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / f"{name}.jsonl").open() if line.strip()]


def extra_features(r, ev, vocab: set[str]) -> list[float]:
    """On the decision's scale, as `features` (each hit's `sure`; the lexical signal of
    the decision's best hit), whatever the ranking's weights."""
    s = np.array(sorted((h.sure for h in r.hits), reverse=True))
    q = set(tokenize(ev.query))
    return [s[0] - s[1] if len(s) > 1 else s[0], s[0] - s.mean(), r.basis[0].lexical,
            len(q - vocab) / len(q) if q else 1.0, min(ev.word_cover, default=0.0)]


def collect(cache: Path) -> dict:
    """Per policy and set: raw features, extra features, query vectors, labels."""
    target = cache / "features.pkl"
    if target.exists():
        return pickle.loads(target.read_bytes())
    embedder = Embedder().warm_up()
    bank = read_set("question-bank")
    out: dict = {}
    for name, (policy, fit, test) in POLICIES.items():
        folder = cache / "idx" / name
        if not (folder / "manifest.json").exists():
            save_index(build_index(load_policy(policy), embedder), folder)
        retriever = Retriever(load_index(folder, model=embedder.id), embedder)
        lexicon = Lexicon.of(retriever)
        answerer = Answerer(threshold=0.0, top_k=3, inbox="",
                            pages=pages_for(retriever.index, ""))
        vocab = {t for c in retriever.index.chunks for t in tokenize(chunk_text(c))}
        out[name] = {}
        for s in [*fit, test, "question-bank"]:
            rows = bank if s == "question-bank" else read_set(s)
            qs = [r["question"] for r in rows]
            found, ev = retriever.retrieve_many(qs), lexicon.evidence_many(qs)
            shown = [answerer.compose(r, (True, 1.0)).passages for r in found]
            out[name][s] = {
                "x": np.array([features(r, e) for r, e in zip(found, ev, strict=True)]),
                "extra": np.array([extra_features(r, e, vocab) for r, e in zip(found, ev,
                                                                                strict=True)]),
                "v": np.array([e.vector for e in ev]),
                "y": np.array([r.get("expect") == "answered" if s == "question-bank"
                               else r["answerable"] for r in rows]),
                "q": qs,
                # the policy's own sentence answers it (a Yes/No lead: qa/answering/lead.py)
                "direct": np.array([bool(ps) and direct_lead(
                    r.question, ps[0].quote, answerer.selves) is not None
                    for r, ps in zip(found, shown, strict=True)]),
                # it asks for an amount no quote shown gives (qa/answering/amounts.py)
                "missing": np.array([missing_amount(r.question, [p.quote for p in ps])
                                     is not None for r, ps in zip(found, shown, strict=True)])}
        print(f"collected {name}", file=sys.stderr, flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    target.write_bytes(pickle.dumps(out))
    return out


# --- fitting ------------------------------------------------------------------------

def fit_lr(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float) -> np.ndarray:
    """Weighted logistic regression by Newton's method: (coef..., bias)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    th, w = np.zeros(xb.shape[1]), w / w.sum()
    reg = np.r_[np.full(x.shape[1], l2), 0.0]
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(xb @ th, -50, 50)))
        step = np.linalg.solve((xb.T * (w * p * (1 - p))) @ xb + np.diag(reg + 1e-9),
                               xb.T @ ((p - y) * w) + reg * th)
        th -= step
        if np.abs(step).max() < 1e-9:
            break
    return th


def balanced(blocks: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """Weights: every policy counts the same, and within it both classes."""
    out = []
    for owner, y in blocks:
        ys = np.concatenate([b for o, b in blocks if o == owner])
        out.append(np.where(y, 0.5 / ys.sum(), 0.5 / (~ys).sum()))
    return np.concatenate(out)


def fit_sets(data: dict, train: list[str], held: str | None) -> list[tuple[str, str]]:
    return [(p, s) for p in train for s in (POLICIES[p][1] or [POLICIES[p][2]])
            if p != held]


def fit_prior(data: dict, train: list[str]) -> np.ndarray:
    pairs = fit_sets(data, train, None)
    x = np.vstack([data[p][s]["v"] for p, s in pairs])
    y = np.concatenate([data[p][s]["y"] for p, s in pairs])
    return fit_lr(x, y.astype(float), balanced([(p, data[p][s]["y"]) for p, s in pairs]),
                  PRIOR_L2)


def stats_of(data: dict, p: str, extra: bool, norm: str) -> tuple[np.ndarray, np.ndarray]:
    """Per index, from the bank's unanswerable questions (no labels of p): what to
    subtract and divide by. "shift" is what IndexStats ships."""
    b = data[p]["question-bank"]
    x = np.hstack([b["x"], b["extra"]]) if extra else b["x"]
    u = x[~b["y"]]
    if norm == "raw":
        return np.zeros(x.shape[1]), np.ones(x.shape[1])
    if norm == "two-point":  # from the bank's unanswerable mean to its answered mean
        a = x[b["y"]]
        return u.mean(0), np.maximum(a.mean(0) - u.mean(0), 1e-3)
    return u.mean(0), (u.std(0) + 1e-6 if norm == "z" else np.ones(x.shape[1]))


def design(data: dict, p: str, s: str, cols: list[int], prior: np.ndarray | None,
           extra: bool, norm: str) -> np.ndarray:
    d = data[p][s]
    x = np.hstack([d["x"], d["extra"]]) if extra else d["x"]
    mean, std = stats_of(data, p, extra, norm)
    x = ((x - mean) / std)[:, cols]
    if prior is not None:
        x = np.hstack([x, (d["v"] @ prior[:-1] + prior[-1])[:, None]])
    return x


def fit_model(data: dict, train: list[str], cols: list[int], use_prior: bool, extra: bool,
              norm: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Combiner over per-index normalised features (+ the prior's logit, cross-fitted: each training
    policy's prior logits come from a prior fitted without it)."""
    xs, blocks = [], []
    for p in train:
        inner = fit_prior(data, [q for q in train if q != p]) if use_prior else None
        for s in POLICIES[p][1] or [POLICIES[p][2]]:
            xs.append(design(data, p, s, cols, inner, extra, norm))
            blocks.append((p, data[p][s]["y"]))
    th = fit_lr(np.vstack(xs), np.concatenate([y for _, y in blocks]).astype(float),
                balanced(blocks), L2)
    return th, (fit_prior(data, train) if use_prior else None)


def rates(resolved: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    ar, uu = resolved[y].mean(), (~resolved[~y]).mean()
    return float(ar), float(uu), float((ar + uu) / 2)


METHODS = {  # name: (feature columns, question prior, extra features, per-index norm)
    "top score, z vs bank": (["top"], False, False, "z"),
    "top score, shift vs bank": (["top"], False, False, "shift"),
    "4 features, shift, no prior": (list(FEATURES), False, False, "shift"),
    "prior only": ([], True, False, "shift"),
    "top + prior, shift": (["top"], True, False, "shift"),
    "4 features + prior, raw": (list(FEATURES), True, False, "raw"),
    "4 features + prior, z": (list(FEATURES), True, False, "z"),
    "4 features + prior, shift [shipped]": (list(FEATURES), True, False, "shift"),
    "4+5 extra + prior, shift": ([*FEATURES, *EXTRA], True, True, "shift"),
    "4 features + prior, two-point": (list(FEATURES), True, False, "two-point"),
    "4 features, two-point, no prior": (list(FEATURES), False, False, "two-point"),
    "4+5 extra + prior, two-point": ([*FEATURES, *EXTRA], True, True, "two-point"),
}


def lopo(data: dict, held_out: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
         ) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Each method's held-out (AR, UU, BA) per policy; `held_out` receives the product's
    rule's decisions and labels per policy."""
    names = [*FEATURES, *EXTRA]
    fixed = f"baseline {BASELINE}"
    table: dict[str, dict] = {fixed: {}}
    for held in POLICIES:
        d = data[held][POLICIES[held][2]]
        table[fixed][held] = rates(d["x"][:, 0] >= BASELINE, d["y"])
    for label, (cols, use_prior, extra, norm) in METHODS.items():
        table[label] = {}
        idx = [names.index(c) for c in cols]
        for held in POLICIES:
            train = [p for p in POLICIES if p != held]
            th, prior = fit_model(data, train, idx, use_prior, extra, norm)
            x = design(data, held, POLICIES[held][2], idx, prior, extra, norm)
            p = 1 / (1 + np.exp(-(x @ th[:-1] + th[-1])))
            table[label][held] = rates(p >= 0.5, data[held][POLICIES[held][2]]["y"])
            if label.endswith("[shipped]"):  # and the rules the product adds to it
                d = data[held][POLICIES[held][2]]
                if "missing" not in d:
                    raise SystemExit("the cache predates the amount rule: use a new --cache")
                resolved = (p >= 0.5) | d["direct"]
                table.setdefault(label + " + direct answer", {})[held] = rates(resolved, d["y"])
                resolved = resolved & ~d["missing"]  # the product's rule
                table.setdefault(label + " + direct + amounts", {})[held] = rates(resolved,
                                                                                  d["y"])
                if held_out is not None:
                    held_out[held] = (resolved, d["y"])
    return table


def show_intervals(held_out: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """The product's held-out AR and UU per policy with 95% Wilson intervals: how far
    a figure may be from the rate a policy's visitors would see."""
    print("\nthe product's rule held out, 95% intervals (Wilson):")
    for held, (resolved, y) in held_out.items():
        ar = wilson(int(resolved[y].sum()), int(y.sum()))
        uu = wilson(int((~resolved[~y]).sum()), int((~y).sum()))
        print(f"  {held:18s} AR {resolved[y].mean():.2f} [{ar[0]:.2f}, {ar[1]:.2f}] n={y.sum()}"
              f"   UU {(~resolved[~y]).mean():.2f} [{uu[0]:.2f}, {uu[1]:.2f}] n={(~y).sum()}")


def show(table: dict) -> None:
    held = list(POLICIES)
    print(f"{'method':38s}" + "".join(f"{h[:16]:>18s}" for h in held)
          + f"{'mean BA':>9s}{'min':>6s}")
    print(f"{'':38s}" + "".join(f"{'AR  UU  BA':>18s}" for _ in held))
    for label, row in table.items():
        cells = "".join(f"{row[h][0]:>8.2f}{row[h][1]:>5.2f}{row[h][2]:>5.2f}" for h in held)
        mean_ba = np.mean([row[h][2] for h in held])
        worst = min(min(row[h][0], row[h][1]) for h in held)
        print(f"{label:38s}{cells}{mean_ba:>9.3f}{worst:>6.2f}")


def write_weights(data: dict, out: Path) -> None:
    """Fit the shipped model on ALL policies and write it with the bank questions."""
    th, prior = fit_model(data, list(POLICIES), list(range(len(FEATURES))), True, False,
                          "shift")
    assert prior is not None
    model = Answerability(tuple(th[:len(FEATURES)]), float(th[-1]), float(th[len(FEATURES)]),
                          tuple(prior[:-1]), float(prior[-1]), 0.5, None, "all-MiniLM-L6-v2")
    for p in POLICIES:  # the shipped class computes what this script measured
        d, s = data[p], POLICIES[p][2]
        mean, _ = stats_of(data, p, False, "shift")
        bound = model.with_stats(IndexStats(tuple(mean)))
        ours = [bound.probability(x, v) for x, v in zip(d[s]["x"], d[s]["v"], strict=True)]
        x = design(data, p, s, list(range(len(FEATURES))), prior, False, "shift")
        assert np.allclose(ours, 1 / (1 + np.exp(-(x @ th[:-1] + th[-1])))), p
    bank = read_set("question-bank")
    doc = {"about": "issue 14: cross-policy answerability weights, fitted by "
                    "scripts/answerability_lopo.py --write-weights on the labelled sets of "
                    f"{', '.join(POLICIES)}; bank_unanswerable is calibrate()'s question set",
           "model": model.to_dict(),
           "bank_unanswerable": [r["question"] for r in bank if r["expect"] != "answered"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/answerability"))
    parser.add_argument("--write-weights", action="store_true")
    args = parser.parse_args()
    data = collect(args.cache)
    held_out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    show(lopo(data, held_out))
    show_intervals(held_out)
    if args.write_weights:
        write_weights(data, SHIPPED)


if __name__ == "__main__":
    main()
