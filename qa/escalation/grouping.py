"""Similar unresolved questions, grouped so the team sees what the policy is missing:
the questions are embedded with the service's embedder and clustered greedily — each
question, oldest first, joins the group whose centroid is most similar to it (cosine at
least `threshold`), or starts a new one. Largest groups first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.escalation.records import Escalation

__all__ = ["DEFAULT_THRESHOLD", "QuestionGroup", "group_similar"]

# all-MiniLM-L6-v2: paraphrases (sell my data / data sold to advertisers) score 0.74-0.87;
# a neighbouring question (share my data with the police) 0.68; other topics < 0.4
DEFAULT_THRESHOLD = 0.7
Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class QuestionGroup:
    ids: tuple[str, ...]  # oldest first
    questions: tuple[str, ...]
    first_asked: float

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def example(self) -> str:
        """The question that started the group."""
        return self.questions[0]


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def group_similar(items: Sequence[Escalation], encode: Encode,
                  threshold: float = DEFAULT_THRESHOLD) -> list[QuestionGroup]:
    """Groups of the unresolved escalations among `items` (purged ones, with no text,
    are left out), largest first, then the oldest first."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1]; got {threshold}")
    todo = sorted((e for e in items if e.status != "resolved" and e.question.strip()),
                  key=lambda e: (e.created_at, e.id))
    if not todo:
        return []
    vectors = np.asarray(encode([e.question for e in todo]), dtype=np.float32)
    members: list[list[int]] = []
    sums: list[np.ndarray] = []
    for i, vector in enumerate(vectors):
        best, score = -1, threshold
        for g, total in enumerate(sums):
            sim = float(_unit(total) @ _unit(vector))
            if sim >= score:
                best, score = g, sim
        if best < 0:
            members.append([i])
            sums.append(vector.copy())
        else:
            members[best].append(i)
            sums[best] = sums[best] + vector
    groups = [QuestionGroup(tuple(todo[i].id for i in m), tuple(todo[i].question for i in m),
                            todo[m[0]].created_at) for m in members]
    return sorted(groups, key=lambda g: (-g.size, g.first_asked))
