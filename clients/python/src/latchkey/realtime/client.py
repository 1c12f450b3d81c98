"""The realtime client: the Centrifugo JSON protocol over ``websockets``, with tokens from a string, a
``get_token`` coroutine or a token manager, in-band refresh before expiry, RPC and subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

import websockets

from ..auth.manager import AsyncTokenManager, TokenManager
from ..errors import LatchkeyError, NotLoggedInError, ReauthRequiredError
from .codes import ConnectingCode, DisconnectCode, DisconnectedCode, ErrorCode, reconnects
from .events import (
    ClientEventHandler,
    ConnectedContext,
    ConnectingContext,
    DisconnectedContext,
    ErrorContext,
    PublicationContext,
    SubscribedContext,
    SubscribingContext,
    SubscriptionEventHandler,
    UnsubscribedContext,
)

log = logging.getLogger("latchkey.realtime")

GetToken = Callable[[], Awaitable[str]]

DISCONNECTED = "disconnected"
CONNECTING = "connecting"
CONNECTED = "connected"
SUBSCRIBED = "subscribed"
SUBSCRIBING = "subscribing"
UNSUBSCRIBED = "unsubscribed"


class UnauthorizedError(Exception):
    """Raise from ``get_token`` to say "no token will come": the client stops instead of retrying."""


class ReplyError(LatchkeyError):
    """The gateway answered a command with an error (``error_code``, ``temporary``)."""

    code = "ERR_REALTIME_REPLY"

    def __init__(self, error_code: int, message: str, temporary: bool = False) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.temporary = temporary


class RealtimeAuthError(ReauthRequiredError):
    """The session cannot authenticate the connection any more: sign in again, then ``connect()``."""


class ConnectionLostError(LatchkeyError):
    """The connection closed before the command was answered, or the client is not connected."""

    code = "ERR_REALTIME_CONNECTION"


def tokens_from(manager: Union[TokenManager, AsyncTokenManager]) -> GetToken:
    """A ``get_token`` for a token manager. The first call returns the current token (refreshed if it is
    near expiry); later calls mean the gateway needs a new one (connection TTL, error 109, invalid token),
    so they refresh unless the manager already moved past the token last handed out. A session that
    ended becomes ``UnauthorizedError``."""
    last: List[str] = []

    async def get_token() -> str:
        try:
            if isinstance(manager, AsyncTokenManager):
                tokens = await (manager.force_refresh(last[-1]) if last else manager.get_tokens())
            else:
                call = (lambda: manager.force_refresh(last[-1])) if last else manager.get_tokens
                tokens = await asyncio.to_thread(call)
        except (ReauthRequiredError, NotLoggedInError) as error:
            raise UnauthorizedError(str(error)) from error
        last[:] = [tokens.access_token]
        return tokens.access_token

    return get_token


class _Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class _Stop(Exception):
    """Terminal: the client goes to ``disconnected`` with this code."""

    def __init__(self, code: int, reason: str, error: Optional[BaseException] = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.error = error


class Client:
    """A connection to the realtime gateway.

    >>> client = Client(ws_url, token=access_token, events=Handler())
    >>> await client.connect()
    >>> await client.ready()
    >>> result = await client.rpc("echo", {"hello": "world"})

    :param token: an access token. Without ``get_token`` it cannot be renewed: the connection ends when it expires.
    :param get_token: coroutine returning a new token; called for the first connect without ``token``, before
        the token expires (in-band ``refresh``), after error 109 and after an invalid-token close. Raise
        ``UnauthorizedError`` to stop. ``tokens_from(manager)`` builds one from a token manager.
    :param events: a ``ClientEventHandler``.
    :param max_invalid_token_reconnects: reconnects after an invalid-token close (3500), each with a new
        token, before the client stops and reports ``RealtimeAuthError``. Default 2.
    """

    def __init__(
        self,
        url: str,
        *,
        token: Optional[str] = None,
        get_token: Optional[GetToken] = None,
        events: Optional[ClientEventHandler] = None,
        name: str = "python",
        timeout: float = 10.0,
        min_reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 20.0,
        max_server_ping_delay: float = 10.0,
        max_invalid_token_reconnects: int = 2,
    ) -> None:
        if not url.startswith(("ws://", "wss://")):
            raise ValueError("url must be a ws:// or wss:// URL")
        if max_invalid_token_reconnects < 0:
            raise ValueError("max_invalid_token_reconnects must be >= 0")
        self.url = url
        self.name = name
        self.events = events or ClientEventHandler()
        self.timeout = timeout
        self.min_reconnect_delay = min_reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.max_server_ping_delay = max_server_ping_delay
        self.max_invalid_token_reconnects = max_invalid_token_reconnects
        self.state = DISCONNECTED
        self.client_id: Optional[str] = None
        self._token = token or ""
        self._get_token = get_token
        self._subscriptions: Dict[str, Subscription] = {}
        self._ws: Any = None
        self._task: Optional["asyncio.Task[None]"] = None
        self._refresh_task: Optional["asyncio.Task[None]"] = None
        self._pending: Dict[int, "asyncio.Future[Dict[str, Any]]"] = {}
        self._next_id = 0
        self._state_changed = asyncio.Event()
        self._last_disconnect: Optional[DisconnectedContext] = None
        self._last_session_connected = False
        self._ping_interval = 0.0
        self._send_pong = False
        self._last_frame = 0.0
        self._no_ping = False

    # ---- public API -------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Starts connecting (and reconnecting) in the background. ``ready()`` waits for the connection."""
        if self._task is not None and not self._task.done():
            return
        self._last_disconnect = None
        self._set_state(CONNECTING)
        self._task = asyncio.create_task(self._run())

    async def ready(self, timeout: Optional[float] = None) -> None:
        """Waits until connected; raises ``ConnectionLostError`` when the client stopped instead, or
        ``asyncio.TimeoutError`` after ``timeout`` seconds (default the command timeout)."""

        async def wait() -> None:
            while self.state != CONNECTED:
                if self.state == DISCONNECTED:
                    ended = self._last_disconnect
                    raise ConnectionLostError(f"disconnected ({ended.code} {ended.reason})" if ended else "not connected")
                await self._state_changed.wait()

        await asyncio.wait_for(wait(), self.timeout if timeout is None else timeout)

    async def disconnect(self) -> None:
        """Closes the connection and stops reconnecting."""
        task = self._task
        self._task = None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=self.timeout)
        was = self.state
        await self._close_transport()
        self._fail_pending(ConnectionLostError("client disconnected"))
        for subscription in self._subscriptions.values():
            subscription._transport_lost(DisconnectedCode.DISCONNECT_CALLED, "disconnect called")
        if was != DISCONNECTED:
            self._last_disconnect = DisconnectedContext(DisconnectedCode.DISCONNECT_CALLED, "disconnect called")
            self._set_state(DISCONNECTED)
            await self._emit(self.events.on_disconnected, self._last_disconnect)

    async def rpc(self, method: str, data: Any = None) -> Any:
        """Calls ``method`` on the gateway and returns the result's ``data``."""
        reply = await self._command({"rpc": {"method": method, "data": {} if data is None else data}})
        return reply.get("data")

    async def publish(self, channel: str, data: Any) -> None:
        """Publishes into ``channel`` (when the channel allows client publications)."""
        await self._command({"publish": {"channel": channel, "data": data}})

    def new_subscription(self, channel: str, events: Optional[SubscriptionEventHandler] = None) -> "Subscription":
        """A subscription to ``channel``; call ``await subscription.subscribe()``. Subscriptions are
        restored after reconnects."""
        if channel in self._subscriptions:
            raise ValueError(f"already subscribed to {channel}")
        subscription = Subscription(self, channel, events or SubscriptionEventHandler())
        self._subscriptions[channel] = subscription
        return subscription

    def get_subscription(self, channel: str) -> Optional["Subscription"]:
        return self._subscriptions.get(channel)

    # ---- connection loop --------------------------------------------------------------------------------

    async def _run(self) -> None:
        code, reason = int(ConnectingCode.CONNECT_CALLED), "connect called"
        attempt = 0
        invalid_token_closes = 0
        while True:
            self._set_state(CONNECTING)
            await self._emit(self.events.on_connecting, ConnectingContext(code, reason))
            stop: Optional[_Stop] = None
            try:
                await self._session()
            except _Stop as raised:
                stop = raised
            except _Closed as closed:
                code, reason = closed.code, closed.reason
            except asyncio.CancelledError:
                await self._end_transport()
                raise
            except Exception as error:  # the transport could not open, the token source failed for now…
                await self._emit(self.events.on_error, ErrorContext(error))
                code, reason = int(ConnectingCode.TRANSPORT_CLOSED), "transport closed"
            await self._end_transport()

            if stop is None and code == DisconnectCode.SESSION_ENDED:
                self._token = ""
                reason = reason or "session ended"
                stop = _Stop(code, reason, RealtimeAuthError(f"the gateway ended the session ({reason})"))
            elif stop is None and code == DisconnectCode.INVALID_TOKEN:
                if self._get_token is None or invalid_token_closes >= self.max_invalid_token_reconnects:
                    stop = _Stop(code, reason, RealtimeAuthError(f"the gateway rejected the token {invalid_token_closes + 1} times in a row ({reason})"))
                else:
                    invalid_token_closes += 1
                    self._token = ""
                    continue  # at once, with a new token
            elif stop is None and code >= 3000 and not reconnects(code):
                stop = _Stop(code, reason)
            if stop is not None:
                await self._stop(stop)
                return

            if code in (DisconnectCode.CONNECTION_EXPIRED, DisconnectCode.STATE_INVALIDATED, ErrorCode.TOKEN_EXPIRED):
                self._token = ""  # the next connect asks get_token for a new one
            if self._last_session_connected:
                attempt = 0
                invalid_token_closes = 0
            if code == ErrorCode.TOKEN_EXPIRED and attempt == 0:
                attempt += 1
                continue  # expired at connect: straight back with a new token
            for subscription in self._subscriptions.values():
                subscription._transport_lost(code, reason)
            delay = min(self.max_reconnect_delay, self.min_reconnect_delay * 2**attempt)
            attempt += 1
            await asyncio.sleep(random.uniform(delay / 2, delay))

    async def _end_transport(self) -> None:
        self._cancel_refresh()
        await self._close_transport()
        self._fail_pending(ConnectionLostError("connection closed"))

    async def _session(self) -> None:
        """One connection: open, authenticate, serve until it closes (raises ``_Closed``) or must stop
        (raises ``_Stop``)."""
        self._last_session_connected = False
        self._ping_interval = 0.0
        token = await self._token_for_connect()
        ws = await websockets.connect(self.url, open_timeout=self.timeout, ping_interval=None, close_timeout=2, max_size=None)
        self._ws = ws
        reader = asyncio.create_task(self._read(ws))
        try:
            command: Dict[str, Any] = {"name": self.name}
            if token:
                command["token"] = token
            try:
                result = await self._call({"connect": command}, wait_reader=reader)
            except ReplyError as error:
                if error.error_code == ErrorCode.TOKEN_EXPIRED:
                    raise _Closed(ErrorCode.TOKEN_EXPIRED, "token expired") from error
                if error.temporary:
                    raise _Closed(ConnectingCode.TRANSPORT_CLOSED, str(error)) from error
                raise _Stop(error.error_code, error.message, error) from error
            self.client_id = result.get("client")
            self._ping_interval = float(result.get("ping") or 0)
            self._send_pong = bool(result.get("pong"))
            self._last_session_connected = True
            self._set_state(CONNECTED)
            if result.get("expires"):
                self._schedule_refresh(float(result.get("ttl") or 0))
            await self._emit(self.events.on_connected, ConnectedContext(result.get("client", ""), result.get("version", ""), result.get("data")))
            for subscription in list(self._subscriptions.values()):
                if subscription._wanted:
                    subscription._start()
            await reader
        finally:
            if not reader.done():
                reader.cancel()
                await asyncio.wait([reader], timeout=self.timeout)
            if reader.done() and not reader.cancelled():
                reader.exception()  # retrieved: the close was handled above
        raise _Closed(1006, "transport closed")

    async def _token_for_connect(self) -> str:
        if self._token or self._get_token is None:
            return self._token
        try:
            self._token = await self._get_token()
        except UnauthorizedError as error:
            raise _Stop(DisconnectedCode.UNAUTHORIZED, "unauthorized", RealtimeAuthError(str(error) or "unauthorized")) from error
        return self._token

    async def _read(self, ws: Any) -> None:
        """Reads frames until the socket closes; raises ``_Closed`` with the close code. When the server
        announced pings and none comes within ``ping + max_server_ping_delay`` the connection is closed
        and reported as "no ping"."""
        loop = asyncio.get_running_loop()
        self._last_frame = loop.time()
        self._no_ping = False
        watchdog = asyncio.create_task(self._watch_pings(ws))
        try:
            while True:
                frame = await ws.recv()
                self._last_frame = loop.time()
                if isinstance(frame, bytes):
                    frame = frame.decode("utf-8")
                for line in frame.strip().split("\n"):
                    if line.strip():
                        await self._dispatch(ws, json.loads(line))
        except websockets.ConnectionClosed:
            if self._no_ping:
                raise _Closed(ConnectingCode.NO_PING, "no ping") from None
            code = ws.close_code if ws.close_code is not None else 1006
            raise _Closed(code, ws.close_reason or "") from None
        finally:
            watchdog.cancel()

    async def _watch_pings(self, ws: Any) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            if self._ping_interval and loop.time() - self._last_frame > self._ping_interval + self.max_server_ping_delay:
                self._no_ping = True
                await ws.close(1000, "no ping")
                return

    async def _dispatch(self, ws: Any, reply: Dict[str, Any]) -> None:
        if not reply:  # server ping
            if self._send_pong:
                await ws.send("{}")
            return
        reply_id = reply.get("id") or 0
        if reply_id:
            future = self._pending.pop(reply_id, None)
            if future is not None and not future.done():
                future.set_result(reply)
            return
        push = reply.get("push")
        if isinstance(push, dict):
            subscription = self._subscriptions.get(push.get("channel", ""))
            if subscription is not None:
                await subscription._push(push)

    # ---- commands ---------------------------------------------------------------------------------------

    async def _command(self, body: Dict[str, Any]) -> Dict[str, Any]:
        """Sends ``body`` once connected (waiting up to the timeout) and returns the result."""
        if self.state != CONNECTED:
            try:
                await self.ready()
            except asyncio.TimeoutError:
                raise ConnectionLostError("not connected") from None
        return await self._call(body)

    async def _call(self, body: Dict[str, Any], *, wait_reader: Optional["asyncio.Task[None]"] = None) -> Dict[str, Any]:
        ws = self._ws
        if ws is None:
            raise ConnectionLostError("not connected")
        self._next_id += 1
        command_id = self._next_id
        future: "asyncio.Future[Dict[str, Any]]" = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        try:
            await ws.send(json.dumps({"id": command_id, **body}))
            waiters: List["asyncio.Future[Any]"] = [future] if wait_reader is None else [future, wait_reader]
            done, _ = await asyncio.wait(waiters, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED)
            if future not in done:
                if wait_reader is not None and wait_reader in done:
                    wait_reader.result()  # raises _Closed with the close code
                raise ConnectionLostError("timed out waiting for the gateway's reply")
            reply = future.result()
        except websockets.ConnectionClosed:
            raise ConnectionLostError("connection closed") from None
        finally:
            self._pending.pop(command_id, None)
        error = reply.get("error")
        if error:
            raise ReplyError(int(error.get("code", 0)), str(error.get("message", "")), bool(error.get("temporary")))
        key = next(iter(body))
        result = reply.get(key)
        return result if isinstance(result, dict) else {}

    # ---- in-band refresh --------------------------------------------------------------------------------

    def _schedule_refresh(self, ttl: float) -> None:
        self._cancel_refresh()
        self._refresh_task = asyncio.create_task(self._refresh(ttl))

    def _cancel_refresh(self) -> None:
        task = self._refresh_task
        self._refresh_task = None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    async def _refresh(self, ttl: float) -> None:
        """Sends ``refresh`` with a new token before the connection's token expires."""
        await asyncio.sleep(max(0.0, ttl - min(10.0, ttl * 0.2)))
        attempt = 0
        while self.state == CONNECTED:
            if self._get_token is None:
                return  # nothing to refresh with: the gateway will close the connection at expiry
            try:
                token = await self._get_token()
                result = await self._call({"refresh": {"token": token}})
            except UnauthorizedError as error:
                await self._emit(self.events.on_error, ErrorContext(RealtimeAuthError(str(error) or "unauthorized")))
                await self._terminate(DisconnectedCode.UNAUTHORIZED, "unauthorized")
                return
            except ReplyError as error:
                if not error.temporary:
                    self._token = ""  # reconnect with a new token
                    await self._close_transport(DisconnectCode.CONNECTION_EXPIRED, "refresh failed")
                    return
                await self._emit(self.events.on_error, ErrorContext(error, error.error_code))
            except ConnectionLostError:
                return
            except Exception as error:  # the token source is unavailable for now
                await self._emit(self.events.on_error, ErrorContext(error))
            else:
                self._token = token
                if result.get("expires"):
                    self._refresh_task = asyncio.create_task(self._refresh(float(result.get("ttl") or 0)))
                return
            attempt += 1
            await asyncio.sleep(min(self.max_reconnect_delay, self.min_reconnect_delay * 2**attempt))

    # ---- helpers ----------------------------------------------------------------------------------------

    async def _terminate(self, code: int, reason: str) -> None:
        """Stops from inside (the refresh task): the connection loop ends with ``code``."""
        task = self._task
        self._task = None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=self.timeout)
        await self._close_transport()
        self._fail_pending(ConnectionLostError("client stopped"))
        await self._stop(_Stop(code, reason))

    async def _stop(self, stop: _Stop) -> None:
        if stop.error is not None:
            await self._emit(self.events.on_error, ErrorContext(stop.error, stop.code))
        for subscription in self._subscriptions.values():
            subscription._transport_lost(stop.code, stop.reason)
        self._last_disconnect = DisconnectedContext(stop.code, stop.reason)
        self._set_state(DISCONNECTED)
        await self._emit(self.events.on_disconnected, self._last_disconnect)

    async def _close_transport(self, code: int = 1000, reason: str = "") -> None:
        ws = self._ws
        self._ws = None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close(code, reason)

    def _fail_pending(self, error: Exception) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)
                future.exception()  # its caller may be gone: not an unretrieved error

    def _set_state(self, state: str) -> None:
        self.state = state
        self._state_changed.set()
        self._state_changed = asyncio.Event()

    async def _emit(self, handler: Callable[[Any], Awaitable[None]], ctx: Any) -> None:
        try:
            await handler(ctx)
        except Exception:  # a failing handler must not break the connection
            log.exception("realtime event handler failed")


