"""The sans-IO protocol core: bytes in, messages out; actions in, bytes out. No I/O here.

It can be driven by a blocking socket, by anyio, or by a test feeding one byte at a time,
with the same results::

    parser = Parser()
    parser.receive_data(sock.recv(65536))
    while (item := parser.next_event()) is not NEED_DATA:
        ...
"""

from ami_client._private.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from ami_client._private.limits import DEFAULT_LIMITS, Limits
from ami_client._private.message import Banner, Event, Message, Response
from ami_client._private.parser import (
    NEED_DATA,
    ConnectionClosed,
    NeedData,
    Parser,
    ParserState,
    ReceivedItem,
)
from ami_client._private.serializer import (
    MAX_ACTION_FIELDS,
    MAX_ACTION_LINE,
    Action,
    ActionIdGenerator,
    serialize_action,
    serialize_message,
)

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_ACTION_FIELDS",
    "MAX_ACTION_LINE",
    "NEED_DATA",
    "Action",
    "ActionIdGenerator",
    "Banner",
    "ConnectionClosed",
    "Event",
    "LimitExceeded",
    "Limits",
    "LocalProtocolError",
    "Message",
    "NeedData",
    "Parser",
    "ParserState",
    "ReceivedItem",
    "RemoteProtocolError",
    "Response",
    "serialize_action",
    "serialize_message",
]
