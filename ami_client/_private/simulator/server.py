"""The simulator itself: users, the PBX engine, sessions, listeners and the scripting API."""

from __future__ import annotations

import collections
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, SupportsIndex, TypeVar, overload

import anyio
import anyio.abc
import attrs

from ami_client._private.message import Event, Message, Response
from ami_client._private.simulator.actions import HANDLERS
from ami_client._private.simulator.auth import User, default_users
from ami_client._private.simulator.dialplan import Dialplan, default_dialplan
from ami_client._private.simulator.eventfilter import FilterSet
from ami_client._private.simulator.memory import MemoryByteStream, memory_stream_pair
from ami_client._private.simulator.pbx import Pbx
from ami_client._private.simulator.permissions import ACTION_CLASSES, privilege_text
from ami_client._private.simulator.replay import Transcript
from ami_client._private.simulator.session import ReceivedAction, Session, response

__all__ = ["Simulator", "serve"]

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


@attrs.define
class _Rule:
    action: str | None  # lower-case action name, or None for any
    kind: str  # "fail", "drop"
    message: str = ""

    def matches(self, name: str) -> bool:
        return self.action is None or self.action == name.lower()


@attrs.define
class _ActionWaiter:
    """One :meth:`Simulator.wait_for_action` call: counts the actions named ``name``."""

    name: str  # lower-case
    remaining: int
    done: anyio.Event = attrs.field(factory=anyio.Event)
    message: Message | None = None

    def offer(self, action: ReceivedAction) -> None:
        if self.message is None and action.name.lower() == self.name:
            self.remaining -= 1
            if self.remaining == 0:
                self.message = action.message
                self.done.set()


_T = TypeVar("_T")


class History(collections.deque[_T], Generic[_T]):
    """A bounded record, oldest first: a :class:`collections.deque` that also reads like the
    list it used to be (``received_actions[-3:]``, ``protocol_errors == []``), so assertions
    written against a list keep working."""

    @overload
    def __getitem__(self, index: SupportsIndex) -> _T: ...
    @overload
    def __getitem__(self, index: slice) -> list[_T]: ...
    def __getitem__(self, index: SupportsIndex | slice) -> _T | list[_T]:
        if isinstance(index, slice):
            return list(self)[index]
        return super().__getitem__(index)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list):
            return list(self) == other
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # (mutable, as a deque)


