"""The realtime client (Centrifugo JSON protocol)."""

from .client import (
    Client,
    ConnectionLostError,
    RealtimeAuthError,
    ReplyError,
    Subscription,
    UnauthorizedError,
    tokens_from,
)
from .codes import ConnectingCode, DisconnectCode, DisconnectedCode, ErrorCode
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

__all__ = [
    "Client",
    "ClientEventHandler",
    "ConnectedContext",
    "ConnectingCode",
    "ConnectingContext",
    "ConnectionLostError",
    "DisconnectCode",
    "DisconnectedCode",
    "DisconnectedContext",
    "ErrorCode",
    "ErrorContext",
    "PublicationContext",
    "RealtimeAuthError",
    "ReplyError",
    "SubscribedContext",
    "SubscribingContext",
    "Subscription",
    "SubscriptionEventHandler",
    "UnauthorizedError",
    "UnsubscribedContext",
    "tokens_from",
]
