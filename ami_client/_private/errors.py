"""Every exception ami_client raises, in one place.

The split follows h11: a :class:`LocalProtocolError` means *we* (the caller) tried to do something
illegal and nothing was written; a :class:`RemoteProtocolError` means the *server* sent something we
cannot accept. Everything else is about the conversation: the link, authentication and the
outcome of actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ami_client._private.message import Message, Response

__all__ = [
    "AMIError",
    "ActionError",
    "AMIConnectionError",
    "AuthenticationError",
    "ClientClosed",
    "ConnectTimeout",
    "ConnectionLost",
    "EventListError",
    "KeepaliveTimeout",
    "LimitExceeded",
    "LocalProtocolError",
    "PermissionDenied",
    "ProtocolError",
    "RemoteProtocolError",
    "SubscriptionOverflow",
]


class AMIError(Exception):
    """Base class of every error raised by ami_client."""


class ProtocolError(AMIError):
    """The bytes on the wire broke the rules of AMI (ours or the server's)."""


class LocalProtocolError(ProtocolError, ValueError):
    """The caller asked for something AMI cannot carry safely; nothing was sent.

    Raised, for example, for a CR, LF or NUL inside a key or value (the AMI injection hole),
    a key with ``:`` or spaces, a line longer than Asterisk's input buffer or too many fields.
    """


class RemoteProtocolError(ProtocolError):
    """The server sent bytes that cannot be parsed, or it broke a limit.

    The parser is unusable after this error: the connection must be closed.
    """


class LimitExceeded(RemoteProtocolError):
    """The server made us buffer more than a configured limit allows.

    Attributes:
        limit: The name of the limit (a field of :class:`~ami_client.Limits`).
        value: The configured value of that limit.
        peer: Who broke it: always ``"server"`` in the client; ``"client"`` in the
            simulator of :mod:`ami_client.testing`, which parses what clients send.
    """

    def __init__(self, limit: str, value: int, *, peer: str = "server") -> None:
        super().__init__(f"{peer} exceeded {limit}={value}")
        self.limit = limit
        self.value = value
        self.peer = peer

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions pickle (and copy) as cls(*args): args here is the message alone, which
        # __init__ does not take. Rebuild from the attributes (multiprocessing, a logging
        # QueueHandler, copy.copy: all pickle exceptions).
        return (_limit_exceeded, (type(self), self.limit, self.value, self.peer), self.__dict__)


class AMIConnectionError(AMIError):
    """The connection could not be made or is no longer usable."""


class ConnectionLost(AMIConnectionError):
    """The link to the server died; whatever was in flight did not get an answer.

    Actions that were in flight when this is raised may or may not have been executed by the
    server: they are never re-sent automatically.
    """


class KeepaliveTimeout(ConnectionLost):
    """The server did not answer a keepalive Ping in time; the link is treated as dead."""


class ConnectTimeout(AMIConnectionError, TimeoutError):
    """Connecting and logging in took longer than the client's ``connect_timeout``.

    Also a :class:`TimeoutError`, so code written for timeouts in general catches it.
    """


class ClientClosed(AMIConnectionError):
    """The client was closed (by the caller) and can no longer be used."""


class AuthenticationError(AMIConnectionError):
    """The server refused our credentials at login."""


class ActionError(AMIError):
    """The server answered an action with ``Response: Error``.

    Attributes:
        response: The full error response.
        message: The server's ``Message`` field ("" if it sent none).
    """

    def __init__(self, response: Response) -> None:
        self.response = response
        self.message: str = response.get("Message") or ""
        action_id = response.action_id
        super().__init__(f"{self.message or 'action failed'} (ActionID {action_id!r})")

    def __reduce__(self) -> tuple[object, ...]:
        # As LimitExceeded.__reduce__: rebuilt from the response, not from the message text.
        return (type(self), (self.response,), self.__dict__)


class PermissionDenied(ActionError):
    """The logged-in user lacks the ``write`` class authorization this action needs."""


class EventListError(ActionError):
    """An EventList ended with ``EventList: cancelled`` instead of completing.

    Attributes:
        items: The item events received before the list was cancelled.
    """

    def __init__(self, response: Response, items: tuple[Message, ...] = ()) -> None:
        super().__init__(response)
        self.items = items

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.response, self.items), self.__dict__)


class SubscriptionOverflow(AMIError):
    """A subscription with the ``fail`` overflow policy fell behind and was closed."""


def _limit_exceeded(cls: type[LimitExceeded], limit: str, value: int, peer: str) -> LimitExceeded:
    """(For unpickling) The LimitExceeded that ``LimitExceeded.__reduce__`` describes."""
    return cls(limit, value, peer=peer)
