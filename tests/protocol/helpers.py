"""Drive the sans-IO parser the way every I/O layer does, and record what comes out."""

from __future__ import annotations

from collections.abc import Iterable

from ami_client._private.parser import DeferredEvent
from ami_client.protocol import (
    NEED_DATA,
    Banner,
    ConnectionClosed,
    Limits,
    Message,
    Parser,
    RemoteProtocolError,
)

Outcome = list[object]


def feed(
    chunks: Iterable[bytes], *, limits: Limits | None = None, eof: bool = True, defer: bool = False
) -> Outcome:
    """Feed chunks (then EOF), collect every item; an error ends the list as ('error', text).

    With ``defer``, the parser defers events (as the client has it do) and each deferred event
    is recorded as the message it reads as.
    """
    parser = Parser(limits=limits) if limits is not None else Parser()
    parser._defer_events = defer
    out: Outcome = []
    try:
        for chunk in [*chunks, b""] if eof else chunks:
            parser.receive_data(chunk)
            while True:
                item = parser.next_event()
                if item is NEED_DATA:
                    break
                out.append(_comparable(item))
                if isinstance(item, ConnectionClosed):
                    return out
    except RemoteProtocolError as exc:
        out.append(("error", type(exc).__name__, str(exc)))
    return out


def _comparable(item: object) -> object:
    if isinstance(item, DeferredEvent):
        item = item.message()
    if isinstance(item, Message):
        return (type(item).__name__, item.fields, tuple(item.raw_fields()))
    if isinstance(item, Banner):
        return ("banner", item.name, item.version)
    return item


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]
