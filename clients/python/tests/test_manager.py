"""Token manager and store behaviour that needs forced faults: an in-process token endpoint
(httpx.MockTransport) answers what each case needs. The shared scenarios cover the live server."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Callable, List

import httpx
import pytest

from latchkey import (
    FileTokenStore,
    InvalidTokenResponseError,
    MemoryTokenStore,
    PasswordAuth,
    ReauthRequiredError,
    RetryPolicy,
    TokenEndpointError,
    TokenManager,
    TokenSet,
)

TOKEN_URL = "http://identity.test/auth/v1/oauth/token"


def endpoint(answers: List[Callable[[httpx.Request], httpx.Response]]) -> "tuple[httpx.Client, List[httpx.Request]]":
    seen: List[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1](request)

    return httpx.Client(transport=httpx.MockTransport(handle)), seen


def tokens(n: int, expires_in: int = 3600) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, json={"access_token": f"access-{n}", "token_type": "bearer", "expires_in": expires_in, "refresh_token": f"refresh-{n}"})


def expired() -> TokenSet:
    return TokenSet(access_token="access-0", access_expires_at=time.time() - 1, refresh_token="refresh-0")


def test_retry_after_is_honoured_before_the_retry() -> None:
    http, seen = endpoint([lambda request: httpx.Response(503, headers={"retry-after": "1"}), tokens(1)])
    manager = TokenManager(None, http=http, token_url=TOKEN_URL, store=MemoryTokenStore(expired()))
    started = time.monotonic()
    assert manager.authorization_header() == "Bearer access-1"
    assert time.monotonic() - started >= 1.0
    assert len(seen) == 2
    assert dict(httpx.QueryParams(seen[0].content.decode())) == {"grant_type": "refresh_token", "refresh_token": "refresh-0"}


def test_a_retry_after_longer_than_the_limit_is_reported_at_once() -> None:
    http, seen = endpoint([lambda request: httpx.Response(429, headers={"retry-after": "120"})])
    store = MemoryTokenStore(expired())
    manager = TokenManager(None, http=http, token_url=TOKEN_URL, store=store, retry=RetryPolicy(max_retry_after=30))
    with pytest.raises(Exception) as raised:
        manager.get_tokens()
    assert getattr(raised.value, "code", None) == "ERR_TOKEN_ENDPOINT_UNAVAILABLE" and raised.value.retry_after == 120  # type: ignore[attr-defined]
    assert len(seen) == 1 and store.load() is not None


def test_a_nonconforming_answer_is_an_error_not_a_session() -> None:
    http, _ = endpoint([lambda request: httpx.Response(200, json={"token_type": "bearer", "expires_in": 60})])
    store = MemoryTokenStore(expired())
    with pytest.raises(InvalidTokenResponseError):
        TokenManager(None, http=http, token_url=TOKEN_URL, store=store).get_tokens()
    assert store.load() == expired().replace(access_expires_at=store.load().access_expires_at)  # type: ignore[union-attr]


def test_a_password_provider_signs_in_again_when_the_refresh_token_is_dead() -> None:
    http, seen = endpoint([lambda request: httpx.Response(400, json={"error": "invalid_grant"}), tokens(2)])
    manager = TokenManager(PasswordAuth("ada@example.com", "secret"), http=http, token_url=TOKEN_URL, store=MemoryTokenStore(expired()))
    assert manager.authorization_header() == "Bearer access-2"
    assert [dict(httpx.QueryParams(request.content.decode()))["grant_type"] for request in seen] == ["refresh_token", "password"]


def test_wrong_credentials_on_a_first_sign_in_are_not_a_session_end() -> None:
    http, _ = endpoint([lambda request: httpx.Response(400, json={"error": "invalid_grant", "error_description": "wrong password"})])
    manager = TokenManager(PasswordAuth("ada@example.com", "wrong"), http=http, token_url=TOKEN_URL)
    with pytest.raises(TokenEndpointError) as raised:
        manager.get_tokens()
    assert raised.value.error == "invalid_grant" and not isinstance(raised.value, ReauthRequiredError)


def test_force_refresh_with_a_token_that_is_no_longer_current_sends_nothing() -> None:
    http, seen = endpoint([tokens(1)])
    manager = TokenManager(None, http=http, token_url=TOKEN_URL, store=MemoryTokenStore(expired()))
    first = manager.force_refresh("access-0")
    again = manager.force_refresh("access-0")
    assert first.access_token == again.access_token == "access-1" and len(seen) == 1


def test_a_session_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.write_text(json.dumps(expired().to_json()))
    os.chmod(path, 0o644)
    warnings: List[str] = []
    assert FileTokenStore(path, on_warning=warnings.append).load() is not None
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and "readable by other users" in warnings[0]


def test_a_corrupt_session_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.write_text('{"access_token": ')
    warnings: List[str] = []
    assert FileTokenStore(path, on_warning=warnings.append).load() is None
    assert not path.exists() and len(list(tmp_path.glob("session.json.corrupt-*"))) == 1 and "not a session" in warnings[-1]


def test_the_lock_is_exclusive_between_holders(tmp_path: Path) -> None:
    first = FileTokenStore(tmp_path / "session.json", lock_timeout=0.2)
    second = FileTokenStore(tmp_path / "session.json", lock_timeout=0.2)
    with first.lock():
        with pytest.raises(Exception) as raised:
            with second.lock():
                pass
        assert getattr(raised.value, "code", None) == "ERR_STORE_LOCK_TIMEOUT"
    with second.lock():
        pass
