"""``LatchkeyApi``: one object for a Latchkey deployment — sign-in against the identity service
(``api.auth``) and authenticated requests to the API, refreshing and retrying once after a 401."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

import httpx

from .auth.endpoint import process_response, read_error_body
from .auth.manager import RetryPolicy, TokenManager
from .auth.providers import PasswordAuth
from .auth.store import TokenStore
from .auth.tokens import TokenSet
from .errors import HttpError, LatchkeyError, ReauthRequiredError

LOGOUT_SCOPES = ("local", "global", "others")


@dataclass(frozen=True)
class Session:
    """The answer to a sign-in: the user (GoTrue's shape) and the session's tokens."""

    user: Optional[Dict[str, Any]]
    tokens: TokenSet


class LatchkeyApi:
    """A Latchkey deployment at ``base_url``.

    >>> api = LatchkeyApi("http://127.0.0.1:8000", anon_key=anon_key)
    >>> api.auth.login(email="ada@example.com", password="correct horse")
    >>> notes = api.request("GET", "/api/v1/notes").json()
    >>> api.auth.logout()

    :param anon_key: sent as the ``apikey`` header (gateways in front of the service need it).
    :param store: where the session lives. Default in memory.
    :param expiry_skew: seconds before expiry at which the access token is refreshed. Default 30.
    :param http: the ``httpx.Client`` to use. Default a new one, closed by ``close()``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        anon_key: Optional[str] = None,
        store: Optional[TokenStore] = None,
        expiry_skew: float = 30.0,
        retry: Optional[RetryPolicy] = None,
        http: Optional[httpx.Client] = None,
    ) -> None:
        parsed = httpx.URL(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("base_url must be an http(s) URL")
        self.base_url = str(base_url).rstrip("/")
        self.anon_key = anon_key
        self._own_http = http is None
        self.http = http if http is not None else httpx.Client()
        self.tokens = TokenManager(
            None,
            http=self.http,
            token_url=f"{self.base_url}/auth/v1/token",
            protocol="gotrue",
            api_key=anon_key,
            store=store,
            expiry_skew=expiry_skew,
            retry=retry,
        )
        self.auth = AuthApi(self)

    @property
    def ws_url(self) -> str:
        """The realtime gateway: ``ws(s)://…/connection/websocket``."""
        return "ws" + self.base_url[len("http") :] + "/connection/websocket"

    def request(self, method: str, path: str, *, json: Any = None, headers: Optional[Mapping[str, str]] = None, **kwargs: Any) -> httpx.Response:
        """Sends a request with the session's bearer token. After a 401 it asks the token manager for a new
        token once (``force_refresh`` with the rejected token, so a burst of 401s costs one refresh) and
        retries. The response is returned as it is."""
        tokens = self.tokens.get_tokens()
        response = self._send(method, path, tokens, json=json, headers=headers, **kwargs)
        if response.status_code == 401:
            response.close()
            tokens = self.tokens.force_refresh(tokens.access_token)
            response = self._send(method, path, tokens, json=json, headers=headers, **kwargs)
        return response

    def request_json(self, method: str, path: str, *, json: Any = None) -> Any:
        """``request()`` returning the parsed JSON body; raises ``HttpError`` on an error status."""
        return read_json(self.request(method, path, json=json))

    def anonymous(self, method: str, path: str, *, json: Any = None, headers: Optional[Mapping[str, str]] = None) -> httpx.Response:
        """Sends a request without the session (public routes such as sign-up)."""
        return self.http.request(method, self.url(path), json=json, headers=self._headers(headers))

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> "LatchkeyApi":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _headers(self, extra: Optional[Mapping[str, str]], tokens: Optional[TokenSet] = None) -> Dict[str, str]:
        headers = {"accept": "application/json"}
        if self.anon_key:
            headers["apikey"] = self.anon_key
        if tokens is not None:
            headers["authorization"] = tokens.authorization_header
        headers.update(extra or {})
        return headers

    def _send(self, method: str, path: str, tokens: TokenSet, *, json: Any, headers: Optional[Mapping[str, str]], **kwargs: Any) -> httpx.Response:
        return self.http.request(method, self.url(path), json=json, headers=self._headers(headers, tokens), **kwargs)


class AuthApi:
    """The identity routes (``/auth/v1``) of a ``LatchkeyApi``."""

    def __init__(self, api: LatchkeyApi) -> None:
        self._api = api

    def sign_up(self, *, email: str, password: str, data: Optional[Dict[str, Any]] = None) -> Session:
        """Creates an account. When sign-ups are confirmed automatically the answer carries a session,
        which becomes the current one; otherwise ``tokens`` is ``None`` until the address is confirmed."""
        body: Dict[str, Any] = {"email": email, "password": password}
        if data is not None:
            body["data"] = data
        clock = self._api.tokens._clock
        requested_at = clock()
        response = self._api.anonymous("POST", "/auth/v1/signup", json=body, headers={"x-supabase-api-version": "2024-01-01"})
        answer = read_json(response)
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            return Session(user=answer if isinstance(answer, dict) else None, tokens=None)  # type: ignore[arg-type]
        result = process_response(response.status_code, response.headers, response.text, requested_at, clock())
        self._api.tokens.set_tokens(result.tokens)
        return Session(user=answer.get("user"), tokens=result.tokens)

    def login(self, *, email: str, password: str) -> Session:
        """Signs in with e-mail (or E.164 phone) and password (``POST /auth/v1/token?grant_type=password``)."""
        result = self._api.tokens.login(PasswordAuth(email, password))
        user = result.body.get("user")
        return Session(user=user if isinstance(user, dict) else None, tokens=result.tokens)

    def refresh_token(self) -> TokenSet:
        """Refreshes the session now, whatever the expiry of its access token."""
        return self._api.tokens.force_refresh()

    def user(self) -> Dict[str, Any]:
        """The signed-in user (``GET /auth/v1/user``). When the server no longer knows the session the
        session is cleared and ``ReauthRequiredError`` is raised."""
        try:
            return read_json(self._api.request("GET", "/auth/v1/user"))
        except HttpError as error:
            if error.error in ("session_not_found", "user_not_found"):
                self._api.tokens.clear()
                raise ReauthRequiredError(f"the session has ended ({error.error}); sign in again") from error
            raise

    def logout(self, *, scope: str = "local") -> None:
        """Ends the session on the server (``POST /auth/v1/logout?scope=…``) and forgets it locally. A session
        the server no longer knows counts as ended. Default scope ``local``: other devices stay signed in."""
        if scope not in LOGOUT_SCOPES:
            raise ValueError("scope must be local, global or others")
        try:
            tokens: Optional[TokenSet] = self._api.tokens.get_tokens()
        except LatchkeyError:
            tokens = None  # no usable session: nothing to revoke on the server
        if tokens is not None:
            response = self._api.http.post(self._api.url(f"/auth/v1/logout?scope={scope}"), headers=self._api._headers(None, tokens))
            if response.status_code >= 400 and response.status_code not in (401, 403, 404):
                read_json(response)
        if scope != "others":
            self._api.tokens.clear()


def read_json(response: httpx.Response) -> Any:
    """The parsed JSON body; ``HttpError`` on an error status."""
    text = response.text
    try:
        body: Any = json.loads(text) if text else None
    except ValueError:
        body = text
    if response.status_code >= 400:
        error, description = read_error_body(body)
        message = f"HTTP {response.status_code}" + (f" {error}" if error else "") + (f": {description}" if description else "")
        raise HttpError(response.status_code, message, error, body)
    return body
