"""``TokenManager`` (threads, on ``httpx.Client``) and ``AsyncTokenManager`` (asyncio tasks, on
``httpx.AsyncClient``): keep one session's access token valid, with one refresh at a time.

Both run the same session logic (``_Session``), written once as generators that yield the I/O they need
(load, save, clear, send a grant, sleep); each manager performs that I/O its own way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Generator, Mapping, Optional, Union

import httpx

from ..errors import (
    NotLoggedInError,
    ReauthRequiredError,
    TokenEndpointError,
    TokenEndpointUnavailableError,
)
from .endpoint import SESSION_ENDED_ERRORS, Grant, GrantResult, TokenEndpoint, build_request, process_response
from .providers import AuthProvider, refresh_grant
from .store import MemoryTokenStore, TokenStore
from .tokens import TokenSet

__all__ = ["TokenManager", "AsyncTokenManager", "RetryPolicy", "GrantResult", "TokenSet"]


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient token endpoint failures (network errors, 5xx, 408, 409, 429).

    :param attempts: tries per refresh, the first included. Default 4.
    :param base_delay: backoff base in seconds; attempt n waits a random time up to ``base_delay * 2**n``. Default 0.2.
    :param max_delay: backoff cap in seconds. Default 5.
    :param max_retry_after: a ``Retry-After`` longer than this (seconds) is not waited for. Default 30.
    """

    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    max_retry_after: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.attempts, int) or self.attempts < 1:
            raise ValueError("attempts must be an integer >= 1")
        for name in ("base_delay", "max_delay", "max_retry_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    def delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff, so clients that failed together do not retry together."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** max(0, attempt)))


# The I/O the session logic asks for.
@dataclass(frozen=True)
class _Load:
    pass


@dataclass(frozen=True)
class _Save:
    tokens: TokenSet


@dataclass(frozen=True)
class _Clear:
    pass


@dataclass(frozen=True)
class _Send:
    grant: Grant


@dataclass(frozen=True)
class _Sleep:
    seconds: float


_Effect = Union[_Load, _Save, _Clear, _Send, _Sleep]
_Steps = Generator[_Effect, Any, Any]
_UNLOADED: Any = object()


@dataclass
class _Cooldown:
    refresh_token: Optional[str]
    until: float
    error: TokenEndpointUnavailableError


