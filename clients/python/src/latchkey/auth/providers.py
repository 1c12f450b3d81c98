"""Authentication providers: each one only produces the form fields of a grant. They never touch the
network; the token manager sends what they produce."""

from __future__ import annotations

from typing import Optional

from .endpoint import Grant


class AuthProvider:
    """Source of the first grant of a session (and of later ones when it holds long-lived credentials)."""

    #: ``client_id`` sent with refresh grants, when the provider has one.
    client_id: Optional[str] = None
    #: Whether ``grant_fields()`` may be sent again once the session has ended (a password or secret).
    can_reauthenticate: bool = True

    def grant_fields(self) -> Grant:
        raise NotImplementedError


class PasswordAuth(AuthProvider):
    """Resource-owner password grant, with an optional TOTP code (OAuth endpoint only)."""

    can_reauthenticate = True

    def __init__(self, username: str, password: str, *, totp: Optional[str] = None, client_id: Optional[str] = None) -> None:
        if not isinstance(username, str) or not username:
            raise ValueError("username must be a non-empty string")
        if not isinstance(password, str):
            raise ValueError("password must be a string")
        self._username = username
        self._password = password
        self._totp = totp
        self.client_id = client_id

    def grant_fields(self) -> Grant:
        grant = {"grant_type": "password", "username": self._username, "password": self._password}
        if self._totp is not None:
            grant["totp"] = self._totp
        if self.client_id is not None:
            grant["client_id"] = self.client_id
        return grant

    def __repr__(self) -> str:  # never the password
        return f"PasswordAuth(username={self._username!r})"


class RefreshTokenAuth(AuthProvider):
    """A session that starts from an existing refresh token, which is spent on first use: the provider
    cannot sign in again once the session ends."""

    can_reauthenticate = False

    def __init__(self, refresh_token: str, *, client_id: Optional[str] = None) -> None:
        if not isinstance(refresh_token, str) or not refresh_token:
            raise ValueError("refresh_token must be a non-empty string")
        self._refresh_token = refresh_token
        self.client_id = client_id

    def grant_fields(self) -> Grant:
        return refresh_grant(self._refresh_token, self.client_id)

    def __repr__(self) -> str:
        return "RefreshTokenAuth()"


class ClientCredentialsAuth(AuthProvider):
    """Client credentials grant for a confidential client (service to service)."""

    can_reauthenticate = True

    def __init__(self, client_id: str, client_secret: str, *, scope: Optional[str] = None) -> None:
        if not isinstance(client_id, str) or not client_id:
            raise ValueError("client_id must be a non-empty string")
        if not isinstance(client_secret, str) or not client_secret:
            raise ValueError("client_secret must be a non-empty string")
        self.client_id = client_id
        self._client_secret = client_secret
        self._scope = scope

    def grant_fields(self) -> Grant:
        grant = {"grant_type": "client_credentials", "client_id": self.client_id or "", "client_secret": self._client_secret}
        if self._scope is not None:
            grant["scope"] = self._scope
        return grant

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth(client_id={self.client_id!r})"


def refresh_grant(refresh_token: str, client_id: Optional[str]) -> Grant:
    """The refresh grant for ``refresh_token``."""
    grant = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if client_id is not None:
        grant["client_id"] = client_id
    return grant
