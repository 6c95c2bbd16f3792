"""Errors the OpenRouter client raises, each a one-line message with what to do.

Their text may quote a peer (an error message, a value it sent), so it is scrubbed of every secret setting
as it is made: whatever prints, logs or stores it gets it clean."""

from __future__ import annotations

from core.errors import EXIT_AUTH, EXIT_UNAVAILABLE, EXIT_USAGE, OrusageError
from core.scrub import scrub


class OpenRouterError(OrusageError):
    exit_code = EXIT_UNAVAILABLE

    def __init__(self, message: str, hint: str = "", status: int | None = None) -> None:
        super().__init__(scrub(message), scrub(hint))
        self.status = status


class AuthError(OpenRouterError):
    """401, 402, 403: the key is missing, wrong, of the wrong type, or the account cannot pay."""

    exit_code = EXIT_AUTH


class NotFoundError(OpenRouterError):
    """404: the resource does not exist (or the base URL is not OpenRouter's API)."""

    exit_code = EXIT_USAGE


class UnavailableError(OpenRouterError):
    """OpenRouter did not answer usefully, even after retries."""

    exit_code = EXIT_UNAVAILABLE


class BadResponseError(OpenRouterError):
    """OpenRouter answered, but not with what its API promises."""

    exit_code = EXIT_UNAVAILABLE