class Simulator:
    """An in-process AMI server that behaves like Asterisk 22 where a client can see it.

    Use it as an async context manager (it owns a task group), then reach it over TCP on
    loopback (:meth:`listen`, or :func:`serve`) or in memory (:meth:`connect_memory`)::

        async with Simulator() as sim:
            host, port = await sim.listen()
            ...

    Args:
        users: Accounts by name; default: the real test server's ``admin``, ``restricted``
            and ``filtered`` (see :func:`default_users`).
        dialplan: The dialplan; default: the real test server's ``ami-test`` context.
        channelvars: Variables reported as ``ChanVariable`` in channel events
            (manager.conf ``channelvars``; the test server sets ``AMI_TEST_VAR``).
        auth_failure_delay: Seconds before answering a failed Login (Asterisk: about 1 s).
        time_scale: Multiplies every dialplan wait (``Wait(30)`` with 0.01 takes 0.3 s).
        version: What ``core show version`` reports.
        banner: The greeting line, without CRLF.
        max_received_actions: How many actions :attr:`received_actions` keeps, the most
            recent (None: all of them, for a simulator that does not run for long); and
            how many errors :attr:`protocol_errors` keeps.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, User] | Iterable[User] | None = None,
        dialplan: Dialplan | None = None,
        channelvars: Sequence[str] = ("AMI_TEST_VAR",),
        auth_failure_delay: float = 0.05,
        time_scale: float = 1.0,
        version: str = "22.10.1",
        banner: str = "Asterisk Call Manager/11.0.0",
        max_received_actions: int | None = 10_000,
    ) -> None:
        if max_received_actions is not None and max_received_actions < 0:
            raise ValueError(f"max_received_actions must be >= 0, not {max_received_actions}")
        if users is None:
            self.users: dict[str, User] = default_users()
        elif isinstance(users, Mapping):
            self.users = dict(users)
        else:
            self.users = {u.username: u for u in users}
        self.auth_failure_delay = auth_failure_delay
        self.version = version
        self.banner = banner.encode() + b"\r\n"
        self.pbx = Pbx(
            emit=self.broadcast,
            dialplan=dialplan if dialplan is not None else default_dialplan(),
            channelvars=channelvars,
            time_scale=time_scale,
        )
        self.started = time.monotonic()
        self.started_wall = time.time()
        #: The most recent actions received (at most ``max_received_actions``), oldest first,
        #: for assertions; ``received_actions.clear()`` empties it.
        self.received_actions: History[ReceivedAction] = History(maxlen=max_received_actions)
        self._action_waiters: list[_ActionWaiter] = []
        #: Parse errors of incoming data, per session id: the most recent (one per connection
        #: ended for bad input, at most ``max_received_actions``), oldest first.
        self.protocol_errors: History[tuple[int, Exception]] = History(maxlen=max_received_actions)
        self._sessions: dict[int, Session] = {}
        self._ids = itertools.count(1)
        self._rules: list[_Rule] = []
        self._delay: tuple[float, str | None] = (0.0, None)
        self._replays: list[Transcript] = []
        self._tg: anyio.abc.TaskGroup | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self.host: str | None = None
        self.port: int | None = None

    # ---- lifetime ---------------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        stack = contextlib.AsyncExitStack()
        self._tg = await stack.enter_async_context(anyio.create_task_group())
        self.pbx.attach(self._tg)
        self._stack = stack
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._stack is not None
        assert self._tg is not None
        self._tg.cancel_scope.cancel()
        await self._stack.__aexit__(None, None, None)
        self._tg = None

    def spawn(self, fn: Callable[[], Coroutine[Any, Any, object]]) -> None:
        """Run ``fn`` in the simulator's task group."""
        if self._tg is None:
            raise RuntimeError("use the Simulator as `async with Simulator() as sim:`")
        self._tg.start_soon(fn)

    async def listen(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Accept TCP connections on ``host:port`` (0: a free port); the bound address."""
        listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
        sock = listener.extra(  # noqa: S610 (anyio typed attributes)
            anyio.abc.SocketAttribute.local_address
        )
        bound_host, bound_port = str(sock[0]), int(sock[1])

        async def accept() -> None:
            async with listener:
                await listener.serve(self._serve_tcp)

        self.spawn(accept)
        self.host, self.port = bound_host, bound_port
        return bound_host, bound_port

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` of the TCP listener.

        Raises:
            RuntimeError: when the simulator does not listen on TCP.
        """
        if self.host is None or self.port is None:
            raise RuntimeError("the simulator is not listening; use serve() or listen()")
        return self.host, self.port

    async def _serve_tcp(self, stream: anyio.abc.SocketStream) -> None:
        local = stream.extra(anyio.abc.SocketAttribute.local_address)  # noqa: S610
        remote = stream.extra(anyio.abc.SocketAttribute.remote_address)  # noqa: S610
        # A TCP listener's streams have (host, port[, flow, scope]) addresses, never a path.
        assert not isinstance(local, str)
        assert not isinstance(remote, str)
        await self.serve_stream(stream, _address(local), _address(remote))

    def connect_memory(self) -> MemoryByteStream:
        """A new in-memory connection; returns the client's end (a byte stream).

        Raises:
            RuntimeError: outside ``async with Simulator()`` (nothing is left open).
        """
        if self._tg is None:
            raise RuntimeError("use the Simulator as `async with Simulator() as sim:`")
        client, server = memory_stream_pair()
        self.spawn(lambda: self.serve_stream(server, "IPV4/TCP/127.0.0.1/5038",
                                             "IPV4/TCP/127.0.0.1/0"))  # fmt: skip
        return client

    async def serve_stream(
        self, stream: anyio.abc.ByteStream, local: str = "", remote: str = ""
    ) -> None:
        """Serve one connection on any byte stream until it closes."""
        if self._replays:
            transcript = self._replays.pop(0)
            sid = next(self._ids)
            errors: list[Exception] = []
            async with stream:
                actions = await transcript.serve(stream, errors)
                # Recorded before the close, which the client may see at once.
                self._record(ReceivedAction(sid, None, a) for a in actions)
                self.protocol_errors.extend((sid, exc) for exc in errors)
            return
        session = Session(self, next(self._ids), stream, local, remote)
        self._sessions[session.id] = session
        try:
            session.send_bytes(self.banner)
            await session.run(self._handle)
        finally:
            self._sessions.pop(session.id, None)

    # ---- inspection -------------------------------------------------------------------

    @property
    def sessions(self) -> list[Session]:
        """Connected sessions."""
        return list(self._sessions.values())

    def actions(self, name: str | None = None) -> list[Message]:
        """Received actions (only those named ``name`` if given)."""
        return [
            r.message
            for r in self.received_actions
            if name is None or r.name.lower() == name.lower()
        ]

    async def wait_for_action(self, name: str, count: int = 1) -> Message:
        """Wait until ``count`` actions named ``name`` have arrived; the last of them.

        Those still in :attr:`received_actions` count, and every one that arrives while this
        waits (even if the ``max_received_actions`` bound drops it again).

        Raises:
            ValueError: for a ``count`` below 1.
        """
        if count < 1:
            raise ValueError(f"count must be >= 1, not {count}")
        waiter = _ActionWaiter(name.lower(), count)
        for r in self.received_actions:  # once; then _record offers each new action
            waiter.offer(r)
        if waiter.message is None:
            self._action_waiters.append(waiter)
            try:
                await waiter.done.wait()
            finally:
                self._action_waiters.remove(waiter)
        assert waiter.message is not None
        return waiter.message

    async def wait_for_sessions(self, count: int = 1, *, authenticated: bool = True) -> None:
        """Wait until ``count`` sessions are connected (and logged in)."""
        # Polling: sessions come and go in other tasks.
        while sum(1 for s in self.sessions if s.authenticated or not authenticated) < count:  # noqa: ASYNC110
            await anyio.sleep(0.005)

    # ---- dispatch ---------------------------------------------------------------------

    def _record(self, actions: Iterable[ReceivedAction]) -> None:
        """Add to :attr:`received_actions` (the bound drops the oldest) and wake the waiters."""
        for action in actions:
            self.received_actions.append(action)
            for waiter in self._action_waiters:
                waiter.offer(action)

    async def _handle(self, session: Session, message: Message) -> None:
        self._record([ReceivedAction(session.id, session.username, message)])
        name = message.get("Action")
        if name is None:
            await self.respond(
                session,
                message,
                response("Error", message, ("Message", "Missing action in request")),
            )
            return
        lowered = name.lower()
        for rule in self._rules:
            if rule.kind == "fail" and rule.matches(lowered):
                self._rules.remove(rule)
                await self.respond(
                    session, message, response("Error", message, ("Message", rule.message))
                )
                return
        if not session.authenticated and lowered not in ("login", "logoff", "challenge"):
            await self.respond(
                session, message, response("Error", message, ("Message", "Permission denied"))
            )
            return
        handler = HANDLERS.get(lowered)
        if handler is None:
            await self.respond(
                session,
                message,
                response("Error", message, ("Message",
                         f"Invalid/unknown command: {name}. Use Action: ListCommands to show "
                         "available commands.")),
            )  # fmt: skip
            self.security_event(session, "RequestBadFormat", session.username or "", "Error",
                                request_type=f"Action: {name}")  # fmt: skip
            return
        needed = ACTION_CLASSES.get(lowered, frozenset())
        if needed and session.user is not None and not needed & session.user.write:
            await self.respond(
                session, message, response("Error", message, ("Message", "Permission denied"))
            )
            return
        await handler(self, session, message)

    async def respond(self, session: Session, action: Message, resp: Response) -> None:
        """Send a response, unless scripting says to delay or drop it."""
        name = (action.get("Action") or "").lower()
        for rule in self._rules:
            if rule.kind == "drop" and rule.matches(name):
                self._rules.remove(rule)
                return
        delay, only = self._delay
        if delay > 0 and (only is None or only == name):
            await anyio.sleep(delay)
        session.send(resp)

    def broadcast(self, event: Message) -> None:
        """Offer ``event`` to every session (each applies its permissions and filters)."""
        for session in list(self._sessions.values()):
            session.deliver(event)

    def filters_for(self, user: User) -> FilterSet:
        return FilterSet(user.eventfilters)

    def security_event(
        self, session: Session, name: str, account: str, severity: str, request_type: str = ""
    ) -> None:
        """The security events Asterisk 22 publishes for AMI logins and bad requests."""
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        fields = [("EventTV", now), ("Severity", severity), ("Service", "AMI"),
                  ("EventVersion", "1" if name == "SuccessfulAuth" else "2")]  # fmt: skip
        if name == "RequestBadFormat":
            fields = [("EventTV", now), ("Severity", severity), ("Service", "AMI"),
                      ("EventVersion", "1"), ("SessionID", f"0x{id(session):x}"),
                      ("LocalAddress", session.local_address),
                      ("RemoteAddress", session.remote_address),
                      ("RequestType", request_type), ("SessionTV", now),
                      ("AccountID", account)]  # fmt: skip
        else:
            fields += [("AccountID", account), ("SessionID", f"0x{id(session):x}"),
                       ("LocalAddress", session.local_address),
                       ("RemoteAddress", session.remote_address)]  # fmt: skip
            if name == "SuccessfulAuth":
                fields += [("UsingPassword", "0"), ("SessionTV", now)]
            else:
                fields += [("SessionTV", now)]
        self.pbx.event(name, fields, privilege_text(["security"]))

    # ---- scripting --------------------------------------------------------------------

    def inject_event(
        self,
        event: Message | Iterable[tuple[str, str]] | Mapping[str, str],
        *,
        session: Session | None = None,
    ) -> Event:
        """Send an event as if Asterisk raised it (to every session, or to one).

        Permissions and eventfilters apply as to real events; give it a ``Privilege`` field
        to have it classed (without one it reaches every logged-in session).
        """
        if isinstance(event, Event):
            ev = event
        else:
            pairs = list(event.items()) if isinstance(event, Mapping) else list(event)
            ev = Event(pairs)
        if session is None:
            self.broadcast(ev)
        else:
            session.deliver(ev)
        return ev

    def flood(self, count: int, name: str = "SimulatorFlood", **fields: str) -> None:
        """Queue ``count`` events at once (``Event: <name>``, ``Sequence: 1..count``)."""
        extra = list(fields.items())
        for i in range(1, count + 1):
            self.broadcast(Event([("Event", name), ("Privilege", "system,all"),
                                  ("Sequence", str(i)), *extra]))  # fmt: skip

    def fail_next_action(
        self, action: str | None = None, message: str = "Simulated failure"
    ) -> None:
        """Answer the next action (named ``action``, or any) with ``Response: Error``."""
        self._rules.append(_Rule(action.lower() if action else None, "fail", message))

    def drop_next_response(self, action: str | None = None) -> None:
        """Run the next action (named ``action``, or any) but never send its response."""
        self._rules.append(_Rule(action.lower() if action else None, "drop"))

    def delay_responses(self, seconds: float, action: str | None = None) -> None:
        """Hold every response (to ``action`` only, if given) ``seconds`` before sending it;
        0 turns it off. Events keep flowing meanwhile."""
        self._delay = (seconds, action.lower() if action else None)

    def send_garbage(self, data: bytes, session: Session | None = None) -> None:
        """Write raw bytes to every session (or one), as they are."""
        for s in [session] if session is not None else self.sessions:
            s.send_bytes(data)

    def cut_connections(self, session: Session | None = None) -> None:
        """Drop every connection (or one) at once, as a crash or a network cut would."""
        for s in [session] if session is not None else self.sessions:
            s.cut()

    def replay_next_connection(self, transcript: str | Path | Transcript) -> None:
        """Serve the next connection from a recorded transcript instead of the simulator."""
        t = transcript if isinstance(transcript, Transcript) else Transcript.load(transcript)
        self._replays.append(t)


def _address(addr: tuple[str, int]) -> str:
    """A TCP socket address as Asterisk's security events write it (``IPV4/TCP/host/port``)."""
    kind = "IPV6" if ":" in addr[0] else "IPV4"
    return f"{kind}/TCP/{addr[0]}/{addr[1]}"


@contextlib.asynccontextmanager
async def serve(
    host: str = "127.0.0.1", port: int = 0, **options: object
) -> AsyncIterator[Simulator]:
    """Run a :class:`Simulator` listening on ``host:port`` (port 0: a free one) for the block.

    ``options`` go to :class:`Simulator`. The simulator's ``host``/``port``/``users`` say
    where and how to connect::

        async with ami_client.testing.serve(time_scale=0.01) as sim:
            ...connect to sim.host, sim.port as "admin"/"ami-admin-secret"
    """
    async with Simulator(**options) as sim:  # type: ignore[arg-type]
        await sim.listen(host, port)
        yield sim
