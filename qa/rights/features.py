"""Rule signals of a message: how it is framed (request, question, …), what it is
about (the asker's data or something else) and which right its words point to.

The patterns live in `data/rules.toml`; `load_rules()` reads and compiles them once per
path. A message's signals are the number of patterns of each signal that match,
capped and scaled to [0, 1], plus two surface facts (a question mark; a very short
message). They are features for the classifier in `qa.rights.model`, not a verdict.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import ConfigError

KINDS = ("access", "deletion", "correction", "portability", "opt_out", "objection",
         "withdraw_consent")
FRAMINGS = ("request", "question", "process", "story", "chatter")
OBJECTS = ("personal_data", "first_person", "other")
# computed from the others: an action on something that is not the asker's data; a
# question with no request framing; no right named at all
DERIVED = ("other_only", "question_only", "no_kind")
SURFACE = ("question_mark", "short")
SIGNALS = (*FRAMINGS, *OBJECTS, *(f"kind_{k}" for k in KINDS), *DERIVED, *SURFACE)
_PATTERNED = len(FRAMINGS) + len(OBJECTS) + len(KINDS)
CAP = 2  # matches counted per signal
SHORT_WORDS = 3
RULES_FILE = Path(__file__).parent / "data" / "rules.toml"

_APOSTROPHES = re.compile(r"['\u2018\u2019`\u00b4]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Rules:
    """Compiled patterns; `sha256` identifies the file the classifier was trained on."""

    normalise: tuple[tuple[re.Pattern[str], str], ...]
    signals: tuple[tuple[re.Pattern[str], ...], ...]  # one tuple per SIGNALS entry
    sha256: str


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"bad pattern in {where}: {pattern!r} ({exc})") from None


def _expand(pattern: str, words: dict[str, str]) -> str:
    for name, alternatives in words.items():
        pattern = pattern.replace("{" + name + "}", f"(?:{alternatives})")
    return pattern


def _patterns(table: dict, section: str, names: tuple[str, ...]) -> list[tuple]:
    part, words = table.get(section, {}), table.get("words", {})
    missing = [n for n in names if n not in part]
    if missing:
        raise ConfigError(f"rules section [{section}] lacks {', '.join(missing)}")
    return [tuple(_compile(_expand(p, words), f"[{section}] {n}") for p in part[n])
            for n in names]


@functools.lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> Rules:
    try:
        raw = Path(path).read_bytes()
        table = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read rules file {path}: {exc}") from None
    normalise = tuple((_compile(p, "[normalise]"), str(to))
                      for p, to in table.get("normalise", {}).items())
    signals = (*_patterns(table, "framing", FRAMINGS), *_patterns(table, "objects", OBJECTS),
               *_patterns(table, "kinds", KINDS))
    return Rules(normalise, tuple(signals), hashlib.sha256(raw).hexdigest())


def normalise(message: str, rules: Rules) -> str:
    """Lower-case, apostrophes dropped, known misspellings fixed, spaces collapsed."""
    text = _APOSTROPHES.sub("", message.lower())
    for pattern, replacement in rules.normalise:
        text = pattern.sub(replacement, text)
    return _SPACES.sub(" ", text).strip()


def signals(message: str, rules: Rules) -> np.ndarray:
    """One float32 row in SIGNALS order, every value in [0, 1]."""
    text = normalise(message, rules)
    counts = [min(sum(1 for p in group if p.search(text)), CAP) / CAP
              for group in rules.signals]
    named = dict(zip(SIGNALS[:_PATTERNED], counts, strict=True))
    derived = [named["other"] * (named["personal_data"] == 0),
               named["question"] * (named["request"] == 0),
               float(not any(named[f"kind_{k}"] for k in KINDS))]
    surface = [float("?" in message), float(len(text.split()) <= SHORT_WORDS)]
    return np.asarray(counts + derived + surface, dtype=np.float32)


def signal_matrix(messages: list[str], rules: Rules) -> np.ndarray:
    if not messages:
        return np.zeros((0, len(SIGNALS)), dtype=np.float32)
    return np.stack([signals(m, rules) for m in messages])


def explain(message: str, rules: Rules) -> dict[str, list[str]]:
    """Which patterns of each signal match (for debugging a recognition)."""
    text = normalise(message, rules)
    return {name: [p.pattern for p in group if p.search(text)]
            for name, group in zip(SIGNALS, rules.signals, strict=False)
            if any(p.search(text) for p in group)}
