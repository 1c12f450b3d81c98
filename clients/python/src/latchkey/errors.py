"""Every error the client raises. Each class has a stable ``code`` (the same codes as the TypeScript SDK)."""

from __future__ import annotations

from typing import Any, Optional


class LatchkeyError(Exception):
    """Base class of every client error; ``code`` is stable and safe to compare."""

    code = "ERR_LATCHKEY"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidTokenResponseError(LatchkeyError):
    """The token endpoint answered 2xx with a body that is not a conforming token response."""

    code = "ERR_INVALID_TOKEN_RESPONSE"

    def __init__(self, message: str) -> None:
        super().__init__(f"invalid token response: {message}")


class TokenEndpointError(LatchkeyError):
    """The token endpoint refused the grant (4xx). ``error`` is the OAuth or GoTrue error code."""

    code = "ERR_TOKEN_ENDPOINT"

    def __init__(self, status: int, error: str, description: Optional[str] = None) -> None:
        super().__init__(f"{error}: {description}" if description else f"{error} (HTTP {status})")
        self.status = status
        self.error = error
        self.description = description


class TokenEndpointUnavailableError(LatchkeyError):
    """The token endpoint was unreachable or answered a transient failure (network, 5xx, 408, 409, 429).
    The session is kept; ``retry_after`` (seconds) is set when the server sent ``Retry-After``."""

    code = "ERR_TOKEN_ENDPOINT_UNAVAILABLE"

    def __init__(self, message: str, *, status: Optional[int] = None, retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ReauthRequiredError(LatchkeyError):
    """The session ended for good (refresh token revoked, used, expired; session deleted). The store has
    been cleared; the user must sign in again."""

    code = "ERR_REAUTH_REQUIRED"

    def __init__(self, message: str = "the session has ended; sign in again") -> None:
        super().__init__(message)


class NotLoggedInError(LatchkeyError):
    """No session in the store and no provider to start one."""

    code = "ERR_NOT_LOGGED_IN"

    def __init__(self, message: str = "not logged in") -> None:
        super().__init__(message)


class StoreLockTimeoutError(LatchkeyError):
    """A file store's cross-process lock stayed held by another process for longer than the timeout."""

    code = "ERR_STORE_LOCK_TIMEOUT"

    def __init__(self, lock_path: str, timeout: float) -> None:
        super().__init__(f"timed out after {timeout:g} s waiting for the lock {lock_path}")
        self.lock_path = lock_path


class HttpError(LatchkeyError):
    """An API call answered an error status. ``error`` is the server's error code when the body had one."""

    code = "ERR_HTTP"

    def __init__(self, status: int, message: str, error: Optional[str], body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.body = body
