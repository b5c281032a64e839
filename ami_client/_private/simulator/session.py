"""One AMI connection on the simulator: reads actions, writes responses and events.

Like Asterisk's session thread, actions of one connection run one after another (a sync
Originate holds the session), while events are queued and written in between.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import attrs

from ami_client._private.errors import LimitExceeded, RemoteProtocolError
from ami_client._private.message import Message, Response
from ami_client._private.parser import Parser
from ami_client._private.serializer import serialize_message
from ami_client._private.simulator.auth import User
from ami_client._private.simulator.eventfilter import FilterSet
from ami_client._private.simulator.permissions import ALL_CLASSES, classes_of_privilege

if TYPE_CHECKING:
    from ami_client._private.simulator.server import Simulator

__all__ = ["ReceivedAction", "Session", "client_error"]

_CLOSE = object()


@attrs.frozen
class ReceivedAction:
    """An action a simulator session received (for test assertions)."""

    session_id: int
    username: str | None
    message: Message

    @property
    def name(self) -> str:
        return self.message.get("Action", "")


class Session:
    """Server side of one connection. Public attributes are for inspection in tests."""

    def __init__(
        self,
        sim: Simulator,
        session_id: int,
        stream: anyio.abc.ByteStream,
        local: str,
        remote: str,
    ) -> None:
        self.sim = sim
        self.id = session_id
        self.local_address = local
        self.remote_address = remote
        self.user: User | None = None
        self.authenticated = False
        self.challenge: str | None = None
        self.send_events: frozenset[str] = frozenset(ALL_CLASSES)
        self.filters = FilterSet()
        self.closed = False
        self._stream = stream
        self._out_send, self._out_recv = anyio.create_memory_object_stream[object](math.inf)
        self._cancel = anyio.CancelScope()

    def __repr__(self) -> str:
        who = self.user.username if self.user else None
        return f"<Session {self.id} user={who!r} {self.remote_address}>"

    @property
    def username(self) -> str | None:
        return self.user.username if self.user is not None else None

    # ---- output -----------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        """Queue raw bytes (garbage tests, replays)."""
        if not self.closed:
            self._out_send.send_nowait(bytes(data))

    def send(self, message: Message) -> None:
        """Queue one message."""
        self.send_bytes(serialize_message(message))

    def deliver(self, event: Message) -> None:
        """Queue an event if this session may see it: logged in, read classes, Events mask,
        eventfilters (in that order, as Asterisk 22's process_events)."""
        if not self.authenticated or self.user is None or self.closed:
            return
        classes = classes_of_privilege(event.get("Privilege"))
        if not classes <= self.user.read or not classes <= self.send_events:
            return
        if not self.filters.allows(event):
            return
        self.send(event)

    def close(self) -> None:
        """Close after what is queued has been written (Logoff, failed Login)."""
        if not self.closed:
            self._out_send.send_nowait(_CLOSE)
            self.closed = True

    def cut(self) -> None:
        """Drop the connection at once, without writing what is queued."""
        self.closed = True
        self._cancel.cancel()

    # ---- running ----------------------------------------------------------------------

    async def run(self, handle: Callable[[Session, Message], Awaitable[None]]) -> None:
        """Serve the connection until it closes. ``handle`` is awaited for each action."""
        with self._cancel:
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._writer, tg.cancel_scope)
                    await self._reader(handle)
                    if not self.closed:
                        # The peer went away: Asterisk drops the session and what it queued.
                        tg.cancel_scope.cancel()
                    # else: Logoff or a failed Login; the writer ends after the last byte.
            finally:
                self.closed = True
                self._out_send.close()
                self._out_recv.close()
                with anyio.CancelScope(shield=True):
                    await self._stream.aclose()

    async def _writer(self, scope: anyio.CancelScope) -> None:
        # The queue is closed only after this task is gone, so it ends at _CLOSE (Logoff, a
        # failed Login) or when the peer stops reading.
        try:
            while (item := await self._out_recv.receive()) is not _CLOSE:
                assert isinstance(item, bytes)
                await self._stream.send(item)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the peer is gone: Asterisk drops the session and what it queued
        scope.cancel()

    async def _reader(self, handle: Callable[[Session, Message], Awaitable[None]]) -> None:
        parser = Parser(expect_banner=False)
        while True:
            try:
                data = await self._stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                return
            parser.receive_data(data)
            try:
                items = parser.next_events()
            except RemoteProtocolError as exc:
                self.sim.protocol_errors.append((self.id, client_error(exc)))
                return
            for item in items:
                # Only messages: no banner is expected and EOF is never fed to the parser.
                assert isinstance(item, Message)
                await handle(self, item)
                if self.closed:
                    return

    # ---- helpers for action handlers ---------------------------------------------------


def client_error(exc: RemoteProtocolError) -> RemoteProtocolError:
    """A parse error of what a client sent, worded for the simulator's side: the Parser's
    :class:`LimitExceeded` says the server broke the limit, here the client did."""
    if isinstance(exc, LimitExceeded) and exc.peer != "client":
        return LimitExceeded(exc.limit, exc.value, peer="client")
    return exc


def response(status: str, action: Message, *fields: tuple[str, str]) -> Response:
    """``Response: <status>``, the action's ``ActionID`` if any, then ``fields``."""
    pairs = [("Response", status)]
    if action.action_id is not None:
        pairs.append(("ActionID", action.action_id))
    pairs.extend(fields)
    return Response(pairs)
