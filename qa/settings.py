"""Settings: one frozen dataclass; defaults < TOML file < POLICY_QA_* environment.

`load_settings()` is the only reader of the environment and of the TOML file. Every
field can be set as `POLICY_QA_<FIELD NAME IN CAPITALS>`; the TOML file is given by
`POLICY_QA_CONFIG` (or the `config` argument) and uses the field names as keys.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from index.embed import Embedder
from index.errors import ConfigError
from qa.addresses import check_base_url, check_public_url, default_sender

# where state lives when nothing says otherwise; load_settings() moves it under
# $XDG_DATA_HOME when that is set (the environment is read there, never at import)
DEFAULT_HOME = Path.home() / ".local" / "share" / "policy-qa"
HOME_FIELDS = {"index": "index", "outbox": "outbox.sqlite3", "maildir": "maildir",
               "analytics": "analytics.sqlite3"}
BUNDLED_POLICY = Path(__file__).resolve().parent.parent / "index" / "data" / "korero-privacy.md"

SMTP_TLS_MODES = ("none", "starttls", "ssl")
DECISIONS = ("answerability", "threshold")
ENCODERS = ("auto", "torch", "onnx", "onnx-int8", "openvino", "openvino-bf16")


PROXY_HEADERS = ("x-forwarded-for", "forwarded")

@dataclass(frozen=True)
class Settings:
    # --- index and retrieval -------------------------------------------------
    index: Path = DEFAULT_HOME / "index"
    policy: Path = BUNDLED_POLICY
    model: str = "all-MiniLM-L6-v2"
    # what runs the model: "torch" (sentence-transformers), or ONNX Runtime on an export
    # of the same model, "onnx" (same vectors, about 3x faster per question here) or
    # "onnx-int8" (int8 weights); OpenVINO compiling the same export, "openvino" (fp32)
    # or "openvino-bf16" (bfloat16 where the CPU runs it natively:
    # index/openvino_encoder.py); "auto": openvino-bf16 where the CPU runs bfloat16, else
    # onnx, each only if it works and agrees with torch, else torch (index/embed.py
    # auto_backends). Exports are cached in `model_cache` (index/onnx_encoder.py)
    encoder: str = "auto"
    model_cache: Path = DEFAULT_HOME / "models"
    base_url: str = ""
    # resolved/unresolved: "answerability" (the cross-policy model, put on each index's
    # scale at build time: qa/answering/answerability.py) or "threshold" (the fused
    # score against `threshold`, calibrated on Korero)
    decision: str = "answerability"
    threshold: float = 0.41
    # how chunks are ranked: "sentences,plain,chunk,heading,lexical[,tokens]" weights
    # (qa/answering/retrieve.py Weights); empty: the shipped ones. A tuned model records
    # the weights it was checked with in its policy-qa.toml (Makefile ADAPT_FUSION)
    fusion: str = ""
    top_k: int = 3
    max_question_chars: int = 1000
    cache_size: int = 1024
    # --- shared store: "" keeps everything in the SQLite files below (and the
    # rate limits and console sessions in memory); postgresql://user@host/db puts the
    # outbox, analytics, request log, rate limits and sessions in that database,
    # shared by every replica (qa/database/)
    database_url: str = ""
    # --- escalation ----------------------------------------------------------
    outbox: Path = DEFAULT_HOME / "outbox.sqlite3"
    maildir: Path = DEFAULT_HOME / "maildir"
    inbox: str = ""
    mail_from: str = ""  # "": policy-qa@ the public URL's host (see default_sender)
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_tls: str = "none"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 10.0
    max_attempts: int = 8
    max_age_hours: float = 72.0
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    retention_days: float = 30.0
    request_deadlines: str = ""  # TOML of rights-request deadline rules and holidays
    dedupe_window_seconds: float = 3600.0
    escalations_per_hour: int = 10
    deliver_interval_seconds: float = 60.0  # idle rescan; enqueues wake the worker at once
    # --- web -----------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 7860
    console_users: str = ""
    session_secret: str = ""
    requests_per_minute: int = 60
    max_body_bytes: int = 16384
    # while other visitors are asking at the same moment, how long the question batcher
    # waits for their questions to fill its batch (ui/web/batching.py); a lone visitor
    # never waits. 0: answer whatever has queued
    batch_wait_ms: float = 4.0
    # batches the server answers at once, each model run on one core (index/lanes.py);
    # 0: as many as the encoder takes (the cores on ONNX Runtime, else 1)
    lanes: int = 0
    allowed_origins: str = ""
    trusted_proxies: str = ""
    # which header the trusted proxy writes the client into: "x-forwarded-for" (with
    # X-Forwarded-Proto/-Host) or "forwarded" (RFC 7239); the other is never read, so a
    # visitor cannot add one the proxy passes through untouched
    proxy_header: str = "x-forwarded-for"
    analytics: Path = DEFAULT_HOME / "analytics.sqlite3"
    public_url: str = ""  # where people reach this server, e.g. https://help.example.com

    def __post_init__(self) -> None:
        _check(self.top_k >= 1, f"top_k must be at least 1. Currently, top_k is {self.top_k}")
        _check(
            0.0 <= self.threshold <= 1.0,
            f"threshold must be between 0 and 1. Currently, threshold is {self.threshold}",
        )
        _check(self.proxy_header in PROXY_HEADERS,
               f"proxy_header must be one of {', '.join(PROXY_HEADERS)}; got "
               f"{self.proxy_header!r}")
        _check(0.0 <= self.batch_wait_ms <= 1000.0,
               "batch_wait_ms must be between 0 and 1000. "
               f"Currently, batch_wait_ms is {self.batch_wait_ms}")
        _check(0 <= self.lanes <= 64,
               f"lanes must be between 0 and 64. Currently, lanes is {self.lanes}")
        _check(self.encoder in ENCODERS,
               f"encoder must be one of {', '.join(ENCODERS)}. "
               f"Currently, encoder is {self.encoder!r}")
        _check(_fusion_ok(self.fusion),
               "fusion must be empty or five or six non-negative numbers separated by commas "
               "(sentences,plain,chunk,heading,lexical[,tokens]). "
               f"Currently, fusion is {self.fusion!r}")
        _check(self.decision in DECISIONS,
               f"decision must be one of {', '.join(DECISIONS)}. "
               f"Currently, decision is {self.decision!r}")
        _check(
            self.max_question_chars >= 1,
            "max_question_chars must be at least 1. "
            f"Currently, max_question_chars is {self.max_question_chars}",
        )
        _check(
            self.smtp_tls in SMTP_TLS_MODES,
            f"smtp_tls must be one of {', '.join(SMTP_TLS_MODES)}. "
            f"Currently, smtp_tls is {self.smtp_tls!r}",
        )
        _check(1 <= self.port <= 65535,
               f"port must be between 1 and 65535. Currently, port is {self.port}")
        _check(0 <= self.smtp_port <= 65535,
               "smtp_port must be between 1 and 65535 (0: the TLS mode's default). "
               f"Currently, smtp_port is {self.smtp_port}")
        object.__setattr__(self, "public_url", check_public_url(self.public_url))
        object.__setattr__(self, "base_url", check_base_url(self.base_url))
        url = str(self.database_url or "").strip()
        _check(not url or url.lower().startswith(("postgresql://", "postgres://")),
               "database_url must be empty (SQLite files) or a PostgreSQL URL like "
               "postgresql://user@host:5432/policyqa. Currently, database_url starts "
               f"with {url.partition(':')[0][:20]!r}")
        object.__setattr__(self, "database_url", url)

    @property
    def sender(self) -> str:
        """The mails' From: POLICY_QA_MAIL_FROM, else default_sender(public_url)."""
        return str(self.mail_from or "").strip() or default_sender(self.public_url)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (values are converted like env values)."""
        return dataclasses.replace(self, **_coerce_all(changes))


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _convert(name: str, raw: Any, kind: Any) -> Any:
    """Turn a TOML or environment value into the field's type, or raise ConfigError."""
    kind = getattr(kind, "__name__", kind)
    wrong = isinstance(raw, bool) or (kind == "int" and isinstance(raw, float)) or (
        kind in ("str", "Path") and not isinstance(raw, str | Path))
    try:
        if wrong:
            raise TypeError
        if kind == "Path":
            return Path(str(raw)).expanduser()
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name} must be {_KIND_NAMES[kind]}; got {raw!r}") from None


