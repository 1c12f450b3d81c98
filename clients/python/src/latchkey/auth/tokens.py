"""``TokenSet``: the tokens of one session and their absolute expiries."""

from __future__ import annotations

import time
from typing import Any, Dict, Mapping, Optional

import pydantic
from pydantic import BaseModel

PYDANTIC_V2 = pydantic.VERSION.startswith("2.")


class TokenSet(BaseModel):
    """The tokens of one session. Immutable. Expiries are absolute, in seconds since the epoch, and anchored
    at the moment the token request was sent, so a slow answer never makes a token look fresher than it is.

    ``access_expires_at`` is ``None`` when the server gave no lifetime. A missing refresh token
    (``refresh_token is None``) differs from a refresh token without a known expiry
    (``refresh_expires_at is None``): the second stays usable until the server refuses it.
    """

    access_token: str
    token_type: str = "Bearer"
    access_expires_at: Optional[float] = None
    refresh_token: Optional[str] = None
    refresh_expires_at: Optional[float] = None

    if PYDANTIC_V2:  # pragma: no cover - depends on the installed pydantic
        model_config = {"frozen": True}
    else:  # pragma: no cover

        class Config:
            allow_mutation = False
            frozen = True

    def __init__(self, **fields: Any) -> None:
        token = fields.get("access_token")
        if not isinstance(token, str) or token == "":
            raise ValueError("access_token must be a non-empty string")
        fields["token_type"] = normalise_token_type(fields.get("token_type") or "Bearer")
        refresh = fields.get("refresh_token")
        if refresh is not None and (not isinstance(refresh, str) or refresh == ""):
            raise ValueError("refresh_token must be a non-empty string or None")
        if refresh is None:
            fields["refresh_expires_at"] = None
        super().__init__(**fields)

    @property
    def authorization_header(self) -> str:
        """The ``Authorization`` header value, e.g. ``Bearer eyJ…``."""
        return f"{self.token_type} {self.access_token}"

    def access_valid(self, skew: float = 0.0, now: Optional[float] = None) -> bool:
        """Whether the access token can still be sent: true when its expiry is unknown, otherwise
        ``now < access_expires_at - skew``."""
        if self.access_expires_at is None:
            return True
        return (time.time() if now is None else now) < self.access_expires_at - skew

    def refresh_valid(self, skew: float = 0.0, now: Optional[float] = None) -> bool:
        """Whether the refresh token can be spent: false without one, true when its expiry is unknown."""
        if self.refresh_token is None:
            return False
        if self.refresh_expires_at is None:
            return True
        return (time.time() if now is None else now) < self.refresh_expires_at - skew

    def replace(self, **changes: Any) -> "TokenSet":
        """A copy with ``changes`` applied."""
        fields = self.to_fields()
        fields.update(changes)
        return TokenSet(**fields)

    def to_fields(self) -> Dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "access_expires_at": self.access_expires_at,
            "refresh_token": self.refresh_token,
            "refresh_expires_at": self.refresh_expires_at,
        }

    def to_json(self) -> Dict[str, Any]:
        """The stored form, shared with the TypeScript and Go clients: times in milliseconds."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "access_expires_at": _millis(self.access_expires_at),
            "refresh_token": self.refresh_token,
            "refresh_expires_at": _millis(self.refresh_expires_at),
        }

    @classmethod
    def from_json(cls, value: Any) -> "TokenSet":
        """Reads the stored form back; raises ``ValueError`` when ``value`` is not one."""
        if not isinstance(value, Mapping):
            raise ValueError("a token set must be a JSON object")

        def seconds(name: str) -> Optional[float]:
            field = value.get(name)
            if field is None:
                return None
            if isinstance(field, bool) or not isinstance(field, (int, float)) or field != field:
                raise ValueError(f"{name} must be a number or null")
            return float(field) / 1000.0

        if not isinstance(value.get("access_token"), str):
            raise ValueError("access_token must be a string")
        token_type = value.get("token_type")
        if token_type is not None and not isinstance(token_type, str):
            raise ValueError("token_type must be a string")
        return cls(
            access_token=value["access_token"],
            token_type=token_type,
            access_expires_at=seconds("access_expires_at"),
            refresh_token=value.get("refresh_token"),
            refresh_expires_at=seconds("refresh_expires_at"),
        )


def normalise_token_type(value: str) -> str:
    """``bearer`` in any case becomes ``Bearer``; any other type is refused (no DPoP here)."""
    if isinstance(value, str) and value.lower() == "bearer":
        return "Bearer"
    raise ValueError(f'unsupported token_type "{value}"')


def _millis(value: Optional[float]) -> Optional[int]:
    return None if value is None else int(round(value * 1000))
