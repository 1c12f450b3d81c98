"""Token management: providers, ``TokenManager`` / ``AsyncTokenManager``, ``TokenSet`` and stores."""

from .endpoint import GrantResult
from .manager import AsyncTokenManager, RetryPolicy, TokenManager
from .providers import AuthProvider, ClientCredentialsAuth, PasswordAuth, RefreshTokenAuth
from .store import FileTokenStore, MemoryTokenStore, TokenStore
from .tokens import TokenSet

__all__ = [
    "AsyncTokenManager",
    "AuthProvider",
    "ClientCredentialsAuth",
    "FileTokenStore",
    "GrantResult",
    "MemoryTokenStore",
    "PasswordAuth",
    "RefreshTokenAuth",
    "RetryPolicy",
    "TokenManager",
    "TokenSet",
    "TokenStore",
]
