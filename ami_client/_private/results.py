"""What the client hands back: action results, connection state and statistics."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ami_client._private.message import Response
from ami_client._private.subscription import SubscriptionStatistics

__all__ = [
    "ClientStatistics",
    "ConnectionState",
    "EventListResponse",
    "OriginateResult",
]

_set = object.__setattr__


class EventListResponse(Response):
    """The answer to an EventList action: the response, every item and the completion event.

    It *is* the response (``result["Message"]`` reads the response's fields), plus:

    Attributes:
        response: The ``Response: Success`` / ``EventList: start`` message itself.
        items: The item events, in arrival order (typed if the client has an event factory).
        complete: The completion event (``EventList: Complete``, with ``ListItems``).
    """

    __slots__ = ("complete", "items", "response")

    items: tuple[Any, ...]
    complete: Any
    response: Response

    @classmethod
    def _make(cls, response: Response, items: tuple[Any, ...], complete: Any) -> EventListResponse:
        self = cls._from_fields(response.fields)
        _set(self, "response", response)
        _set(self, "items", items)
        _set(self, "complete", complete)
        return self

    def __repr__(self) -> str:
        return (
            f"EventListResponse({self.fields!r}, items={len(self.items)}, "
            f"complete={getattr(self.complete, 'name', self.complete)!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (EventListResponse._make, (self.response, self.items, self.complete))


@attrs.frozen
class OriginateResult:
    """The outcome of ``Originate`` with ``Async: true``.

    A call that was not answered (busy, no answer, congestion) is a normal outcome, not an
    exception: check :attr:`success` and :attr:`reason`.

    Attributes:
        response: The immediate response (``Originate successfully queued``).
        event: The ``OriginateResponse`` event (typed if the client has an event factory).
    """

    response: Response
    event: Any

    @property
    def success(self) -> bool:
        """True if the ``OriginateResponse`` says ``Response: Success``."""
        return str(self.event.get("Response", "")).lower() == "success"

    @property
    def reason(self) -> int | None:
        """Asterisk's numeric ``Reason`` (4 = answered, 5 = busy, 8 = congestion...)."""
        value = self.event.get("Reason")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    @property
    def channel(self) -> str | None:
        """The originated channel's name, if Asterisk gave it."""
        value = self.event.get("Channel")
        return str(value) if value is not None else None


class ConnectionState(str, enum.Enum):
    """Where a client's connection is in its life."""

    #: Opening the link and logging in for the first time.
    CONNECTING = "connecting"
    #: Logged in; actions can be sent.
    CONNECTED = "connected"
    #: The link died; the reconnect policy is trying again (actions fail fast meanwhile).
    RECONNECTING = "reconnecting"
    #: Closing at the caller's request (Logoff).
    CLOSING = "closing"
    #: Closed, by the caller or because the link died for good.
    CLOSED = "closed"


@attrs.frozen(kw_only=True)
class ClientStatistics:
    """A snapshot of a client, from ``ami.statistics()``.

    Attributes:
        state: The connection state.
        pending_actions: Actions sent and not answered yet.
        write_buffer: Bytes waiting to be written to the server.
        events_received: Events received since the client was created.
        late_responses: Responses that came for no pending action (a cancelled send's answer).
        reconnects: Successful reconnections so far.
        subscriptions: One entry per live subscription.
    """

    state: ConnectionState
    pending_actions: int
    write_buffer: int
    events_received: int
    late_responses: int
    reconnects: int
    subscriptions: tuple[SubscriptionStatistics, ...]
