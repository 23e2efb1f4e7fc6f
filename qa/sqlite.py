"""Where the SQLite layer used to live: it is qa/database/sqlite.py now (one of the two
back-ends of qa/database/); this name stays importable."""

from qa.database.sqlite import (
    BEGIN_MODES,
    SYNCHRONOUS,
    Database,
    client_hash,
    unusable_file_error,
)

__all__ = ["BEGIN_MODES", "SYNCHRONOUS", "Database", "client_hash", "unusable_file_error"]
