"""User-facing errors shared by every layer.

Each error carries one line saying what is wrong and what to do, and the exit code from the table in
docs/commands.md (Exit codes). The CLI prints ``str(error)`` and exits with ``error.exit_code``; nobody
sees a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_UNAVAILABLE = 4
EXIT_STORE = 5


class OrusageError(Exception):
    """Base of every error a user may see. ``message`` says what is wrong, ``hint`` what to do."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class ConfigError(OrusageError):
    exit_code = EXIT_USAGE


class StoreError(OrusageError):
    """The database file cannot be opened, read or written."""

    exit_code = EXIT_STORE


class StoreLockedError(StoreError):
    """Another writer holds the database."""