class _Session:
    """The decisions of a token manager, free of I/O. Not thread-safe by itself: the managers run one
    ``renew`` at a time."""

    def __init__(self, provider: Optional[AuthProvider], skew: float, retry: RetryPolicy, failure_cooldown: float, clock: Callable[[], float]) -> None:
        self.provider = provider
        self.skew = skew
        self.retry = retry
        self.failure_cooldown = failure_cooldown
        self.clock = clock
        self.cached: Optional[TokenSet] = _UNLOADED
        self.provider_used = False
        self.cooldown: Optional[_Cooldown] = None

    def load(self) -> _Steps:
        self.cached = yield _Load()
        return self.cached

    def grant_with_retry(self, grant: Grant) -> _Steps:
        attempt = 0
        while True:
            try:
                return (yield _Send(grant))
            except TokenEndpointUnavailableError as error:
                if attempt + 1 >= self.retry.attempts:
                    raise
                delay = error.retry_after if error.retry_after is not None else self.retry.delay(attempt)
                if delay > self.retry.max_retry_after:
                    raise
                attempt += 1
                yield _Sleep(delay)

    def login(self, provider: AuthProvider) -> _Steps:
        result: GrantResult = yield from self.grant_with_retry(provider.grant_fields())
        yield _Save(result.tokens)
        self.cached = result.tokens
        self.cooldown = None
        if provider is self.provider:
            self.provider_used = True
        return result

    def adopt(self, tokens: TokenSet) -> _Steps:
        yield _Save(tokens)
        self.cached = tokens
        self.cooldown = None

    def forget(self) -> _Steps:
        yield _Clear()
        self.cached = None
        self.cooldown = None

    def end_session(self, error: ReauthRequiredError) -> _Steps:
        yield from self.forget()
        raise error

    def renew(self, rejected: Optional[str]) -> _Steps:
        """Runs inside the store's lock: reload, then refresh only if still needed."""
        stored: Optional[TokenSet] = yield from self.load()
        now = self.clock()
        if stored is not None and stored.access_valid(self.skew, now) and stored.access_token != rejected:
            return stored

        cooldown = self.cooldown
        if stored is not None and cooldown is not None and cooldown.refresh_token == stored.refresh_token and now < cooldown.until:
            if stored.access_valid(0, now) and stored.access_token != rejected:
                return stored
            raise cooldown.error

        provider = self.provider
        can_use_provider = provider is not None and (provider.can_reauthenticate or (not self.provider_used and stored is None))
        if stored is not None and stored.refresh_token is not None and stored.refresh_valid(self.skew, now):
            grant = refresh_grant(stored.refresh_token, provider.client_id if provider else None)
            from_store = True
        elif can_use_provider:
            assert provider is not None
            grant = provider.grant_fields()
            from_store = False
        elif stored is not None:
            why = "the access token expired and there is no refresh token" if stored.refresh_token is None else "the refresh token has expired"
            return (yield from self.end_session(ReauthRequiredError(f"{why}; sign in again")))
        else:
            raise NotLoggedInError()

        try:
            result: GrantResult = yield from self.grant_with_retry(grant)
        except TokenEndpointUnavailableError as error:
            wait = max(self.failure_cooldown, error.retry_after or 0)
            self.cooldown = _Cooldown(stored.refresh_token if stored else None, self.clock() + wait, error)
            if stored is not None and stored.access_valid(0, self.clock()) and stored.access_token != rejected:
                return stored
            raise
        except TokenEndpointError as error:
            if error.error not in SESSION_ENDED_ERRORS:
                raise
            if from_store and can_use_provider:
                assert provider is not None
                try:
                    result = yield from self.grant_with_retry(provider.grant_fields())
                except TokenEndpointError as second:
                    if second.error in SESSION_ENDED_ERRORS:
                        return (yield from self.end_session(ReauthRequiredError(f"the session has ended ({second.error}); sign in again")))
                    raise
                from_store = False
            elif from_store or stored is not None or grant["grant_type"] == "refresh_token":
                if not from_store:
                    self.mark_provider_used(provider)
                return (yield from self.end_session(ReauthRequiredError(f"the session has ended ({error.error}); sign in again")))
            else:
                raise  # wrong credentials on a first sign-in

        tokens = result.tokens
        if from_store and tokens.refresh_token is None and stored is not None:
            # The server did not rotate: keep the refresh token we have (RFC 6749 §6).
            tokens = tokens.replace(refresh_token=stored.refresh_token, refresh_expires_at=stored.refresh_expires_at)
        if not from_store:
            self.mark_provider_used(provider)
        yield _Save(tokens)
        self.cached = tokens
        self.cooldown = None
        return tokens

    def mark_provider_used(self, provider: Optional[AuthProvider]) -> None:
        if provider is not None and provider is self.provider:
            self.provider_used = True


