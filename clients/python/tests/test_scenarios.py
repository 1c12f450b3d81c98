"""The shared client scenarios (clients/scenarios/scenarios.json) against a live server."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List

import httpx
import pytest

from conftest import SCENARIOS, Servers
from latchkey import (
    AsyncTokenManager,
    FileTokenStore,
    LatchkeyApi,
    MemoryTokenStore,
    ReauthRequiredError,
    RetryPolicy,
    TokenEndpointUnavailableError,
    TokenManager,
)
from latchkey.realtime import Client, ClientEventHandler, SubscriptionEventHandler, tokens_from

CHILD = str(Path(__file__).with_name("child.py"))
PYTHON = sys.executable


def signed_in(server: Any, **options: Any) -> LatchkeyApi:
    user = server.create_user()
    api = LatchkeyApi(server.url, anon_key=server.anon_key, **options)
    api.auth.login(email=user["email"], password=user["password"])
    api.user_record = user  # type: ignore[attr-defined]
    return api


def near_expiry(api: LatchkeyApi) -> None:
    """Moves the stored access token inside the expiry skew, so the next caller must refresh."""
    tokens = api.tokens.peek()
    assert tokens is not None
    api.tokens.set_tokens(tokens.replace(access_expires_at=time.time() + 5))


def scenario_login(case: Dict[str, Any], servers: Servers) -> None:
    server = servers[case["server"]]
    expect = case["expect"]
    user = server.create_user()
    api = LatchkeyApi(server.url, anon_key=server.anon_key)
    before = server.token_requests()
    session = api.auth.login(email=user["email"], password=user["password"])
    assert server.token_requests() - before == expect["login_token_requests"]
    assert session.user is not None and session.user["email"] == user["email"]
    assert api.tokens.store.load() == session.tokens
    assert api.auth.user()["id"] == user["id"]

    before = server.token_requests()
    rotated = api.auth.refresh_token()
    assert server.token_requests() - before == expect["refresh_token_requests"]
    assert rotated.access_token != session.tokens.access_token
    assert rotated.refresh_token != session.tokens.refresh_token
    assert api.auth.user()["id"] == user["id"]

    api.auth.logout()
    assert expect["store_after_logout"] == "empty" and api.tokens.store.load() is None
    # The ended session's refresh token is refused by the server.
    spent = httpx.post(f"{server.url}/auth/v1/token?grant_type=refresh_token", headers={"apikey": server.anon_key}, json={"refresh_token": rotated.refresh_token})
    assert spent.status_code == 400


def scenario_concurrent_refresh(case: Dict[str, Any], servers: Servers) -> None:
    server = servers[case["server"]]
    callers, expect = case["callers"], case["expect"]

    # Threads sharing one TokenManager.
    api = signed_in(server)
    old = api.tokens.peek()
    near_expiry(api)
    barrier = threading.Barrier(callers)

    def call() -> str:
        barrier.wait()
        return api.tokens.authorization_header()

    before = server.token_requests()
    with ThreadPoolExecutor(callers) as pool:
        headers = list(pool.map(lambda _: call(), range(callers)))
    assert server.token_requests() - before == expect["token_requests"]
    assert len(set(headers)) == expect["distinct_tokens"]
    assert headers[0] != old.authorization_header  # type: ignore[union-attr]

    # Tasks sharing one AsyncTokenManager.
    near_expiry(api)
    stored = api.tokens.peek()

    async def tasks() -> List[str]:
        async with httpx.AsyncClient() as http:
            manager = AsyncTokenManager(None, http=http, token_url=f"{server.url}/auth/v1/token", protocol="gotrue", api_key=server.anon_key, store=MemoryTokenStore(stored))
            return await asyncio.gather(*(manager.authorization_header() for _ in range(callers)))

    before = server.token_requests()
    headers = asyncio.run(tasks())
    assert server.token_requests() - before == expect["token_requests"]
    assert len(set(headers)) == expect["distinct_tokens"]
    assert headers[0] != stored.authorization_header  # type: ignore[union-attr]


def scenario_unauthorized_forces_one_refresh(case: Dict[str, Any], servers: Servers) -> None:
    server = servers[case["server"]]
    callers, expect = case["callers"], case["expect"]
    api = signed_in(server)
    tokens = api.tokens.peek()
    assert tokens is not None
    # Locally valid for an hour, refused by the resource server.
    api.tokens.set_tokens(tokens.replace(access_token="rejected.by.server", access_expires_at=time.time() + 3600))
    barrier = threading.Barrier(callers)

    def call() -> int:
        barrier.wait()
        return api.request("GET", case["resource"]).status_code

    before = server.token_requests()
    with ThreadPoolExecutor(callers) as pool:
        statuses = list(pool.map(lambda _: call(), range(callers)))
    assert server.token_requests() - before == expect["token_requests"]
    assert statuses == [expect["status"]] * callers
    assert api.tokens.peek().access_token != "rejected.by.server"  # type: ignore[union-attr]


def scenario_permanent_failure_clears_store(case: Dict[str, Any], servers: Servers, tmp_path: Path) -> None:
    server = servers[case["server"]]
    expect = case["expect"]
    store = FileTokenStore(tmp_path / "session.json")
    api = signed_in(server, store=store)
    tokens = api.tokens.peek()
    assert tokens is not None
    # Signed out everywhere from another device.
    ended = httpx.post(f"{server.url}/auth/v1/logout?scope=global", headers={"apikey": server.anon_key, "authorization": tokens.authorization_header})
    assert ended.status_code == 204
    near_expiry(api)
    before = server.token_requests()
    with pytest.raises(ReauthRequiredError) as raised:
        api.tokens.authorization_header()
    assert expect["error"] == "reauth_required" and raised.value.code == "ERR_REAUTH_REQUIRED"
    assert server.token_requests() - before == expect["token_requests"]
    assert expect["store_after"] == "empty" and store.load() is None and not os.path.exists(store.path)


def scenario_transient_failure_keeps_session(case: Dict[str, Any], servers: Servers) -> None:
    server = servers[case["server"]]
    expect = case["expect"]
    api = signed_in(server)
    near_expiry(api)
    session = api.tokens.peek()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    store = MemoryTokenStore(session)
    manager = TokenManager(
        None,
        token_url=f"http://127.0.0.1:{closed_port}/auth/v1/token",
        protocol="gotrue",
        store=store,
        retry=RetryPolicy(attempts=case["attempts"], base_delay=0.01),
    )
    # Still valid (within the skew only): the refresh failed, the token is kept and returned.
    assert manager.authorization_header() == session.authorization_header  # type: ignore[union-attr]
    assert manager.token_requests == case["attempts"]
    # Expired: the failure is reported, the session stays stored.
    store.save(session.replace(access_expires_at=time.time() - 1))  # type: ignore[union-attr]
    expired = TokenManager(None, token_url=manager.endpoint.url, protocol="gotrue", store=store, retry=RetryPolicy(attempts=case["attempts"], base_delay=0.01))
    with pytest.raises(TokenEndpointUnavailableError) as raised:
        expired.authorization_header()
    assert expect["error"] == "token_endpoint_unavailable" and raised.value.code == "ERR_TOKEN_ENDPOINT_UNAVAILABLE"
    assert expired.token_requests == case["attempts"]
    assert expect["store_after"] == "kept" and store.load() is not None


def scenario_file_store(case: Dict[str, Any], servers: Servers, tmp_path: Path) -> None:
    server = servers[case["server"]]
    expect = case["expect"]
    path = tmp_path / "private" / "session.json"
    store = FileTokenStore(path)
    api = signed_in(server, store=store)
    assert oct(stat.S_IMODE(os.stat(path).st_mode)) == oct(int(expect["file_mode"], 8))
    assert oct(stat.S_IMODE(os.stat(path.parent).st_mode)) == oct(int(expect["dir_mode"], 8))
    assert json.loads(path.read_text())["refresh_token"] == api.tokens.peek().refresh_token  # type: ignore[union-attr]

    # Atomic writes: another process rewrites the file while this one reads it.
    scratch = tmp_path / "atomic" / "session.json"
    FileTokenStore(scratch).save(api.tokens.peek())  # type: ignore[arg-type]
    writer = subprocess.Popen([PYTHON, CHILD, "write-loop", str(scratch), "3"], stdout=subprocess.PIPE, text=True)
    torn = 0
    for _ in range(case["reads"]):
        try:
            json.loads(scratch.read_text())["access_token"]
        except (ValueError, KeyError, FileNotFoundError):
            torn += 1
        time.sleep(0.002)
    writes = int(writer.communicate(timeout=30)[0])
    assert writes > 10
    assert torn == expect["torn_reads"]

    # Cross-process lock: processes sharing the file refresh an expired token once between them.
    near_expiry(api)
    go = tmp_path / "go"
    children = [
        subprocess.Popen([PYTHON, CHILD, "refresh", str(path), f"{server.url}/auth/v1/token", server.anon_key, str(go)], stdout=subprocess.PIPE, text=True)
        for _ in range(case["processes"])
    ]
    time.sleep(1.0)  # let every process start and wait for the signal
    before = server.token_requests()
    go.write_text("go")
    headers = [child.communicate(timeout=60)[0].strip() for child in children]
    assert all(child.returncode == 0 for child in children)
    assert server.token_requests() - before == expect["token_requests"]
    assert len(set(headers)) == expect["distinct_tokens"]
    assert headers[0] == store.load().authorization_header  # type: ignore[union-attr]


def scenario_realtime_inband_refresh(case: Dict[str, Any], servers: Servers) -> None:
    server = servers[case["server"]]
    expect = case["expect"]
    api = signed_in(server, expiry_skew=1)
    user_id = api.user_record["id"]  # type: ignore[attr-defined]
    asyncio.run(_realtime(server, api, user_id, case, expect))


async def _realtime(server: Any, api: LatchkeyApi, user_id: str, case: Dict[str, Any], expect: Dict[str, Any]) -> None:
    log: List[str] = []
    received: List[Any] = []
    issued: List[str] = []

    class Events(ClientEventHandler):
        async def on_connecting(self, ctx: Any) -> None:
            log.append(f"connecting {ctx.code}")

        async def on_connected(self, ctx: Any) -> None:
            log.append("connected")

        async def on_disconnected(self, ctx: Any) -> None:
            log.append(f"disconnected {ctx.code}")

        async def on_error(self, ctx: Any) -> None:
            log.append(f"error {ctx.error!r}")

    class Channel(SubscriptionEventHandler):
        async def on_publication(self, ctx: Any) -> None:
            received.append(ctx.data)

    source = tokens_from(api.tokens)

    async def get_token() -> str:
        token = await source()
        issued.append(token)
        return token

    client = Client(server.ws_url, get_token=get_token, events=Events())
    subscription = client.new_subscription(f"user:#{user_id}", events=Channel())
    await client.connect()
    try:
        await client.ready(10)
        await subscription.subscribe()
        await subscription.ready(10)
        for n in range(1, case["rotations"] + 1):
            await _until(lambda: len(issued) > n, timeout=15)
            await asyncio.sleep(0.3)  # let the refresh command land
            server.publish(f"user:#{user_id}", {"n": n})
            await _until(lambda: len(received) == n, timeout=10)
        # One more expiry of the token just sent: the connection is still refreshed, not closed.
        await _until(lambda: len(issued) > case["rotations"] + 1, timeout=15)
        rpc = case["rpc"]
        answer = await client.rpc(rpc["method"], rpc["data"])
        assert answer == {"method": rpc["method"], "user": user_id, "data": rpc["data"]}
        assert received == [{"n": n} for n in range(1, case["rotations"] + 1)]
        assert len(set(issued)) == len(issued)
        assert log.count("connected") == expect["connects"]
        assert [entry for entry in log if not entry.startswith("connecting 0") and entry != "connected"] == []
        assert sum(entry.startswith("disconnected") for entry in log) == expect["disconnects"]
        assert client.state == "connected" and subscription.state == "subscribed"
    finally:
        await client.disconnect()


async def _until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


class _Recorder(ClientEventHandler):
    """Records connection events as "connecting <code>", "connected", "disconnected <code>", "reauth"."""

    def __init__(self) -> None:
        self.log: List[str] = []

    async def on_connecting(self, ctx: Any) -> None:
        self.log.append(f"connecting {ctx.code}")

    async def on_connected(self, ctx: Any) -> None:
        self.log.append("connected")

    async def on_disconnected(self, ctx: Any) -> None:
        self.log.append(f"disconnected {ctx.code}")

    async def on_error(self, ctx: Any) -> None:
        self.log.append("reauth" if isinstance(ctx.error, ReauthRequiredError) else f"error {ctx.error!r}")

    def closes(self, code: int) -> int:
        return sum(entry in (f"connecting {code}", f"disconnected {code}") for entry in self.log)


def _connect_once(server: Any, api: LatchkeyApi) -> "tuple[_Recorder, int]":
    """Connects a realtime client on ``api``'s tokens until connected, then disconnects; returns its events
    and the token requests the server answered meanwhile."""

    async def run() -> _Recorder:
        events = _Recorder()
        client = Client(server.ws_url, get_token=tokens_from(api.tokens), events=events, min_reconnect_delay=0.05)
        await client.connect()
        try:
            await client.ready(15)
        finally:
            await client.disconnect()
        return events

    before = server.token_requests()
    events = asyncio.run(run())
    return events, server.token_requests() - before


def scenario_realtime_invalid_token(case: Dict[str, Any], servers: Servers) -> None:
    server = servers[case["server"]]
    expect = case["expect"]
    api = signed_in(server)
    tokens = api.tokens.peek()
    assert tokens is not None
    api.tokens.set_tokens(tokens.replace(access_token="refused.by.gateway", access_expires_at=time.time() + 3600))

    events, token_requests = _connect_once(server, api)
    assert token_requests == expect["token_requests"]
    assert events.closes(expect["close_code"]) == expect["closes"]
    assert events.log.count("connected") == expect["connects"]
    assert ("reauth" in events.log) == expect["reauth_reported"]
    assert api.tokens.peek().access_token != "refused.by.gateway"  # type: ignore[union-attr]


def scenario_realtime_session_ended(case: Dict[str, Any], servers: Servers) -> None:
    server = servers[case["server"]]
    expect = case["expect"]
    api = signed_in(server)

    async def run() -> _Recorder:
        events = _Recorder()
        client = Client(server.ws_url, get_token=tokens_from(api.tokens), events=events, min_reconnect_delay=0.05)
        await client.connect()
        await client.ready(10)
        tokens = api.tokens.peek()
        async with httpx.AsyncClient() as http:
            ended = await http.post(f"{server.url}/auth/v1/logout?scope=global", headers={"apikey": server.anon_key, "authorization": tokens.authorization_header})  # type: ignore[union-attr]
        assert ended.status_code == 204
        await _until(lambda: client.state == "disconnected", timeout=10)
        await asyncio.sleep(case["wait_ms"] / 1000)  # time enough for a reconnect, were one coming
        assert client.state == expect["state_after"]
        await client.disconnect()
        return events

    events = asyncio.run(run())
    assert events.closes(expect["close_code"]) == 1
    assert ("reauth" in events.log) == expect["reauth_reported"]
    assert events.log.count("connected") == expect["connects"]
    assert events.log == ["connecting 0", "connected", "reauth", f"disconnected {expect['close_code']}"]


def scenario_realtime_expired_at_connect(case: Dict[str, Any], servers: Servers) -> None:
    server = servers[case["server"]]
    expect = case["expect"]
    api = signed_in(server)
    stale = api.tokens.peek()
    assert stale is not None and stale.access_expires_at is not None
    time.sleep(max(0.0, stale.access_expires_at - time.time()) + 1)  # expired for the gateway
    api.tokens.set_tokens(stale.replace(access_expires_at=time.time() + 3600))  # a client clock running behind

    events, token_requests = _connect_once(server, api)
    assert token_requests == expect["token_requests"]
    assert events.log[:3] == ["connecting 0", f"connecting {expect['error_code']}", "connected"]
    assert events.log.count("connected") == expect["connects"]
    assert ("reauth" in events.log) == expect["reauth_reported"]
    assert api.tokens.peek().access_token != stale.access_token  # type: ignore[union-attr]


IMPLEMENTATIONS: Dict[str, Callable[..., None]] = {
    "login": scenario_login,
    "concurrent_refresh": scenario_concurrent_refresh,
    "unauthorized_forces_one_refresh": scenario_unauthorized_forces_one_refresh,
    "permanent_failure_clears_store": scenario_permanent_failure_clears_store,
    "transient_failure_keeps_session": scenario_transient_failure_keeps_session,
    "file_store": scenario_file_store,
    "realtime_inband_refresh": scenario_realtime_inband_refresh,
    "realtime_invalid_token": scenario_realtime_invalid_token,
    "realtime_session_ended": scenario_realtime_session_ended,
    "realtime_expired_at_connect": scenario_realtime_expired_at_connect,
}


@pytest.mark.parametrize("case", SCENARIOS["scenarios"], ids=[case["id"] for case in SCENARIOS["scenarios"]])
def test_scenario(case: Dict[str, Any], servers: Servers, tmp_path: Path) -> None:
    implementation = IMPLEMENTATIONS.get(case["id"])
    assert implementation is not None, f"no Python implementation of scenario {case['id']}"
    if "tmp_path" in implementation.__code__.co_varnames[: implementation.__code__.co_argcount]:
        implementation(case, servers, tmp_path)
    else:
        implementation(case, servers)
