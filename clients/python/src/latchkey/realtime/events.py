"""Event contexts and handler base classes of the realtime client. Override the ``on_*`` coroutines you
need; the others do nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional


@dataclass(frozen=True)
class ConnectingContext:
    code: int
    reason: str


@dataclass(frozen=True)
class ConnectedContext:
    client: str
    version: str
    data: Any = None


@dataclass(frozen=True)
class DisconnectedContext:
    code: int
    reason: str


@dataclass(frozen=True)
class ErrorContext:
    """``error`` is the exception; ``code`` is the gateway's or the client's code when there is one."""

    error: BaseException
    code: Optional[int] = None


@dataclass(frozen=True)
class SubscribingContext:
    channel: str
    code: int
    reason: str


@dataclass(frozen=True)
class SubscribedContext:
    channel: str
    data: Any = None


@dataclass(frozen=True)
class UnsubscribedContext:
    channel: str
    code: int
    reason: str


@dataclass(frozen=True)
class PublicationContext:
    channel: str
    data: Any
    offset: Optional[int] = None
    info: Optional[Dict[str, Any]] = None
    tags: Dict[str, str] = field(default_factory=dict)


class ClientEventHandler:
    """Connection events: ``on_connecting`` (with a reason code), ``on_connected``, ``on_disconnected``
    (terminal: the client will not reconnect by itself) and ``on_error``."""

    async def on_connecting(self, ctx: ConnectingContext) -> None:
        pass

    async def on_connected(self, ctx: ConnectedContext) -> None:
        pass

    async def on_disconnected(self, ctx: DisconnectedContext) -> None:
        pass

    async def on_error(self, ctx: ErrorContext) -> None:
        pass


class SubscriptionEventHandler:
    """Subscription events."""

    async def on_subscribing(self, ctx: SubscribingContext) -> None:
        pass

    async def on_subscribed(self, ctx: SubscribedContext) -> None:
        pass

    async def on_unsubscribed(self, ctx: UnsubscribedContext) -> None:
        pass

    async def on_publication(self, ctx: PublicationContext) -> None:
        pass

    async def on_error(self, ctx: ErrorContext) -> None:
        pass
