"""Table rows embedded with their column labels (index/tables.py), with and without:
for each question of tests/data/tables/questions.jsonl, is the row it names the first
quote (and among the first three)? The seven small policies there hold retention,
purpose, legal-basis and cookie tables; their 85 questions were written by the engineer
who made the change, while choosing its form (not an independent set: the six labelled
policies of scripts/quality_policies.sh are the check that nothing else moved).

    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false .venv/bin/python scripts/table_labels.py

"Without" embeds every row as its reader text alone (`index.units.labelled` replaced by
the plain slice), as before the change.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import index.units as units  # noqa: E402
from index.embed import Embedder  # noqa: E402
from index.policy import load_policy  # noqa: E402
from index.store import build_index  # noqa: E402
from qa.service import Service  # noqa: E402
from qa.settings import Settings  # noqa: E402

DATA = ROOT / "tests" / "data" / "tables"
LABELLED = units.labelled


def plain(text: str, cells: object, start: int, end: int, *, first: bool = True) -> str:
    return text[start:end]


def placed(embedder: Embedder, cases: dict[str, list[dict]], tmp: Path) -> dict[str, int]:
    """(questions whose row is quoted first, among the first three) over every policy."""
    first = top3 = 0
    for name, questions in cases.items():
        index = build_index(load_policy(DATA / name), embedder)
        service = Service(Settings(index=tmp / "i", outbox=tmp / "o.sqlite3",
                                   maildir=tmp / "m", analytics=tmp / "a.sqlite3"),
                          index=index, embedder=embedder)
        for case in questions:
            quotes = [p.quote.lower() for p in service.ask(case["question"]).passages[:3]]
            want = case["row"].lower()
            first += bool(quotes) and want in quotes[0]
            top3 += any(want in q for q in quotes)
    return {"first": first, "top3": top3}


def main() -> None:
    cases: dict[str, list[dict]] = defaultdict(list)
    for line in (DATA / "questions.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            cases[case["policy"]].append(case)
    total = sum(map(len, cases.values()))
    embedder = Embedder().warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        for label, fn in (("without labels", plain), ("with labels", LABELLED)):
            units.labelled = fn
            got = placed(embedder, cases, Path(tmp))
            print(f"{label:15s} row quoted first {got['first']}/{total}, "
                  f"among the first three {got['top3']}/{total}")
    units.labelled = LABELLED


if __name__ == "__main__":
    main()
