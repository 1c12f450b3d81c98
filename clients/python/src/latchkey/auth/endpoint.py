"""The token endpoint protocol: build one grant request, read its answer. Two wire formats:

- ``oauth`` — RFC 6749: ``POST <token_url>`` with a form body (``/auth/v1/oauth/token``);
- ``gotrue`` — Supabase Auth: ``POST <token_url>?grant_type=…`` with a JSON body and an ``apikey`` header
  (``/auth/v1/token``).
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlencode, urlsplit, urlunsplit, parse_qsl

from ..errors import InvalidTokenResponseError, TokenEndpointError, TokenEndpointUnavailableError
from .tokens import TokenSet

Grant = Dict[str, str]

#: Error codes meaning the grant can never succeed again: the session (or the credentials) is gone.
SESSION_ENDED_ERRORS = frozenset(
    {
        "invalid_grant",
        "invalid_client",
        "unauthorized_client",
        "refresh_token_not_found",
        "refresh_token_already_used",
        "session_not_found",
        "session_expired",
        "user_banned",
        "user_not_found",
        "invalid_credentials",
    }
)

#: Error codes that say "later" whatever the status.
TRANSIENT_ERRORS = frozenset(
    {"temporarily_unavailable", "slow_down", "over_request_rate_limit", "conflict", "unexpected_failure"}
)


def is_transient_status(status: int) -> bool:
    """Statuses worth retrying: timeouts, refresh contention (409), rate limits and server errors."""
    return status in (408, 409, 425, 429) or status >= 500


@dataclass(frozen=True)
class TokenEndpoint:
    """Where and how grants are sent."""

    url: str
    protocol: str = "oauth"
    api_key: Optional[str] = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GrantResult:
    """A successful token response: the tokens and the whole body (GoTrue adds ``user``)."""

    tokens: TokenSet
    body: Mapping[str, Any]


def build_request(endpoint: TokenEndpoint, grant: Grant) -> Tuple[str, Dict[str, str], bytes]:
    """URL, headers and body of the request for ``grant``."""
    headers = {"accept": "application/json", **endpoint.headers}
    if endpoint.api_key:
        headers["apikey"] = endpoint.api_key
    if endpoint.protocol == "oauth":
        headers["content-type"] = "application/x-www-form-urlencoded"
        form = {name: value for name, value in grant.items() if value is not None}
        return endpoint.url, headers, urlencode(form).encode()
    parts = urlsplit(endpoint.url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "grant_type"] + [("grant_type", grant["grant_type"])]
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
    headers["content-type"] = "application/json;charset=UTF-8"
    headers["x-supabase-api-version"] = "2024-01-01"
    return url, headers, json.dumps(_gotrue_body(grant)).encode()


def _gotrue_body(grant: Grant) -> Dict[str, str]:
    kind = grant["grant_type"]
    if kind == "password":
        if grant.get("totp") is not None:
            raise ValueError("the GoTrue token endpoint takes no TOTP code; use the OAuth token endpoint")
        username = grant.get("username", "")
        key = "phone" if username.startswith("+") else "email"
        return {key: username, "password": grant.get("password", "")}
    if kind == "refresh_token":
        return {"refresh_token": grant.get("refresh_token", "")}
    raise ValueError(f'the GoTrue token endpoint does not support grant_type "{kind}"')


def read_error_body(body: Any) -> Tuple[Optional[str], Optional[str]]:
    """The error code and description of an error body, in any of the shapes OAuth and GoTrue use."""
    if not isinstance(body, Mapping):
        return None, None

    def text(*names: str) -> Optional[str]:
        for name in names:
            value = body.get(name)
            if isinstance(value, str) and value:
                return value
        return None

    return text("error", "error_code", "code"), text("error_description", "message", "msg")


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """``Retry-After`` as seconds (delay-seconds or an HTTP date), ``None`` when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, math.ceil(when - (time.time() if now is None else now)))


def process_response(status: int, headers: Mapping[str, str], text: str, requested_at: float, now: float) -> GrantResult:
    """Turns a token endpoint answer into tokens, strictly.

    Raises ``TokenEndpointUnavailableError`` for a transient failure, ``TokenEndpointError`` for any other
    error status and ``InvalidTokenResponseError`` for a 2xx answer that does not conform.
    """
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = None
    if not 200 <= status < 300:
        error, description = read_error_body(body)
        if is_transient_status(status) or (error is not None and error in TRANSIENT_ERRORS):
            detail = f" {error}" if error else ""
            raise TokenEndpointUnavailableError(
                f"token endpoint answered {status}{detail}" + (f": {description}" if description else ""),
                status=status,
                retry_after=parse_retry_after(headers.get("retry-after"), now),
            )
        raise TokenEndpointError(status, error or "unknown_error", description)
    if not isinstance(body, dict):
        raise InvalidTokenResponseError("the body is not a JSON object")
    access = body.get("access_token")
    if not isinstance(access, str) or access == "":
        raise InvalidTokenResponseError('"access_token" must be a non-empty string')
    token_type = body.get("token_type")
    if not isinstance(token_type, str):
        raise InvalidTokenResponseError('"token_type" must be a string')
    if token_type.lower() != "bearer":
        raise InvalidTokenResponseError(f'unsupported "token_type" {json.dumps(token_type)}')
    refresh = body.get("refresh_token")
    if refresh is not None and (not isinstance(refresh, str) or refresh == ""):
        raise InvalidTokenResponseError('"refresh_token" must be a non-empty string')
    expires_in = _seconds(body, "expires_in")
    refresh_expires_in = _seconds(body, "refresh_expires_in")
    tokens = TokenSet(
        access_token=access,
        token_type="Bearer",
        access_expires_at=None if expires_in is None else requested_at + expires_in,
        refresh_token=refresh,
        refresh_expires_at=None if not refresh_expires_in else requested_at + refresh_expires_in,
    )
    return GrantResult(tokens=tokens, body=body)


def _seconds(body: Mapping[str, Any], name: str) -> Optional[float]:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidTokenResponseError(f'"{name}" must be a finite number >= 0')
    try:
        seconds = float(value) if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip()) else math.nan
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidTokenResponseError(f'"{name}" must be a finite number >= 0')
    return seconds
