"""What one tuning run is asked to do: `TuneConfig`, checked before anything loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from index.embed import PACKAGED_NAMES
from index.errors import ConfigError


@dataclass(frozen=True)
class TuneConfig:
    sources: tuple[str, ...]
    out: Path
    base: str = PACKAGED_NAMES[0]
    epochs: int = 1
    max_seq_length: int = 128
    seed: int = 42
    batch_size: int = 32
    learning_rate: float = 5e-5
    eval_sources: tuple[str, ...] = ()
    policy: Path | None = None
    max_minutes: float | None = None
    force: bool = False
    negatives: int = 3  # per unanswerable training question: its nearest passages
    threads: int = 2
    progress: bool = False

    def check(self) -> None:
        for name, value, low in (("epochs", self.epochs, 1), ("batch_size", self.batch_size, 2),
                                 ("max_seq_length", self.max_seq_length, 16),
                                 ("negatives", self.negatives, 0),
                                 ("threads", self.threads, 1)):
            if value < low:
                raise ConfigError(f"{name} must be at least {low}. Currently, {name} is {value}")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"learning_rate must be between 0 and 1. Currently, "
                              f"learning_rate is {self.learning_rate}")
        if self.max_minutes is not None and self.max_minutes < 0:
            raise ConfigError(f"max_minutes must not be negative. Currently, max_minutes is "
                              f"{self.max_minutes}")