class Subscription:
    """A channel subscription of a ``Client``; restored after reconnects."""

    def __init__(self, client: Client, channel: str, events: SubscriptionEventHandler) -> None:
        self.client = client
        self.channel = channel
        self.events = events
        self.state = UNSUBSCRIBED
        self._wanted = False
        self._task: Optional["asyncio.Task[None]"] = None
        self._changed = asyncio.Event()

    async def subscribe(self) -> None:
        """Subscribes now if connected, otherwise as soon as the client connects."""
        self._wanted = True
        if self.state == UNSUBSCRIBED:
            self._set(SUBSCRIBING)
            await self.client._emit(self.events.on_subscribing, SubscribingContext(self.channel, 0, "subscribe called"))
        if self.client.state == CONNECTED:
            self._start()

    async def ready(self, timeout: float = 10.0) -> None:
        """Waits until subscribed."""

        async def wait() -> None:
            while self.state != SUBSCRIBED:
                if self.state == UNSUBSCRIBED:
                    raise ConnectionLostError(f"not subscribed to {self.channel}")
                changed = self._changed
                await changed.wait()

        await asyncio.wait_for(wait(), timeout)

    async def unsubscribe(self) -> None:
        self._wanted = False
        if self._task is not None:
            self._task.cancel()
        if self.client.state == CONNECTED and self.state == SUBSCRIBED:
            with contextlib.suppress(LatchkeyError):
                await self.client._call({"unsubscribe": {"channel": self.channel}})
        self._set(UNSUBSCRIBED)
        await self.client._emit(self.events.on_unsubscribed, UnsubscribedContext(self.channel, 0, "unsubscribe called"))

    async def publish(self, data: Any) -> None:
        await self.client.publish(self.channel, data)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._subscribe())

    async def _subscribe(self) -> None:
        try:
            result = await self.client._call({"subscribe": {"channel": self.channel}})
        except ReplyError as error:
            await self.client._emit(self.events.on_error, ErrorContext(error, error.error_code))
            if not error.temporary:
                self._wanted = False
                self._set(UNSUBSCRIBED)
                await self.client._emit(self.events.on_unsubscribed, UnsubscribedContext(self.channel, error.error_code, error.message))
            return
        except ConnectionLostError:
            return  # resubscribed on the next connect
        self._set(SUBSCRIBED)
        await self.client._emit(self.events.on_subscribed, SubscribedContext(self.channel, result.get("data")))
        for publication in result.get("publications") or []:
            await self._publication(publication)

    async def _push(self, push: Dict[str, Any]) -> None:
        if "pub" in push:
            await self._publication(push["pub"])
        elif "unsubscribe" in push:
            body = push["unsubscribe"] or {}
            code = int(body.get("code", 0))
            reason = str(body.get("reason", ""))
            if code >= 2500 and self._wanted:
                self._set(SUBSCRIBING)
                await self.client._emit(self.events.on_subscribing, SubscribingContext(self.channel, code, reason))
                self._start()
            else:
                self._wanted = False
                self._set(UNSUBSCRIBED)
                await self.client._emit(self.events.on_unsubscribed, UnsubscribedContext(self.channel, code, reason))

    async def _publication(self, pub: Dict[str, Any]) -> None:
        ctx = PublicationContext(self.channel, pub.get("data"), pub.get("offset"), pub.get("info"), pub.get("tags") or {})
        await self.client._emit(self.events.on_publication, ctx)

    def _transport_lost(self, code: int, reason: str) -> None:
        """The connection is gone: a wanted subscription waits (``subscribing``) to be restored."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._wanted and self.state != SUBSCRIBING:
            self._set(SUBSCRIBING)
            asyncio.ensure_future(self.client._emit(self.events.on_subscribing, SubscribingContext(self.channel, code, reason)))

    def _set(self, state: str) -> None:
        self.state = state
        self._changed.set()
        self._changed = asyncio.Event()

