"""Codes of the realtime gateway (Centrifugo protocol) and what this client does with each."""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """Error replies to commands."""

    #: Internal server error; with ``temporary`` the client retries with backoff.
    INTERNAL = 100
    UNAUTHORIZED = 101
    UNKNOWN_CHANNEL = 102
    PERMISSION_DENIED = 103
    METHOD_NOT_FOUND = 104
    ALREADY_SUBSCRIBED = 105
    LIMIT_EXCEEDED = 106
    BAD_REQUEST = 107
    #: No RPC handler on the gateway.
    NOT_AVAILABLE = 108
    #: Reply to connect or refresh: the token has expired. The client asks ``get_token`` for a new one.
    TOKEN_EXPIRED = 109
    EXPIRED = 110
    TOO_MANY_REQUESTS = 111


class DisconnectCode(IntEnum):
    """WebSocket close codes. The client reconnects for 3000–3499 and 4000–4499 and stays disconnected for
    3500–3999 and 4500–4999, except where noted."""

    SHUTDOWN = 3001
    INTERNAL_ERROR = 3004
    #: The connection outlived its token without ``refresh``; the client reconnects with a new token.
    CONNECTION_EXPIRED = 3005
    SUBSCRIPTION_EXPIRED = 3006
    SLOW = 3008
    WRITE_ERROR = 3009
    FORCE_RECONNECT = 3011
    NO_PONG = 3012
    #: The token's grants changed (role): the client gets a new token and reconnects.
    STATE_INVALIDATED = 3014
    #: The token is invalid (signature, key, audience): the client forces one refresh and reconnects, a
    #: bounded number of times, then reports that a new sign-in is needed.
    INVALID_TOKEN = 3500
    BAD_REQUEST = 3501
    STALE = 3502
    FORCE_DISCONNECT = 3503
    CONNECTION_LIMIT = 3504
    CHANNEL_LIMIT = 3505
    PERMISSION_DENIED = 3507
    #: The session ended (logout, ban, deletion, password change): the client stops and reports that a new
    #: sign-in is needed.
    SESSION_ENDED = 4501


class ConnectingCode(IntEnum):
    """Client-side codes of ``on_connecting`` (the same numbers as centrifuge-js)."""

    CONNECT_CALLED = 0
    TRANSPORT_CLOSED = 1
    NO_PING = 2
    SUBSCRIBE_TIMEOUT = 3
    UNSUBSCRIBE_ERROR = 4


class DisconnectedCode(IntEnum):
    """Client-side codes of ``on_disconnected`` when the client itself stopped."""

    DISCONNECT_CALLED = 0
    UNAUTHORIZED = 1
    BAD_PROTOCOL = 2
    MESSAGE_SIZE_LIMIT = 3


def reconnects(code: int) -> bool:
    """Whether a close with ``code`` is followed by a reconnect (Centrifugo's ranges)."""
    if 3500 <= code < 4000 or 4500 <= code < 5000:
        return False
    return True