_KIND_NAMES = {"Path": "a path", "int": "a whole number", "float": "a number", "str": "text"}


_FIELDS = {f.name: f.type for f in fields(Settings)}


def parse_fusion(text: str) -> tuple[float, ...] | None:
    """The `fusion` setting as five or six weights (None when empty: the shipped ones;
    a sixth, late interaction's, keeps its shipped value when left out); a ValueError
    unless it is five or six finite non-negative numbers separated by commas. The one
    reader of the setting (Settings checks it, Service builds its Weights from it)."""
    if not str(text).strip():
        return None
    values = tuple(float(p) for p in str(text).split(","))
    if len(values) not in (5, 6) or not all(math.isfinite(v) and v >= 0 for v in values):
        raise ValueError(f"not five or six finite non-negative weights: {text!r}")
    return values


def _fusion_ok(text: str) -> bool:
    try:
        parse_fusion(text)
    except ValueError:
        return False
    return True


def _coerce_all(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}; known: {', '.join(_FIELDS)}")
    return {k: _convert(k, v, _FIELDS[k]) for k, v in values.items()}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return data.get("policy_qa", data)


def load_settings(
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from defaults, then the TOML file, then the environment,
    then explicit keyword overrides (CLI flags); later sources win."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    config = config or (Path(env["POLICY_QA_CONFIG"]) if env.get("POLICY_QA_CONFIG") else None)
    if config is not None:
        values.update(_read_toml(config))
    for name in _FIELDS:
        raw = env.get(f"POLICY_QA_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = raw
    values.update({k: v for k, v in overrides.items() if v is not None})
    if env.get("XDG_DATA_HOME"):
        home = Path(env["XDG_DATA_HOME"]) / "policy-qa"
        for name, leaf in HOME_FIELDS.items():
            values.setdefault(name, str(home / leaf))
    return Settings(**_coerce_all(values))


def create_embedder(settings: Settings) -> Embedder:
    """The embedder these settings name: the model, run by `encoder`."""
    return Embedder(settings.model, backend=settings.encoder, cache_dir=settings.model_cache)
