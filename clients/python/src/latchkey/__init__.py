"""Latchkey client: token management, the identity API and the realtime gateway."""

from .api import AuthApi, LatchkeyApi, Session
from .auth import (
    AsyncTokenManager,
    ClientCredentialsAuth,
    FileTokenStore,
    MemoryTokenStore,
    PasswordAuth,
    RefreshTokenAuth,
    RetryPolicy,
    TokenManager,
    TokenSet,
    TokenStore,
)
from .errors import (
    HttpError,
    InvalidTokenResponseError,
    LatchkeyError,
    NotLoggedInError,
    ReauthRequiredError,
    StoreLockTimeoutError,
    TokenEndpointError,
    TokenEndpointUnavailableError,
)

__version__ = "0.1.0"

__all__ = [
    "AsyncTokenManager",
    "AuthApi",
    "ClientCredentialsAuth",
    "FileTokenStore",
    "HttpError",
    "InvalidTokenResponseError",
    "LatchkeyApi",
    "LatchkeyError",
    "MemoryTokenStore",
    "NotLoggedInError",
    "PasswordAuth",
    "ReauthRequiredError",
    "RefreshTokenAuth",
    "RetryPolicy",
    "Session",
    "StoreLockTimeoutError",
    "TokenEndpointError",
    "TokenEndpointUnavailableError",
    "TokenManager",
    "TokenSet",
    "TokenStore",
]