class _Base:
    def __init__(
        self,
        provider: Optional[AuthProvider],
        *,
        token_url: str,
        store: Optional[TokenStore] = None,
        expiry_skew: float = 30.0,
        protocol: str = "oauth",
        api_key: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        retry: Optional[RetryPolicy] = None,
        failure_cooldown: float = 5.0,
        request_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not token_url:
            raise ValueError("token_url is required")
        if protocol not in ("oauth", "gotrue"):
            raise ValueError('protocol must be "oauth" or "gotrue"')
        if expiry_skew < 0:
            raise ValueError("expiry_skew must be a number of seconds >= 0")
        if failure_cooldown < 0:
            raise ValueError("failure_cooldown must be >= 0")
        if request_timeout <= 0:
            raise ValueError("request_timeout must be > 0")
        self.store: TokenStore = store if store is not None else MemoryTokenStore()
        self.expiry_skew = float(expiry_skew)
        self.endpoint = TokenEndpoint(url=str(token_url), protocol=protocol, api_key=api_key, headers=dict(headers or {}))
        self._request_timeout = request_timeout
        self._clock = clock
        self._session = _Session(provider, self.expiry_skew, retry or RetryPolicy(), failure_cooldown, clock)
        self._requests = 0

    @property
    def token_requests(self) -> int:
        """Token requests this manager has sent (successful or not)."""
        return self._requests

    def _valid_cached(self, rejected: Optional[str]) -> Optional[TokenSet]:
        current = self._session.cached
        if current is _UNLOADED or current is None:
            return None
        if current.access_token != rejected and current.access_valid(self.expiry_skew, self._clock()):
            return current
        return None

    def _request(self, grant: Grant):  # -> (url, headers, body, requested_at)
        url, headers, body = build_request(self.endpoint, grant)
        self._requests += 1
        return url, headers, body, self._clock()

    def _process(self, response: httpx.Response, requested_at: float) -> GrantResult:
        return process_response(response.status_code, response.headers, response.text, requested_at, self._clock())

    def _store_effect(self, effect: _Effect) -> Any:
        """Performs a load, save or clear (store I/O is synchronous in both managers)."""
        if isinstance(effect, _Load):
            return self.store.load()
        if isinstance(effect, _Save):
            return self.store.save(effect.tokens)
        return self.store.clear()


def _unreachable(error: Exception) -> TokenEndpointUnavailableError:
    return TokenEndpointUnavailableError(f"token endpoint unreachable: {type(error).__name__}: {error}")


class TokenManager(_Base):
    """Keeps an access token valid for one session; safe to share between threads.

    - ``authorization_header()`` returns at once while the token is valid; otherwise every caller shares one
      in-flight refresh. With a store that locks (``FileTokenStore``) processes share it too: the store is
      reloaded inside the lock, so a token another process already rotated is adopted.
    - ``force_refresh(rejected)`` after an unexpected 401 refreshes only if ``rejected`` is still current.
    - Permanent failures (``invalid_grant``, ``refresh_token_not_found``, ``session_not_found``, …) clear the
      store and raise ``ReauthRequiredError`` — unless the provider can sign in again by itself.
    - Transient failures (network, 5xx, 408, 409, 429) are retried with jittered backoff honouring
      ``Retry-After``; if they persist a still-valid token is kept, otherwise
      ``TokenEndpointUnavailableError`` is raised and the session stays stored.

    :param provider: source of the first grant; ``None`` for a manager that continues a stored session.
    :param http: the ``httpx.Client`` token requests go through. Default a new one.
    :param token_url: ``…/auth/v1/oauth/token`` (``protocol="oauth"``) or ``…/auth/v1/token`` (``"gotrue"``).
    :param store: default a new ``MemoryTokenStore``.
    :param expiry_skew: seconds before expiry at which a token counts as expired. Default 30.
    :param options: ``protocol`` (``"oauth"`` or ``"gotrue"``), ``api_key`` (sent as ``apikey``), ``headers``,
        ``retry`` (a ``RetryPolicy``), ``failure_cooldown`` (seconds a still-valid token is used without asking
        again after a transient failure, default 5), ``request_timeout`` (default 30), ``clock``.
    """

    def __init__(
        self,
        provider: Optional[AuthProvider],
        *,
        http: Optional[httpx.Client] = None,
        token_url: str,
        store: Optional[TokenStore] = None,
        expiry_skew: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        **options: Any,
    ) -> None:
        super().__init__(provider, token_url=token_url, store=store, expiry_skew=expiry_skew, **options)
        self.http = http if http is not None else httpx.Client()
        self._sleep = sleep
        self._mutex = threading.Lock()
        self._inflight: Optional["concurrent.futures.Future[TokenSet]"] = None
        self._inflight_refresh = False

    @property
    def refreshing(self) -> bool:
        """Whether a refresh is in flight right now."""
        return self._inflight is not None

    def authorization_header(self) -> str:
        """The ``Authorization`` header value for a valid access token, refreshing first if needed."""
        return self.get_tokens().authorization_header

    def get_tokens(self) -> TokenSet:
        """A valid token set, refreshing first if needed."""
        current = self.peek()
        if current is not None and current.access_valid(self.expiry_skew, self._clock()):
            return current
        return self._refresh(None)

    def peek(self) -> Optional[TokenSet]:
        """The session as last seen, without refreshing (``None`` when there is none)."""
        if self._session.cached is _UNLOADED:
            return self._run(self._session.load())
        return self._session.cached

    def force_refresh(self, rejected_token: Optional[str] = None) -> TokenSet:
        """Refreshes because a resource server rejected ``rejected_token`` (the access token, no scheme). If
        the current token is already another one it is returned without a request, so a burst of 401s
        costs one refresh. Without an argument the current token is refreshed unconditionally."""
        if rejected_token is None:
            current = self.peek()
            rejected_token = current.access_token if current is not None else ""
        flight = self._inflight
        if flight is not None and self._inflight_refresh:
            result = flight.result()
            if result.access_token != rejected_token:
                return result
        valid = self._valid_cached(rejected_token)
        return valid if valid is not None else self._refresh(rejected_token)

    def login(self, provider: Optional[AuthProvider] = None) -> GrantResult:
        """Starts a session with ``provider``'s grant (or the manager's own), replacing any stored session."""
        provider = provider or self._session.provider
        if provider is None:
            raise NotLoggedInError("no provider to log in with")
        return self._exclusive(lambda: self._session.login(provider))

    def set_tokens(self, tokens: TokenSet) -> None:
        """Adopts tokens obtained elsewhere as the session."""
        self._exclusive(lambda: self._session.adopt(tokens))

    def clear(self) -> None:
        """Forgets the session (local logout): clears the store."""
        self._exclusive(self._session.forget)

    def _exclusive(self, steps: Callable[[], _Steps]) -> Any:
        """Runs ``steps`` as the in-flight operation, after any other, inside the store's lock."""
        while True:
            with self._mutex:
                flight = self._inflight
                if flight is None:
                    flight = self._inflight = concurrent.futures.Future()
                    self._inflight_refresh = False
                    break
            concurrent.futures.wait([flight])
        try:
            with self.store.lock():
                result = self._run(steps())
        except BaseException as error:
            flight.set_exception(error)
            raise
        else:
            flight.set_result(None)
            return result
        finally:
            with self._mutex:
                self._inflight = None

    def _refresh(self, rejected: Optional[str]) -> TokenSet:
        while True:
            with self._mutex:
                flight = self._inflight
                if flight is None:
                    flight = self._inflight = concurrent.futures.Future()
                    self._inflight_refresh = True
                    leader = True
                    break
                if self._inflight_refresh:
                    leader = False
                    break
            concurrent.futures.wait([flight])  # a login or logout: wait for it, then look again
        if leader:
            try:
                with self.store.lock():
                    flight.set_result(self._run(self._session.renew(rejected)))
            except BaseException as error:
                flight.set_exception(error)
            finally:
                with self._mutex:
                    self._inflight = None
        return flight.result()

    def _run(self, steps: _Steps) -> Any:
        value: Any = None
        error: Optional[BaseException] = None
        while True:
            try:
                effect = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = self._perform(effect)
            except Exception as failure:  # handed back to the logic, which decides
                error = failure

    def _perform(self, effect: _Effect) -> Any:
        if isinstance(effect, _Send):
            url, headers, body, requested_at = self._request(effect.grant)
            try:
                response = self.http.post(url, headers=headers, content=body, timeout=self._request_timeout)
            except httpx.HTTPError as error:
                raise _unreachable(error) from error
            return self._process(response, requested_at)
        if isinstance(effect, _Sleep):
            return self._sleep(effect.seconds)
        return self._store_effect(effect)


class AsyncTokenManager(_Base):
    """The asyncio twin of ``TokenManager`` on ``httpx.AsyncClient``: the same semantics, with one
    refresh shared by every task of the event loop. File store locks are taken in a worker thread so the
    loop never blocks on another process."""

    def __init__(
        self,
        provider: Optional[AuthProvider],
        *,
        http: Optional[httpx.AsyncClient] = None,
        token_url: str,
        store: Optional[TokenStore] = None,
        expiry_skew: float = 30.0,
        **options: Any,
    ) -> None:
        super().__init__(provider, token_url=token_url, store=store, expiry_skew=expiry_skew, **options)
        self.http = http if http is not None else httpx.AsyncClient()
        self._inflight: Optional["asyncio.Future[Any]"] = None
        self._inflight_refresh = False

    @property
    def refreshing(self) -> bool:
        return self._inflight is not None

    async def authorization_header(self) -> str:
        return (await self.get_tokens()).authorization_header

    async def get_tokens(self) -> TokenSet:
        current = await self.peek()
        if current is not None and current.access_valid(self.expiry_skew, self._clock()):
            return current
        return await self._flight(lambda: self._session.renew(None), refresh=True)

    async def peek(self) -> Optional[TokenSet]:
        if self._session.cached is _UNLOADED:
            return await self._run(self._session.load())
        return self._session.cached

    async def force_refresh(self, rejected_token: Optional[str] = None) -> TokenSet:
        if rejected_token is None:
            current = await self.peek()
            rejected_token = current.access_token if current is not None else ""
        flight = self._inflight
        if flight is not None and self._inflight_refresh and not flight.done():
            result = await asyncio.shield(flight)
            if result.access_token != rejected_token:
                return result
        valid = self._valid_cached(rejected_token)
        if valid is not None:
            return valid
        rejected = rejected_token
        return await self._flight(lambda: self._session.renew(rejected), refresh=True)

    async def login(self, provider: Optional[AuthProvider] = None) -> GrantResult:
        provider = provider or self._session.provider
        if provider is None:
            raise NotLoggedInError("no provider to log in with")
        chosen = provider
        return await self._flight(lambda: self._session.login(chosen), refresh=False)

    async def set_tokens(self, tokens: TokenSet) -> None:
        await self._flight(lambda: self._session.adopt(tokens), refresh=False)

    async def clear(self) -> None:
        await self._flight(self._session.forget, refresh=False)

    async def _flight(self, steps: Callable[[], _Steps], *, refresh: bool) -> Any:
        """Runs ``steps`` inside the store's lock as the one in-flight operation. A refresh that finds a
        refresh in flight shares its result; anything else waits for the operation in flight first."""
        while True:
            flight = self._inflight
            if flight is None or flight.done():
                break
            if refresh and self._inflight_refresh:
                return await asyncio.shield(flight)
            with _suppress_all():
                await asyncio.shield(flight)
        task = asyncio.ensure_future(self._locked(steps))
        self._inflight = task
        self._inflight_refresh = refresh
        task.add_done_callback(self._clear_flight)
        return await asyncio.shield(task)

    def _clear_flight(self, task: "asyncio.Future[Any]") -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()  # retrieved, so an unawaited failure is not logged as lost

    async def _locked(self, steps: Callable[[], _Steps]) -> Any:
        lock = self.store.lock()
        await asyncio.to_thread(lock.__enter__)
        try:
            return await self._run(steps())
        finally:
            lock.__exit__(None, None, None)

    async def _run(self, steps: _Steps) -> Any:
        value: Any = None
        error: Optional[BaseException] = None
        while True:
            try:
                effect = steps.throw(error) if error is not None else steps.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = await self._perform(effect)
            except Exception as failure:
                error = failure

    async def _perform(self, effect: _Effect) -> Any:
        if isinstance(effect, _Send):
            url, headers, body, requested_at = self._request(effect.grant)
            try:
                response = await self.http.post(url, headers=headers, content=body, timeout=self._request_timeout)
            except httpx.HTTPError as error:
                raise _unreachable(error) from error
            return self._process(response, requested_at)
        if isinstance(effect, _Sleep):
            await asyncio.sleep(effect.seconds)
            return None
        return self._store_effect(effect)


class _suppress_all:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        return kind is not None and issubclass(kind, Exception)
