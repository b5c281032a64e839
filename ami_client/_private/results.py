"""What the client hands back: action results, connection state and statistics."""

from __future__ import annotations

import enum
from typing import Any, TypeVar, overload

import attrs

from ami_client._private.message import Response
from ami_client._private.subscription import SubscriptionStatistics

__all__ = [
    "ClientStatistics",
    "ConnectionState",
    "EventListResult",
    "OriginateResult",
]

_T = TypeVar("_T")


@attrs.frozen
class EventListResult:
    """The answer to an EventList action: its response, every item and the completion event.

    It reads like the response (``result["Message"]``, ``result.get(...)``, ``.status``), so
    code that only looks at the response need not care whether an action was a list.

    Attributes:
        response: The ``Response: Success`` + ``EventList: start`` message (or the error
            response, with ``raise_on_error=False``).
        items: The item events, in arrival order (typed if the client has an event factory).
        complete: The completion event (``EventList: Complete``, with ``ListItems``); with
            ``raise_on_error=False``, the ``EventList: cancelled`` event, or None.
    """

    response: Response
    items: tuple[Any, ...] = attrs.field(repr=lambda items: f"<{len(items)} events>")
    complete: Any = attrs.field(repr=lambda event: repr(getattr(event, "name", event)))

    def __getitem__(self, key: str) -> str:
        return self.response[key]

    def __contains__(self, key: object) -> bool:
        return key in self.response

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: _T) -> str | _T: ...
    def get(self, key: str, default: object = None) -> object:
        """The response's first value of ``key``, or ``default``."""
        return self.response.get(key, default)

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` in the response."""
        return self.response.get_all(key)

    @property
    def fields(self) -> tuple[tuple[str, str], ...]:
        """The response's fields in wire order."""
        return self.response.fields

    @property
    def status(self) -> str:
        """The response's ``Response`` value (``Success``, ``Error``)."""
        return self.response.status

    @property
    def is_error(self) -> bool:
        """True for ``Response: Error`` (only seen with ``raise_on_error=False``)."""
        return self.response.is_error

    @property
    def action_id(self) -> str | None:
        """The ActionID of the list."""
        return self.response.action_id

    @property
    def cancelled(self) -> bool:
        """True if the server gave the list up (``EventList: cancelled``, in the response or in
        the event that ended it; only seen with ``raise_on_error=False``): the items are then
        incomplete."""
        for message in (self.response, self.complete):
            if message is not None and str(message.get("EventList", "")).lower() == "cancelled":
                return True
        return False


@attrs.frozen
class OriginateResult:
    """The outcome of ``Originate`` with ``Async: true``.

    A call that was not answered (busy, no answer, congestion) is a normal outcome, not an
    exception: check :attr:`success` and :attr:`reason`.

    Attributes:
        response: The immediate response (``Originate successfully queued``), or, with
            ``raise_on_error=False``, the error response of an Originate Asterisk refused.
        event: The ``OriginateResponse`` event (typed if the client has an event factory);
            None when Asterisk refused the Originate (no call was attempted).
    """

    response: Response
    event: Any

    @property
    def success(self) -> bool:
        """True if the ``OriginateResponse`` says ``Response: Success``."""
        event = self.event
        return event is not None and str(event.get("Response", "")).lower() == "success"

    @property
    def reason(self) -> int | None:
        """Asterisk's numeric ``Reason`` (4 = answered, 5 = busy, 8 = congestion...)."""
        value = self.event.get("Reason") if self.event is not None else None
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    @property
    def channel(self) -> str | None:
        """The originated channel's name, if Asterisk gave it."""
        value = self.event.get("Channel") if self.event is not None else None
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
