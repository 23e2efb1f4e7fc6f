"""Every domain error of policy-qa, in one place.

Errors are raised deep inside the pipeline and translated only at the edges: the CLI
turns them into a one-line message and exit code 2, the web app into an HTTP 4xx
JSON body (the table in ui/web/errors.py). Messages name the bad value, so a user can
fix it without a traceback.
"""

from __future__ import annotations


class PolicyQAError(Exception):
    """Base class: a problem the user can fix (bad input, bad file, bad setting)."""


class PolicyError(PolicyQAError):
    """The policy file is missing, unreadable, binary, not UTF-8 or has no text."""


class IndexLoadError(PolicyQAError):
    """The saved index is missing, corrupt or was built with another model."""


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


class EscalationStateError(PolicyQAError):
    """The escalation's status does not allow this (e.g. adding an e-mail once sent)."""


class RateLimitedError(PolicyQAError):
    """Too many requests from one client; retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after + 0.999))


class StoreUnavailableError(PolicyQAError):
    """The shared database (PostgreSQL, `database_url`) refused the connection or went
    away mid-transaction: the change was not confirmed, so nobody may be told it was
    (HTTP 503 with this reason); the next call reconnects."""
