"""Every domain error of policy-qa, in one place.

Errors are raised deep inside the pipeline and translated only at the edges: the CLI
turns them into a one-line message and exit code 2, the web app into an HTTP 4xx
JSON body. Messages name the bad value, so a user can fix it without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class PolicyQAError(Exception):
    """Base class: a problem the user can fix (bad input, bad file, bad setting)."""

    http_status = 400


class PolicyError(PolicyQAError):
    """The policy file is missing, unreadable, binary, not UTF-8 or has no text."""


class IndexLoadError(PolicyQAError):
    """The saved index is missing, corrupt or was built with another model."""

    http_status = 503


class QuestionError(PolicyQAError):
    """The question is empty, too long or otherwise unusable."""


class EvalDataError(PolicyQAError):
    """A question set or dataset file is missing or malformed."""


class ConfigError(PolicyQAError):
    """A setting (TOML file or POLICY_QA_* variable) has a bad value."""


class TuneDataError(ConfigError):
    """A tuning source is missing, empty, unreadable or in no known format."""


class EmailError(PolicyQAError):
    """An e-mail address is invalid or would be unsafe in a mail header."""


class NotFoundError(PolicyQAError):
    """A referenced record (an escalation id, say) does not exist."""

    http_status = 404


class EscalationStateError(PolicyQAError):
    """The escalation's status does not allow this (e.g. adding an e-mail once sent)."""

    http_status = 409


class RateLimitedError(PolicyQAError):
    """Too many requests from one client; retry after `retry_after` seconds."""

    http_status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after + 0.999))


def read_file(path: object, what: str, error: type[PolicyQAError]) -> bytes:
    """The bytes of a user-named file, or `error` with a one-line reason naming it
    (`what` is how the message names the file, e.g. "policy file")."""
    try:
        return Path(str(path)).read_bytes()
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise error(f"{what} is a directory, not a file: {path}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
