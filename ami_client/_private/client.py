"""The connection layer: :class:`AMIClient` over anyio, and :func:`connect`.

A thin I/O shell around the sans-IO parts (parser, serializer, :class:`Correlator`):

* one *reader* task reads 64 KiB at a time, parses every complete message of the chunk in one
  call, and dispatches them synchronously: answers to the waiting senders, events into the
  subscribers' bounded buffers. Nothing on that path awaits, so nothing can stall it;
* one *writer* task flushes a shared write buffer: a send appends its bytes (atomically, so a
  cancelled sender can never leave half an action on the wire) and 1,000 concurrent sends go
  out in a handful of writes;
* an optional *keepalive* task Pings with a deadline;
* a *supervisor* owns those tasks and, with a :class:`ReconnectPolicy`, reconnects.

None of these tasks ever raises into its task group: a failure is recorded, fails the actions
in flight with :class:`ConnectionLost`, and is raised -- once, as one library exception, never
an ExceptionGroup -- by the caller's next call.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import logging
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from types import TracebackType
from typing import Any, Final, Protocol, cast, runtime_checkable

import anyio
import anyio.abc

from ami_client._private.catalogue._generated_events import EVENT_CLASSES
from ami_client._private.catalogue._registry import from_deferred, from_message
from ami_client._private.classes import ALL_CLASSES, MASK_WORDS, event_mask
from ami_client._private.correlator import (
    COLLECT,
    EVENTLIST_CASINGS,
    INITIAL_STATE,
    ORIGINATE,
    STREAM,
    ActionKind,
    Correlator,
    ListDone,
    ListFailed,
    ListItem,
    ListOverflow,
    ListStarted,
    OriginateDone,
    Outcome,
    Pending,
    every_casing,
)
from ami_client._private.errors import (
    ActionError,
    AMIConnectionError,
    AMIError,
    AuthenticationError,
    ClientClosed,
    ConnectionLost,
    ConnectTimeout,
    EventListError,
    KeepaliveTimeout,
    LimitExceeded,
    LocalProtocolError,
    PermissionDenied,
    SubscriptionOverflow,
)
from ami_client._private.limits import DEFAULT_LIMITS, Limits
from ami_client._private.message import Banner, Event, Message, Response, _kind_of
from ami_client._private.parser import ConnectionClosed, DeferredEvent, Parser, is_greeting
from ami_client._private.reconnect import Keepalive, ReconnectPolicy
from ami_client._private.results import (
    ClientStatistics,
    ConnectionState,
    EventListResult,
    OriginateResult,
)
from ami_client._private.serializer import (
    _BAD_VALUE,
    Action,
    ActionIdGenerator,
    serialize_action,
)
from ami_client._private.subscription import (
    Broadcast,
    EventFilter,
    Overflow,
    Subscription,
    compile_filters,
)
from ami_client._private.transport import (
    Transport,
    TransportFactory,
    make_ssl_context,
    open_tcp,
    running_asyncio_loop,
)

__all__ = ["AMIClient", "ActionLike", "EventFactory", "connect", "generic_events"]

logger = logging.getLogger("ami_client.client")

#: Turns each received event into what subscribers and results hand out. The default keeps the
#: generic :class:`~ami_client.Event`; the typed catalogue provides one that builds its classes.
EventFactory = Callable[[Event], Any]

# Above this many unsent bytes, senders wait for the writer (the server is not reading):
# memory stays bounded, and the keepalive notices a server that stopped reading altogether.
_WRITE_HIGH_WATER: Final = 1024 * 1024
_DEFAULT_LOGOFF_TIMEOUT: Final = 2.0
_DEFAULT_KEEPALIVE: Final = Keepalive()
_dict_get = dict.get
_ACTIONID_CASINGS: Final = every_casing("actionid")


def _action_id(message: Message) -> str | None:
    """The message's ActionID in any casing, or None. Asterisk writes `ActionID`; another
    casing (a proxy, another server) is looked for only if a key is one of them."""
    value = _dict_get(message, "ActionID")
    if value is None and not _ACTIONID_CASINGS.isdisjoint(message):
        value = message.action_id
    return value


# (ConnectionState.RECONNECTING through its class costs ~190 ns on 3.11: see correlator.)
_RECONNECTING: Final = ConnectionState.RECONNECTING
_CONNECTED: Final = ConnectionState.CONNECTED
# Actions with more to do than send and wait (AMIClient._send_session_action): Logoff, and
# those whose settings are re-applied after a reconnect (_remember_session_action). Every
# casing of each, so that a send finds out without lowering the name.
_SESSION_ACTION_NAMES: Final = (
    every_casing("logoff") | every_casing("events") | every_casing("filter")
)


@runtime_checkable
class _HasToAction(Protocol):
    def to_action(self) -> Action: ...


#: What ``send`` accepts: an :class:`Action`, or an object with ``to_action()`` (typed actions).
ActionLike = Action | _HasToAction


def _as_action(action: object) -> Action:
    if isinstance(action, Action):
        return action
    to_action = getattr(action, "to_action", None)
    if callable(to_action):
        result = to_action()
        if isinstance(result, Action):
            return result
        raise TypeError(f"{type(action).__name__}.to_action() returned {result!r}, not an Action")
    raise TypeError(
        f"expected an ami_client.Action or an object with to_action(), not {type(action).__name__}"
    )


def _events_value(events: bool | str | Iterable[str]) -> str:
    """The ``Events`` field of Login: ``on``, ``off`` or a comma list of event classes.

    Raises:
        TypeError: not a bool, a str or an iterable of str.
        ValueError: a name Asterisk does not know as a class (see :func:`_check_mask`).
    """
    if events is True:
        return "on"
    if events is False:
        return "off"
    if isinstance(events, str):
        _check_mask(events)
        return events
    if not isinstance(events, Iterable):
        raise TypeError(f"events must be a bool, a str or event class names, not {events!r}")
    names = list(events)
    if not all(isinstance(name, str) and name for name in names):
        raise TypeError(f"events must be a bool, a str or event class names, not {events!r}")
    for name in names:
        _check_class(name, names)
    return ",".join(names) if names else "off"


# What a mask may name: Asterisk 22's classes and `all`, exactly (strings_to_mask compares
# them case-sensitively and untrimmed).
_MASK_CLASSES: Final = frozenset((*ALL_CLASSES, "all"))


def _check_mask(mask: str) -> None:
    """Refuse an ``Events`` mask with a part Asterisk would silently ignore.

    Asterisk 22 reads a mask of digits as a bit mask and ``on``/``off`` (``ast_true`` and
    ``ast_false`` words, any case) as all or nothing; anything else is a comma list of class
    names, each matched exactly: ``Call``, `` user`` (after ``call,``) or a typo such as
    ``calls`` selects nothing, and a mask of only such names turns every event off, with a
    ``Success`` answer.
    """
    if (mask.isascii() and mask.isdigit()) or mask.lower() in MASK_WORDS:
        return
    for part in mask.split(","):
        _check_class(part, mask)


def _check_class(name: str, mask: object) -> None:
    # (CR, LF or NUL: left to the Action, whose LocalProtocolError says it would inject lines.)
    if name not in _MASK_CLASSES and not _BAD_VALUE.search(name):
        raise ValueError(
            f"{name!r} in the events mask {mask!r} is not an event class: Asterisk would "
            f"ignore it without a word (classes: {', '.join(ALL_CLASSES)}, or all; exactly, "
            "in lower case, no spaces)"
        )


def _mask_has_call_events(mask: str) -> bool:
    """Whether an ``Events`` mask lets ``call`` class events through, read as Asterisk 22
    reads it (digits are a bit mask: ``1`` is ``system`` only, ``2`` is ``call``)."""
    classes = event_mask(mask)
    return classes is None or "call" in classes  # (None: refused, the mask stays as it was)


def _after_greeting(message: Message) -> Message | None:
    """(A message that is neither a response nor an event) The response or event behind a
    greeting repeated at its start, or None.

    The parser reads a greeting only as the stream's first line; one sent again later (a proxy
    that reconnected to its Asterisk, say) becomes the first line of the next message, a field
    with the empty key that makes the message generic: that message's answer would be lost,
    and its action left waiting. The message without that line is what the server meant.
    """
    fields = message.fields
    skip = 0  # (the greeting may come more than once)
    while skip < len(fields) and not fields[skip][0] and is_greeting(fields[skip][1]):
        skip += 1
    if not skip or skip == len(fields):
        return None
    kind = _kind_of(fields[skip][0])
    if kind is Message:
        return None
    raw = message.raw_fields() if message.has_undecodable_bytes else None
    logger.warning("the server greeted again: %r", fields[0][1])
    return kind._from_fields(fields[skip:], tuple(raw[skip:]) if raw is not None else None)


def _error_for(response: Response) -> ActionError:
    # Asterisk 22 answers a missing write permission with exactly this message
    # (tests/data/transcripts/restricted_permission_denied.ami).
    if (response.get("Message") or "").strip().lower() == "permission denied":
        return PermissionDenied(response)
    return ActionError(response)


def generic_events(event: Event) -> Event:
    """An event factory that keeps every event generic (the typed catalogue is not used).

    ``connect(..., event_factory=ami_client.generic_events)`` hands subscribers and results the
    :class:`~ami_client.Event` messages themselves: the cheapest path, for code that only looks
    at a few raw fields.
    """
    return event


class _Waiter(Pending):
    """One action in flight: the correlator's entry for it, and where the reader leaves its
    outcome for the sender. :meth:`AMIClient._submit` sets its ActionID and wake-up.

    The sender is woken by a bare future on asyncio (an anyio.Event there is an asyncio.Event
    and a future behind a backend look-up, for one wake-up), by an anyio.Event elsewhere (trio).
    """

    __slots__ = ("answered", "done", "error", "event", "future", "outcome")

    def __init__(self, kind: ActionKind = COLLECT) -> None:
        # Pending.__init__(self, "", kind), inline: one call less for every action sent.
        self.action_id = ""
        self.kind = kind
        self.state = INITIAL_STATE
        self.response = None
        self.items = None
        self.early = None
        self.future: asyncio.Future[Outcome | None] | None = None
        self.event: anyio.Event | None = None
        self.answered = False  # the sender was woken (an answer, or a list stream started)
        self.done = False  # nothing more will come for this action
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None

    def wake(self) -> None:
        future = self.future
        if future is not None:
            if not future.done():  # done: the waiting sender was cancelled
                if self.error is not None:
                    future.set_exception(self.error)
                else:
                    future.set_result(self.outcome)  # (the sender reads it from there)
        else:
            # (_submit gives every waiter a future or an event before it can be answered)
            assert self.event is not None
            self.event.set()

    def finish(self, outcome: Outcome | None, error: BaseException | None = None) -> None:
        """The action's end. Called once: the correlator forgets an entry as it ends it, and
        only entries it still holds are answered or failed."""
        self.done = self.answered = True
        self.outcome = outcome
        self.error = error
        self.wake()

    def result(self) -> Outcome:
        """The outcome, once answered; raises the error that ended the action instead."""
        if self.error is not None:
            raise self.error
        outcome = self.outcome
        assert outcome is not None
        return outcome

    def deliver(self, outcome: Outcome) -> None:
        """What the correlator said about this action (the reader calls it). For COLLECT and
        ORIGINATE that is always the final outcome (ListStarted and ListItem are STREAM's)."""
        self.finish(outcome)


class _SettingWaiter(_Waiter):
    """An ``Events`` or ``Filter`` action in flight. The server's acceptance is remembered (for
    re-applying after a reconnect) by the reader as it dispatches the answer, not by the
    sender once it resumes: senders woken by one read resume in any order (trio shuffles
    them), and one may be cancelled before it resumes -- either way the remembered settings
    would differ from what the server applied, and a reconnect would restore the wrong ones
    (an older ``Events`` mask, or ``Filter``s out of order)."""

    __slots__ = ("action", "client")

    def __init__(self, client: AMIClient, action: Action) -> None:
        super().__init__(COLLECT)
        self.client = client
        self.action = action

    def finish(self, outcome: Outcome | None, error: BaseException | None = None) -> None:
        if error is None and isinstance(outcome, Response) and not outcome.is_error:
            self.client._remember_session_action(self.action)
        super().finish(outcome, error)


class _Link:
    """One live connection (one AMI session): transport, parser, correlator, write buffer."""

    def __init__(self, transport: Transport, parser: Parser, max_list_items: int) -> None:
        self.transport = transport
        self.parser = parser
        self.loop = running_asyncio_loop()
        self.correlator = Correlator(max_items=max_list_items)
        # The actions in flight (the correlator's entries: every one is a _Waiter).
        self.waiters = cast("dict[str, _Waiter]", self.correlator.entries)
        # The other actions in flight: what AMIClient.send sends on asyncio, until its answer.
        # Each is just the future its sender awaits: most answers are one `Response: Success`,
        # which needs no entry in the correlator (see correlator.answers_plainly). An answer
        # that needs one (an EventList, an error) gets it then (AMIClient._adopt). An ActionID
        # is in flight if it is a key of either table.
        self.bare: dict[str, asyncio.Future[Outcome | None]] = {}
        self.wbuf = bytearray()
        # A transport that can take bytes synchronously (AsyncioTransport, so on asyncio): a
        # send hands them over itself while nothing waits in wbuf, instead of waking the writer
        # task -- the first send of each turn of the event loop only: the sends after it in the
        # same turn (many tasks sending at once) go to wbuf, and the writer flushes them all in
        # one write rather than one system call each.
        write_nowait = getattr(transport, "write_nowait", None) if self.loop is not None else None
        self.write_nowait: Callable[[bytes], bool] = write_nowait or _refuse
        self.wrote_this_turn = False
        self.writer_wake: anyio.Event | None = None
        self.drained: anyio.Event | None = None
        self.finished = anyio.Event()
        self.failure: BaseException | None = None
        self.goodbye = False  # Logoff sent: the server's close that follows is not a failure

    def new_turn(self) -> None:
        """(A callback of the next turn of the event loop) Sends may write directly again."""
        self.wrote_this_turn = False

    def write(self, data: bytes) -> None:
        """Hand over one action's bytes, whole: to the transport while nothing waits in wbuf
        (bytes must leave in order) and it is this turn's first, else into wbuf."""
        if self.wbuf or self.wrote_this_turn or not self.write_nowait(data):
            self.wbuf += data
            wake = self.writer_wake
            if wake is not None:
                self.writer_wake = None
                wake.set()
        else:
            self.wrote_this_turn = True
            # (write_nowait took it: only asyncio transports have one, so there is a loop)
            self.loop.call_soon(self.new_turn)  # type: ignore[union-attr]


class AMIClient:
    """An AMI connection over TCP or TLS, used as an async context manager.

    Use :func:`connect` (same arguments) to make one::

        async with ami_client.connect("127.0.0.1", username="admin", secret="...") as ami:
            pong = await ami.send(Action("Ping"))

    Args:
        host: The server's address.
        port: The AMI port (5038; AMI over TLS is usually 5039).
        username: The manager.conf user.
        secret: Its secret; never logged, never in a repr.
        ssl: None for plain TCP; True for TLS verified against the system's CAs; or an
            :class:`ssl.SSLContext` (e.g. for a private CA). Verification is never turned off
            for you.
        server_hostname: The name to verify the certificate against (default: ``host``).
        auth: ``"plain"`` (the secret is sent) or ``"md5"`` (the Challenge handshake: only
            ``md5(challenge + secret)`` is sent).
        events: The ``Events`` mask at login: True (``on``), False (``off``), or event classes
            such as ``["call", "system"]``.
        reconnect: None (a lost link ends the client) or a :class:`ReconnectPolicy`.
        keepalive: A :class:`Keepalive`, a Ping interval in seconds, or None to disable.
        limits: Parser limits (:class:`~ami_client.Limits`).
        max_list_items: The most items one EventList may collect before it fails with
            :class:`~ami_client.LimitExceeded`.
        connect_timeout: Seconds allowed for connecting and logging in (each attempt).
        event_factory: Turns each :class:`~ami_client.Event` into what subscribers and results
            receive. Default: the typed catalogue (:func:`ami_client.events.from_message`:
            ``isinstance(event, events.Hangup)``, ``event.cause``; ``event["Cause"]`` still
            reads the raw field). :func:`generic_events` keeps the generic messages.
        transport_factory: Opens the transport instead of TCP/TLS to ``host:port`` (the seam
            used by other transports and by tests).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5038,
        *,
        username: str,
        secret: str,
        ssl: Any = None,
        server_hostname: str | None = None,
        auth: str = "plain",
        events: bool | str | Iterable[str] = True,
        reconnect: ReconnectPolicy | None = None,
        keepalive: Keepalive | float | None = _DEFAULT_KEEPALIVE,
        limits: Limits = DEFAULT_LIMITS,
        max_list_items: int = 100_000,
        connect_timeout: float = 10.0,
        event_factory: EventFactory | None = None,
        transport_factory: TransportFactory | None = None,
    ) -> None:
        if auth not in ("plain", "md5"):
            raise ValueError(f"auth must be 'plain' or 'md5', not {auth!r}")
        if not isinstance(username, str) or not isinstance(secret, str):
            raise TypeError("username and secret must be str")
        if reconnect is not None and not isinstance(reconnect, ReconnectPolicy):
            raise TypeError(f"reconnect must be a ReconnectPolicy or None, not {reconnect!r}")
        if isinstance(keepalive, (int, float)) and not isinstance(keepalive, bool):
            keepalive = Keepalive(interval=float(keepalive))
        if keepalive is not None and not isinstance(keepalive, Keepalive):
            raise TypeError(f"keepalive must be a Keepalive, seconds or None, not {keepalive!r}")
        if not (isinstance(connect_timeout, (int, float)) and connect_timeout > 0):
            raise ValueError(f"connect_timeout must be > 0, not {connect_timeout!r}")
        # Checked here, not where they are first used (at connect, or on the first event):
        # there a caller's mistake would look like a connection failure or a bad event.
        if isinstance(max_list_items, bool) or not isinstance(max_list_items, int):
            raise TypeError(f"max_list_items must be an int, not {max_list_items!r}")
        if max_list_items < 1:
            raise ValueError(f"max_list_items must be >= 1, not {max_list_items!r}")
        if not isinstance(limits, Limits):
            raise TypeError(f"limits must be an ami_client.Limits, not {limits!r}")
        if event_factory is not None and not callable(event_factory):
            raise TypeError(f"event_factory must be callable or None, not {event_factory!r}")
        if transport_factory is not None and not callable(transport_factory):
            raise TypeError(
                f"transport_factory must be callable or None, not {transport_factory!r}"
            )
        if transport_factory is None and "://" in host:
            # AMI over HTTP(S), chosen by the URL scheme (http_transport.py, docs/http.md).
            from ami_client._private.http_transport import factory_for_url

            transport_factory, host, port, ssl = factory_for_url(host, ssl, server_hostname)
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self._ssl_context = make_ssl_context(ssl)
        self._server_hostname = server_hostname
        self.auth = auth
        self._events = _events_value(events)
        Action("Login", Username=username, Events=self._events)  # validate now, not at connect
        self._mask = self._events  # the session's Events mask now (changed by the Events action)
        self.reconnect = reconnect
        self.keepalive = keepalive
        self.limits = limits
        self.max_list_items = max_list_items
        self.connect_timeout = float(connect_timeout)
        self._factory: EventFactory = event_factory or from_message
        self._has_factory = self._factory is not generic_events
        self._transport_factory = transport_factory
        self._ids = ActionIdGenerator()
        self._state = ConnectionState.CLOSED
        self._entered = False
        self._closing = False
        self._link: _Link | None = None
        self._failure: BaseException | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        # (Made by __aenter__, which needs a running event loop.)
        self._run_scope: anyio.CancelScope
        self._stopped: anyio.Event  # the supervisor has returned
        self._host: int  # the id of the task that entered the client (and its task group)
        self._closed: anyio.Event  # aclose() is done
        self._subscriptions: tuple[Subscription[Any], ...] = ()
        self._watchers: Broadcast[ConnectionState] = Broadcast()
        self._session_actions: list[Action] = []  # Events/Filter to re-apply after reconnecting
        # Called (synchronously) once a reconnect is complete, before the state turns
        # CONNECTED: after every event of the old session was dispatched, so a hook that
        # offers a marker to a subscription puts it behind them (track() does).
        self._reconnected_hooks: list[Callable[[], None]] = []
        self._lower_names: dict[str, str] = {}
        self._events_received = 0
        self._late_responses = 0
        self._reconnects = 0

    def __repr__(self) -> str:
        return (
            f"<AMIClient {self.username}@{self.host}:{self.port} "
            f"{'tls' if self._ssl_context else 'tcp'} {self._state.value}>"
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> AMIClient:
        if self._entered:
            raise RuntimeError("an AMIClient can be entered only once")
        self._entered = True
        self._set_state(ConnectionState.CONNECTING)
        tg = anyio.create_task_group()
        await tg.__aenter__()
        try:
            link = await self._open_link()
        except BaseException as exc:
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)
            self._set_state(ConnectionState.CLOSED)
            self._watchers.end()
            if isinstance(exc, Exception) and not isinstance(exc, AMIError):
                raise AMIConnectionError(f"connection failed: {exc!r}") from exc
            raise
        self._tg = tg
        self._link = link
        # The supervisor runs in a scope of its own: aclose() cancels that, never the task
        # group's scope, which holds the caller's task too (the body of `async with`).
        self._run_scope = anyio.CancelScope()
        self._stopped = anyio.Event()
        self._closed = anyio.Event()
        self._host = anyio.get_current_task().id  # the task that entered the task group
        self._set_state(ConnectionState.CONNECTED)
        tg.start_soon(self._run, link)
        return self

    async def _run(self, link: _Link) -> None:
        try:
            with self._run_scope:
                await self._supervise(link, False)
        finally:
            self._stopped.set()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.aclose()
        finally:
            await self._exit_task_group()

    async def _exit_task_group(self) -> None:
        """(The task that entered the client) Exit its task group, where nothing runs any
        more once aclose() is done: in the task and the scope it was entered in."""
        tg, self._tg = self._tg, None
        if tg is not None:
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)

    async def aclose(self, *, logoff_timeout: float = _DEFAULT_LOGOFF_TIMEOUT) -> None:
        """Log off (waiting at most ``logoff_timeout`` for ``Goodbye``) and close.

        Pending actions fail with :class:`ClientClosed`; subscriptions end. It may be called
        from any task (a shutdown handler, say); a second call waits for the first to finish.
        Called by the task that entered the client, it also ends the client's task group (for
        a client entered with ``await ami.__aenter__()``), so there it must be awaited in the
        cancel scope that entered it, not in a scope nested in the ``async with`` block.
        """
        if self._tg is None:
            return
        if self._closing:
            await self._closed.wait()
        else:
            await self._close(logoff_timeout)
        if anyio.get_current_task().id == self._host:
            await self._exit_task_group()

    async def _close(self, logoff_timeout: float) -> None:
        self._closing = True
        link = self._link
        assert link is not None  # (__aenter__ sets it with _tg)
        try:
            # Shielded: the Logoff must be tried (within its own deadline) even when the
            # caller is being cancelled, and the close must complete.
            with anyio.CancelScope(shield=True):
                if self._state is ConnectionState.CONNECTED:
                    self._set_state(ConnectionState.CLOSING)
                    link.goodbye = True
                    with anyio.move_on_after(logoff_timeout):
                        try:
                            await self._request_on(link, Action("Logoff"), COLLECT)
                        except AMIError as error:
                            logger.debug("Logoff not answered: %s", error)
                self._run_scope.cancel()
                await self._stopped.wait()
                self._fail_link(link, ClientClosed("the client was closed"))
                await link.transport.aclose()
        finally:
            self._set_state(ConnectionState.CLOSED)
            for sub in self._subscriptions:
                sub._end(None)
            self._watchers.end()
            self._closed.set()
            logger.info("closed connection to %s:%s", self.host, self.port)

    async def _open_transport(self) -> Transport:
        if self._transport_factory is not None:
            return await self._transport_factory()
        return await open_tcp(
            self.host,
            self.port,
            ssl_context=self._ssl_context,
            server_hostname=self._server_hostname,
        )

    async def _open_link(self) -> _Link:
        """Connect and log in, within ``connect_timeout``."""
        logger.info(
            "connecting to %s:%s (%s) as %r",
            self.host,
            self.port,
            "tls" if self._ssl_context else "tcp",
            self.username,
        )
        transport: Transport | None = None
        try:
            with anyio.fail_after(self.connect_timeout):
                transport = await self._open_transport()
                parser = Parser(limits=self.limits, expect_banner=transport.expects_banner)
                link = _Link(transport, parser, self.max_list_items)
                leftovers = await self._login(link)
        except TimeoutError as exc:
            if transport is not None:
                await transport.aclose()
            raise ConnectTimeout(
                f"no connection and login to {self.host}:{self.port} within "
                f"{self.connect_timeout} s"
            ) from exc
        except BaseException:
            if transport is not None:
                with anyio.CancelScope(shield=True):
                    await transport.aclose()
            raise
        logger.info("logged in to %s:%s as %r", self.host, self.port, self.username)
        # From now on the reader gets typed events' text unread (DeferredEvent) when the
        # factory is the catalogue's: fields are read only if a subscriber asks for them.
        parser._defer_events = self._factory is from_message
        if leftovers:
            self._dispatch(link, leftovers)
        return link

    async def _login(self, link: _Link) -> list[Message]:
        """The handshake, before the reader runs: banner, [Challenge], Login.

        Returns messages that arrived with the login answer (events) for normal dispatch.
        """
        transport, parser = link.transport, link.parser
        queue: deque[object] = deque()
        leftovers: list[Message] = []

        async def next_item() -> object:
            while not queue:
                if parser._error is not None:
                    # Found behind the items handed out already (next_events() gives those
                    # first): raise it now, not after the server's next bytes, which may never
                    # come (the login would wait for connect_timeout, a misleading error).
                    parser.next_events()
                data = await transport.receive()
                parser.receive_data(data)
                # (After b"", the parser's last item is a ConnectionClosed, or it raises.)
                queue.extend(parser.next_events())
            return queue.popleft()

        async def answer(action_id: str, what: str) -> Response:
            while True:
                item = await next_item()
                if isinstance(item, ConnectionClosed):
                    raise ConnectionLost(f"the server closed the connection during {what}")
                # (After the greeting the parser gives messages only: events are not deferred
                # before the login is done.)
                assert isinstance(item, Message)
                if type(item) is Message:
                    item = _after_greeting(item) or item
                if isinstance(item, Response) and item.action_id == action_id:
                    return item
                leftovers.append(item)

        if transport.expects_banner:
            banner = await next_item()
            if isinstance(banner, ConnectionClosed):
                raise ConnectionLost("the server closed the connection before its greeting")
            # (A first line that is not a greeting is the parser's RemoteProtocolError.)
            assert isinstance(banner, Banner)
            logger.debug("server greeting: %s", banner.raw.decode("utf-8", "replace"))
        fields: dict[str, str] = {"Username": self.username}
        if self.auth == "md5":
            challenge_id = self._ids()
            await transport.send(
                serialize_action(Action("Challenge", AuthType="MD5"), challenge_id)
            )
            response = await answer(challenge_id, "the MD5 challenge")
            challenge = response.get("Challenge")
            if response.is_error or not challenge:
                raise AuthenticationError(
                    f"the server refused the MD5 challenge: {response.get('Message') or response}"
                )
            # Asterisk's own scheme (manager.c, action_login): Key = md5(challenge + secret).
            key = hashlib.md5(
                (challenge + self._secret).encode("utf-8"), usedforsecurity=False
            ).hexdigest()
            fields.update(AuthType="MD5", Key=key)
        else:
            fields["Secret"] = self._secret
        fields["Events"] = self._events
        login_id = self._ids()
        # Never logged: the bytes hold the secret (or the key derived from it).
        await transport.send(serialize_action(Action("Login", fields), login_id))
        response = await answer(login_id, "login")
        if response.is_error:
            # Asterisk 22 waits about 1 s, answers `Message: Authentication failed` and closes
            # (tests/data/transcripts/login_bad_secret.ami).
            message = response.get("Message") or "login refused"
            raise AuthenticationError(f"{message} (user {self.username!r})")
        # What came in the same reads after the answer (Asterisk sends FullyBooted right
        # behind it) is dispatched too: after a reconnect, subscribers rely on it.
        leftovers.extend(item for item in queue if isinstance(item, Message))
        return leftovers

    # -- state -----------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The connection's current state."""
        return self._state

    def _set_state(self, state: ConnectionState) -> None:
        if state is self._state:
            return
        logger.info("connection state: %s -> %s", self._state.value, state.value)
        self._state = state
        self._watchers.publish(state)

    def watch_state(self, *, buffer: int = 64) -> Subscription[ConnectionState]:
        """An async context manager and iterator of connection state changes.

        ::

            async with ami.watch_state() as changes:
                async for state in changes:
                    ...

        Changes are buffered (oldest dropped past ``buffer``); iteration ends once the client
        is closed.
        """
        return self._watchers.subscribe(buffer)

    def statistics(self) -> ClientStatistics:
        """Queue depths, drops, pending actions and the state, right now."""
        link = self._link
        return ClientStatistics(
            state=self._state,
            pending_actions=len(link.correlator) + len(link.bare) if link is not None else 0,
            write_buffer=_unsent(link) if link is not None else 0,
            events_received=self._events_received,
            late_responses=self._late_responses,
            reconnects=self._reconnects,
            subscriptions=tuple(sub.statistics() for sub in self._subscriptions),
        )

    # -- supervisor, reader, writer, keepalive ---------------------------------------------

    async def _supervise(self, link: _Link, reapply: bool) -> None:
        while True:
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._guard, link, self._read, "reader")
                    tg.start_soon(self._guard, link, self._write, "writer")
                    if self.keepalive is not None:
                        tg.start_soon(self._guard, link, self._keepalive, "keepalive")
                    run = getattr(link.transport, "run", None)
                    if run is not None:
                        # A transport with work of its own: AMI over HTTP long-polls WaitEvent.
                        tg.start_soon(
                            self._guard, link, lambda _link, _run=run: _run(), "transport"
                        )
                    if reapply:
                        await self._reapply(link)
                        if link.failure is None:
                            self._link = link
                            self._reconnects += 1
                            for hook in tuple(self._reconnected_hooks):
                                hook()
                            self._set_state(ConnectionState.CONNECTED)
                    await link.finished.wait()
                    tg.cancel_scope.cancel()
            finally:
                # Also when aclose() cancels the supervisor: a link still re-applying the
                # session's settings is not self._link yet, so aclose() would not close it.
                with anyio.CancelScope(shield=True):
                    await link.transport.aclose()
            if self._closing:
                return
            reason = link.failure
            if self.reconnect is None or link.goodbye:  # (goodbye: the caller logged off)
                self._terminate(reason)
                return
            logger.warning("connection to %s:%s lost: %s", self.host, self.port, reason)
            new_link = await self._reconnect_loop(self.reconnect)
            if isinstance(new_link, int):  # every attempt failed
                self._terminate(reason, attempts=new_link)
                return
            link, reapply = new_link, True

    async def _reconnect_loop(self, policy: ReconnectPolicy) -> _Link | int:
        """A new link; or, once the policy's attempts are all spent, how many there were."""
        self._set_state(ConnectionState.RECONNECTING)
        attempt = 0
        for attempt, delay in enumerate(policy.delays(), start=1):
            await anyio.sleep(delay)
            try:
                link = await self._open_link()
            except AMIError as error:
                logger.warning(
                    "reconnect attempt %d to %s:%s failed: %s", attempt, self.host, self.port, error
                )
                continue
            logger.info("reconnected to %s:%s after %d attempt(s)", self.host, self.port, attempt)
            return link
        return attempt

    async def _reapply(self, link: _Link) -> None:
        """Send the Events/Filter settings of the previous session again, in order."""
        for action in list(self._session_actions):
            try:
                outcome = await self._request_on(link, action, COLLECT)
            except AMIError as error:
                logger.warning("could not re-apply %r after reconnecting: %s", action, error)
                return
            if isinstance(outcome, Response) and outcome.is_error:
                logger.warning(
                    "re-applying %r after reconnecting failed: %s", action, outcome.get("Message")
                )

    def _terminate(self, reason: BaseException | None, *, attempts: int | None = None) -> None:
        """The link died and will not come back: remember why, end subscriptions.

        ``attempts``: how many reconnects failed before giving up (None: none were tried).
        """
        if self._failure is not None:
            return
        self._failure = reason
        self._set_state(ConnectionState.CLOSED)
        if isinstance(reason, ClientClosed):
            # The caller sent Logoff and the server closed: the end asked for, as aclose().
            for sub in self._subscriptions:
                sub._end(None)
            self._watchers.end()
            logger.info("logged off from %s:%s", self.host, self.port)
            return
        error = self._lost(reason)
        for sub in self._subscriptions:
            sub._end(self._lost(reason))
        self._watchers.end()
        if attempts is None:
            logger.error("connection to %s:%s lost for good: %s", self.host, self.port, error)
        else:
            logger.error(
                "connection to %s:%s lost for good: %s (gave up after %d reconnect attempts)",
                self.host,
                self.port,
                error,
                attempts,
            )

    async def _guard(
        self, link: _Link, body: Callable[[_Link], Awaitable[None]], name: str
    ) -> None:
        """Run one of the link's tasks; turn any failure into the link's failure."""
        try:
            await body(link)
        except Exception as exc:
            if not isinstance(exc, AMIError):
                logger.exception("internal error in the %s task", name)
            self._fail_link(link, exc)
        else:
            self._fail_link(link, ConnectionLost("the server closed the connection"))

    def _fail_link(self, link: _Link, reason: BaseException) -> None:
        """Mark the link dead, fail everything in flight at once (synchronously)."""
        if link.failure is None:
            link.failure = reason
            # DEBUG only: the supervisor reports the loss once, with what follows from it
            # (reconnecting at WARNING, or lost for good at ERROR); a caller that was
            # connecting gets the error itself.
            logger.debug(
                "link failed: %s (%d actions in flight)",
                reason,
                len(link.bare) + len(link.correlator),
            )
        for entry in link.correlator.forget_all():
            cast(_Waiter, entry).finish(None, self._lost(reason))
        futures = list(link.bare.values())
        link.bare.clear()
        for future in futures:
            if not future.done():  # done: its sender was cancelled
                future.set_exception(self._lost(reason))
        link.wbuf.clear()
        for event in (link.drained, link.writer_wake):
            if event is not None:
                event.set()
        link.finished.set()
        if link is self._link and not self._closing:
            # Observable at once, before the supervisor runs: the state, and for a link that
            # will not come back, the subscriptions' end.
            if self.reconnect is None or link.goodbye:  # (goodbye: the caller logged off)
                self._terminate(reason)
            else:
                self._set_state(ConnectionState.RECONNECTING)

    def _lost(self, reason: BaseException | None) -> AMIConnectionError:
        """A fresh exception for one caller, about the link's end (cause: the real reason)."""
        if self._closing or isinstance(reason, ClientClosed):
            error: AMIConnectionError = ClientClosed("the client was closed")
        elif isinstance(reason, KeepaliveTimeout):
            error = KeepaliveTimeout(str(reason))
        elif isinstance(reason, ConnectionLost):
            error = ConnectionLost(str(reason))
        else:
            error = ConnectionLost(f"connection lost: {reason!r}")
        error.__cause__ = reason
        return error

    async def _read(self, link: _Link) -> None:
        transport = link.transport
        # A transport that can hand over small reads as they arrive (AsyncioTransport): they
        # are parsed and dispatched there, in the same turn of the event loop (an answer
        # wakes its sender one turn sooner). Big reads and the end still come through here.
        set_receiver = getattr(transport, "set_receiver", None)
        if set_receiver is not None:
            set_receiver(partial(self._received, link))
        try:
            if link.parser._error is not None:
                # Found behind the login's answer, in the same read: raise it (see _received).
                link.parser.next_events()
            while True:
                data = await transport.receive()
                self._received(link, data)
                if not data:
                    if link.goodbye:
                        raise ClientClosed("logged off")
                    raise ConnectionLost("the server closed the connection")
        finally:
            if set_receiver is not None:
                set_receiver(None)

    def _received(self, link: _Link, data: bytes) -> None:
        """Parse and dispatch one read: by the reader task, or by the transport as the bytes
        arrive (an exception then reaches the reader task: the transport's receive() raises
        it)."""
        if link.failure is not None:
            return  # the link is being torn down: nothing on it is waited for any more
        parser = link.parser
        parser.receive_data(data)
        items = parser.next_events()
        if items:
            self._dispatch(link, items)
            if parser._error is not None:
                # The read held messages, then something the parser refuses: next_events()
                # handed out the messages and keeps the error for its next call. Make that call
                # now (it raises), once the messages are dispatched: waiting for the server's
                # next bytes would leave every action in flight hanging, perhaps for ever.
                parser.next_events()

    def _dispatch(self, link: _Link, items: list[Any]) -> None:
        """Hand each message to its waiting action and/or the subscribers. Never awaits."""
        correlator = link.correlator
        on_response = correlator.on_response
        waiters = link.waiters
        bare = link.bare
        plain_keys = EVENTLIST_CASINGS.isdisjoint
        subscriptions = self._subscriptions
        factory = self._factory
        has_factory = self._has_factory
        make = self._make
        typed = self._typed
        # Subscribers that take every event (no filter) get this read's events as one batch:
        # one buffer extend and one wake-up per read, not per event. Nothing can observe the
        # difference: dispatch is synchronous, and _offer_all applies the overflow policy
        # exactly as offering them one by one would.
        batch: list[Any] | None = None
        if subscriptions and all(sub.match_all for sub in subscriptions):
            batch = []
        events = 0
        for message in items:
            kind = type(message)
            if kind is DeferredEvent:
                # An event whose fields are not read yet (only with the catalogue's factory).
                if waiters and not message.lacks("ActionID"):
                    # It may answer an action in flight (by its ActionID, in any casing):
                    # read it, and handle it as any other event below.
                    message = message.message()
                    kind = Event
                else:
                    events += 1
                    if batch is not None:
                        batch.append(from_deferred(message))
                    elif subscriptions:
                        self._offer_named(message.name, message, from_deferred)
                    continue
            if kind is Event:
                events += 1
                if waiters:
                    waiter = waiters.get(_action_id(message))  # type: ignore[arg-type]
                    if waiter is not None:
                        outcome = correlator.on_event(waiter, message)
                        if outcome is not None:
                            waiter.deliver(outcome)
                if batch is not None:
                    batch.append(make(message, factory) if has_factory else message)
                elif subscriptions:
                    name = _dict_get(message, "Event")
                    self._offer_named(name if name is not None else message.name, message, typed)
            elif kind is Response:
                # (None, for no ActionID, is never a key.) Asterisk writes `ActionID`.
                action_id = _dict_get(message, "ActionID") or _action_id(message)
                future = bare.pop(action_id, None)  # type: ignore[arg-type]
                # (A future that is done: its sender was cancelled; the answer is a late one.)
                if future is not None and not future.done():  # sent by send() on asyncio
                    if _dict_get(message, "Response") == "Success" and plain_keys(message):
                        # answers_plainly(message), inline (for a Ping flood this is most of
                        # what the reader does): the response is the outcome.
                        future.set_result(message)
                    else:
                        self._adopt(link, action_id, future, message)  # type: ignore[arg-type]
                    continue
                waiter = waiters.get(action_id)  # type: ignore[arg-type]
                if waiter is not None:
                    outcome = on_response(waiter, message)
                    if (
                        type(outcome) is Response
                        and (future := waiter.future) is not None
                        and type(waiter) is _Waiter
                    ):
                        # Answered: waiter.finish(outcome), inline (for a Ping flood this is
                        # most of what the reader does). Nothing finished it before: the
                        # correlator answers only actions in flight. (Only for the plain
                        # waiter: a subclass's finish() has more to do, see _SettingWaiter.)
                        waiter.done = waiter.answered = True
                        waiter.outcome = outcome
                        if not future.done():  # done: the waiting sender was cancelled
                            future.set_result(outcome)
                    elif outcome is not None:
                        waiter.deliver(outcome)
                else:
                    self._late_responses += 1
                    if logger.isEnabledFor(logging.DEBUG):
                        logger.debug("response for no pending action: %r", message)
            elif isinstance(message, Message):
                again = _after_greeting(message)
                if again is not None:
                    # A response or event behind a repeated greeting: dispatch it as such,
                    # after this read's events so far (their batch goes first: order is kept).
                    if batch:
                        for sub in subscriptions:
                            sub._offer_all(batch)
                        batch.clear()
                    self._dispatch(link, [again])
                    continue
                # A message that is neither a response nor an event (a bare line, say): kept
                # out of everyone's way, but not silently.
                logger.warning("unexpected message from the server: %r", message)
        if batch:
            for sub in subscriptions:
                sub._offer_all(batch)
        self._events_received += events

    def _offer_named(self, name: str, event: Any, build: Callable[[Any], Any]) -> None:
        """Offer one event to the subscriptions that want it (filtered ones: by name or by
        predicate); ``build(event)`` makes what they get, once, only if one wants it."""
        lower_names = self._lower_names
        lname = lower_names.get(name)
        if lname is None:
            if len(lower_names) > 4096:  # names come from the server: bound the cache
                lower_names.clear()
            lname = lower_names[name] = name.lower()
        obj: Any = None
        for sub in self._subscriptions:
            if sub.match_all or lname in sub._names:
                if obj is None:
                    obj = build(event)
                sub._offer(obj)
            elif sub._predicates:
                if obj is None:
                    obj = build(event)
                if sub._wants(obj):
                    sub._offer(obj)

    def _typed(self, event: Event) -> Any:
        """What subscribers get for ``event``: the factory's object (or the event itself)."""
        return self._make(event, self._factory)

    def _make(self, event: Event, factory: EventFactory) -> Any:
        if not self._has_factory:
            return event
        try:
            return factory(event)
        except Exception:  # a bad event must not stop the reader
            # Nothing is lost: subscribers get the generic event instead of a typed one.
            logger.warning(
                "event factory failed on %r; delivering it untyped", event, exc_info=True
            )
            return event

    async def _write(self, link: _Link) -> None:
        transport, wbuf = link.transport, link.wbuf
        while True:
            if not wbuf:
                wake = link.writer_wake = anyio.Event()
                await wake.wait()
                link.writer_wake = None
                if link.failure is not None:
                    return
                continue
            data = bytes(wbuf)
            wbuf.clear()
            drained = link.drained
            if drained is not None:
                link.drained = None
                drained.set()
            await transport.send(data)

    async def _keepalive(self, link: _Link) -> None:
        policy = self.keepalive
        assert policy is not None
        while True:
            await anyio.sleep(policy.interval)
            with anyio.move_on_after(policy.timeout) as scope:
                await self._request_on(link, Action("Ping"), COLLECT)
            if scope.cancelled_caught:
                raise KeepaliveTimeout(
                    f"no answer to a keepalive Ping within {policy.timeout} s: link presumed dead"
                )

    # -- sending ---------------------------------------------------------------------------

    def _usable_link(self) -> _Link:
        link = self._link
        if self._closing or (self._tg is None and self._failure is None):
            raise ClientClosed("the client is closed" if self._entered else "not connected yet")
        if self._failure is not None:
            raise self._lost(self._failure)
        # (A failed link is the current one only while reconnecting: _fail_link changes the
        # state at once. Checked anyway: send() on asyncio would wait on a dead link forever.)
        if self._state is _RECONNECTING or link is None or link.failure is not None:
            raise ConnectionLost("not connected (reconnecting)")
        return link

    async def _request_on(
        self, link: _Link, action: Action, kind: ActionKind, waiter: _Waiter | None = None
    ) -> Outcome:
        """Send ``action`` on ``link`` and wait for its outcome (see :class:`Correlator`)."""
        if len(link.wbuf) > _WRITE_HIGH_WATER:
            await self._drain(link)
        if waiter is None:
            waiter = _Waiter(kind)
        self._submit(link, action, waiter)
        try:
            future = waiter.future
            if future is not None:
                await future  # asyncio (anyio cancels a task waiting on a future)
            else:
                assert waiter.event is not None
                await waiter.event.wait()
        finally:
            if not waiter.answered:
                self._abandon(link, waiter)
        return waiter.result()

    async def _drain(self, link: _Link) -> None:
        """Until the write buffer is back under its high-water mark (the server reads again)."""
        while len(link.wbuf) > _WRITE_HIGH_WATER:
            drained = link.drained = link.drained or anyio.Event()
            await drained.wait()
            if link.failure is not None:
                raise self._lost(link.failure)

    def _submit(self, link: _Link, action: Action, waiter: _Waiter) -> None:
        """Register ``waiter`` for ``action`` and hand over the action's bytes. Never awaits:
        once it returns, a cancellation can only happen during the wait for the answer.

        Raises:
            LocalProtocolError: the action cannot be sent safely, or its ActionID is in flight.
            AMIConnectionError: the link is dead.
        """
        if link.failure is not None:
            raise self._lost(link.failure)
        waiters = link.waiters
        action_id, data = action._frame(self._ids.next_id)
        if action_id in waiters or action_id in link.bare:
            action_id, data = self._free_action_id(link, action, action_id)
        waiter.action_id = action_id
        waiters[action_id] = waiter  # the ID is free: what Correlator.add does after its check
        loop = link.loop
        if loop is not None:
            waiter.future = loop.create_future()
        else:
            waiter.event = anyio.Event()
        link.write(data)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("sent %r as ActionID %s", action, action_id)

    def _free_action_id(self, link: _Link, action: Action, action_id: str) -> tuple[str, bytes]:
        """(When ``action_id`` is in flight already) Refuse a caller's ActionID; step over one
        of ours that a caller's ActionID took."""
        if action.action_id is not None:
            # What Correlator.add raises (the ActionID may be in either table).
            raise LocalProtocolError(f"ActionID {action_id!r} is already in flight")
        data = b""
        while action_id in link.waiters or action_id in link.bare:
            action_id, data = action._frame(self._ids.next_id)
        return action_id, data

    def _abandon(self, link: _Link, waiter: _Waiter) -> None:
        """The sender was cancelled: forget the action; its answer, if it comes, is dropped."""
        link.correlator.forget(waiter.action_id)
        logger.debug("ActionID %s cancelled; a late answer will be ignored", waiter.action_id)

    def _abandon_bare(
        self, link: _Link, action_id: str, future: asyncio.Future[Outcome | None]
    ) -> None:
        """(``send``) The sender of ``action_id`` stopped waiting for ``future``: cancelled,
        or the link died. Forget the action in whichever table holds it -- if it is still that
        sender's (a caller may reuse an ActionID once it was answered)."""
        if link.bare.get(action_id) is future:
            del link.bare[action_id]
        else:
            waiter = link.waiters.get(action_id)
            if waiter is not None and waiter.future is future:
                link.correlator.forget(action_id)
        if future.cancelled():
            logger.debug("ActionID %s cancelled; a late answer will be ignored", action_id)

    def _adopt(
        self,
        link: _Link,
        action_id: str,
        future: asyncio.Future[Outcome | None],
        response: Response,
    ) -> None:
        """(The reader) A bare action's answer is not a plain `Response: Success`: give the
        action its correlator entry now, a waiter that wakes the same future, and let the
        correlator decide what the response means (an error, an EventList's start...)."""
        waiter = _Waiter(COLLECT)
        waiter.action_id = action_id
        waiter.future = future
        link.correlator.add(waiter)  # (the ID was in flight in `bare`, so not in entries)
        outcome = link.correlator.on_response(waiter, response)
        if outcome is not None:
            waiter.deliver(outcome)

    async def send(
        self, action: ActionLike, *, raise_on_error: bool = True
    ) -> Response | EventListResult:
        """Send an action and wait for its answer.

        For an EventList action the answer is an :class:`EventListResult`: the response with
        ``.items`` and ``.complete`` (see also :meth:`collect` and :meth:`stream`).

        Cancel it with the caller's cancel scope (``with anyio.fail_after(5): ...``): the
        action is forgotten, its late answer ignored, and the connection stays usable. The
        server may still have executed it.

        Raises:
            ActionError: on ``Response: Error`` (unless ``raise_on_error`` is False: then the
                error response is returned). :class:`PermissionDenied` for a missing write
                permission; :class:`EventListError` for ``EventList: cancelled``.
            LimitExceeded: an EventList went beyond ``max_list_items``.
            LocalProtocolError: the action cannot be sent safely, or its ActionID is in flight.
            ConnectionLost: the link died before the answer came (never re-sent).
            ClientClosed: the client is closed.
        """
        act = action if type(action) is Action else _as_action(action)
        link = self._link
        if link is None or link.failure is not None or self._state is not _CONNECTED:
            link = self._usable_link()  # raises, unless reconnected already
        if act.name in _SESSION_ACTION_NAMES:  # (no lower(): every casing is in the set)
            return await self._send_session_action(link, act, raise_on_error)
        if len(link.wbuf) > _WRITE_HIGH_WATER:
            await self._drain(link)
        loop = link.loop
        if loop is None:  # not asyncio (trio): a waiter woken by an anyio.Event
            return self._result(await self._request_on(link, act, COLLECT), raise_on_error)
        # On asyncio the action is in flight as a bare future (see _Link.bare) until its
        # answer: no waiter, no correlator entry, for the commonest answer of all.
        action_id, data = act._frame(self._ids.next_id)
        bare = link.bare
        if action_id in bare or action_id in link.waiters:
            action_id, data = self._free_action_id(link, act, action_id)
        future: asyncio.Future[Outcome | None] = loop.create_future()
        bare[action_id] = future
        link.write(data)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("sent %r as ActionID %s", act, action_id)
        try:
            outcome = await future
        except BaseException:  # cancelled, or the link died (ConnectionLost...)
            self._abandon_bare(link, action_id, future)
            raise
        if type(outcome) is Response and _dict_get(outcome, "Response") == "Success":
            return outcome  # the common case, at once
        assert outcome is not None  # (None: only with an error, which the future raises)
        return self._result(outcome, raise_on_error)

    async def _send_session_action(
        self, link: _Link, action: Action, raise_on_error: bool
    ) -> Response | EventListResult:
        """``send`` for Logoff, and for the Events and Filter settings that a reconnect
        re-applies (see _remember_session_action)."""
        if action.name.lower() == "logoff":
            link.goodbye = True  # the server closes after Goodbye: an end, not a failure
            return self._result(await self._request_on(link, action, COLLECT), raise_on_error)
        waiter = _SettingWaiter(self, action)
        return self._result(await self._request_on(link, action, COLLECT, waiter), raise_on_error)

    async def collect(self, action: ActionLike, *, raise_on_error: bool = True) -> EventListResult:
        """Like :meth:`send` for an EventList action, typed as :class:`EventListResult`.

        Raises:
            LocalProtocolError: the server answered with a plain response, not an EventList.
        """
        result = await self.send(action, raise_on_error=raise_on_error)
        if isinstance(result, EventListResult):
            return result
        if result.is_error:  # only with raise_on_error=False
            return EventListResult(result, (), None)
        raise LocalProtocolError(f"{_as_action(action).name} did not answer with an EventList")

    def _result(self, outcome: Outcome, raise_on_error: bool) -> Response | EventListResult:
        make = self._make
        factory = self._factory
        if isinstance(outcome, Response):  # a plain answer
            if outcome.is_error and raise_on_error:
                raise _error_for(outcome)
            return outcome
        if isinstance(outcome, ListDone):
            items = tuple(make(item, factory) for item in outcome.items)
            return EventListResult(outcome.response, items, make(outcome.complete, factory))
        if isinstance(outcome, ListFailed):
            items = tuple(make(item, factory) for item in outcome.items)
            if raise_on_error:
                raise EventListError(outcome.response, items)
            complete = make(outcome.event, factory) if outcome.event is not None else None
            return EventListResult(outcome.response, items, complete)
        # (What is left: OriginateDone is read by originate(), ListStarted/ListItem by streams.)
        assert isinstance(outcome, ListOverflow), outcome
        raise LimitExceeded("max_list_items", outcome.max_items)

    def _remember_session_action(self, action: Action) -> None:
        """(The reader, as the server accepts an Events or Filter action) Keep it for
        re-applying after a reconnect."""
        name = action.name.lower()
        if name == "events":
            self._mask = action.get("EventMask") or self._mask
            # Only the latest mask matters.
            self._session_actions = [a for a in self._session_actions if a.name.lower() != "events"]
            self._session_actions.append(_without_action_id(action))
        elif name == "filter":
            self._session_actions.append(_without_action_id(action))

    async def events_mask(self, mask: bool | str | Iterable[str]) -> Response:
        """Change which event classes this session receives (the ``Events`` action).

        Re-applied after each reconnect.
        """
        return _plain(await self.send(Action("Events", EventMask=_events_value(mask))))

    async def add_filter(self, expression: str) -> Response:
        """Add a server-side event filter (the ``Filter`` action, ``Operation: Add``).

        Re-applied after each reconnect. ``expression`` is Asterisk's filter syntax, e.g.
        ``"Event: Newchannel"`` or ``"!Channel: Local/*"``.

        Raises:
            TypeError: ``expression`` is not a str (``None`` would send no ``Filter`` line,
                and a number a filter nobody meant).
        """
        if not isinstance(expression, str):
            raise TypeError(f"a filter is a str such as 'Event: Hangup', not {expression!r}")
        return _plain(await self.send(Action("Filter", Operation="Add", Filter=expression)))

    async def originate(
        self, action: ActionLike, *, raise_on_error: bool = True
    ) -> OriginateResult:
        """Send an ``Originate`` with ``Async: true`` and wait for its ``OriginateResponse``.

        ``Async: true`` is added if the action lacks it. A call that fails to connect is an
        :class:`OriginateResult` with ``success`` False, not an exception. Bound the wait with
        a cancel scope (the ``Timeout`` field of Originate is in milliseconds and is Asterisk's).

        The ``OriginateResponse`` is a ``call`` class event: a session whose ``Events`` mask
        excludes it is refused at once. The server can still withhold it (the user's ``read``
        classes, an ``eventfilter`` that does not let it through): then only the caller's
        cancel scope ends the wait.

        Raises:
            ActionError: Asterisk refused the originate (e.g. :class:`PermissionDenied`).
            LocalProtocolError: ``action`` is not an Originate, says ``Async: false``, or the
                session's ``Events`` mask excludes ``call`` events.
        """
        act = _as_action(action)
        if act.name.lower() != "originate":
            raise LocalProtocolError(f"originate() takes an Originate action, not {act.name}")
        if not _mask_has_call_events(self._mask):
            # OriginateResponse is a `call` class event: with this mask it would never come,
            # and the wait would never end.
            raise LocalProtocolError(
                f"this session's Events mask ({self._mask!r}) excludes call events, so the "
                "OriginateResponse would never arrive; enable them or use send()"
            )
        async_value = act.get("Async")
        if async_value is None:
            act = Action(act.name, (*act.fields, ("Async", "true")))
        elif async_value.lower() not in ("true", "yes", "1", "on"):
            raise LocalProtocolError("originate() needs Async: true; use send() to wait in line")
        link = self._usable_link()
        outcome = await self._request_on(link, act, ORIGINATE)
        if isinstance(outcome, OriginateDone):
            return OriginateResult(outcome.response, self._make(outcome.event, self._factory))
        return OriginateResult(_plain(self._result(outcome, raise_on_error)), None)

    def stream(self, action: ActionLike, *, buffer: int = 10_000) -> ListStream:
        """Send an EventList action and consume its items as they arrive::

            async with ami.stream(Action("CoreShowChannels")) as items:
                async for channel in items:
                    ...
            print(items.complete["ListItems"])

        Entering waits for the response (raising :class:`ActionError` on an error). Up to
        ``buffer`` items wait for the consumer; a consumer further behind fails with
        :class:`SubscriptionOverflow`. Leaving early forgets the rest of the list.
        """
        return ListStream(self, _as_action(action), buffer)

    # -- subscriptions -----------------------------------------------------------------------

    def subscribe(
        self,
        *filters: EventFilter,
        buffer: int = 10_000,
        overflow: Overflow | str = Overflow.DROP_OLDEST,
    ) -> Subscription[Any]:
        """Receive events: an async context manager yielding an async iterator.

        ::

            async with ami.subscribe("Newchannel", "Hangup") as events:
                async for event in events:
                    ...

        Args:
            *filters: Event names (case-insensitive), event classes with ``EVENT_NAME`` (the
                typed catalogue), :class:`~ami_client.Event` (every event), or predicates
                called with each event. An event matching any filter is delivered; no filter
                means every event.
            buffer: How many events may wait for this subscriber.
            overflow: :class:`Overflow` policy when the buffer is full: ``"drop_oldest"``,
                ``"drop_newest"`` (both counted in ``statistics().dropped``) or ``"fail"``.
        """
        compiled = compile_filters(filters)
        for name in filters:
            if isinstance(name, str):
                _warn_if_misspelt(name)

        def attach(sub: Subscription[Any]) -> None:
            if self._state is ConnectionState.CLOSED:
                sub._end(self._lost(self._failure) if self._failure is not None else None)
                return
            self._subscriptions = (*self._subscriptions, sub)

        def detach(sub: Subscription[Any]) -> None:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not sub)

        return Subscription(
            compiled, max_buffer=buffer, overflow=overflow, attach=attach, detach=detach
        )


# Event names of the catalogue (Asterisk 22's documented events), lowered -> as spelt there.
_KNOWN_EVENTS: Final = {name.lower(): name for name in EVENT_CLASSES}


def _warn_if_misspelt(name: str) -> None:
    """Warn (``UserWarning``, at the caller of ``subscribe``) about an event name that is not
    in the catalogue but close to one that is: ``"Newchanel"`` would match nothing, for ever,
    without a word. A name close to none (a third-party module's event) passes quietly."""
    low = name.lower()
    if low in _KNOWN_EVENTS:
        return
    close = difflib.get_close_matches(low, _KNOWN_EVENTS, n=1, cutoff=0.8)
    if close:
        warnings.warn(
            f"subscribe({name!r}): no Asterisk 22 event is called that; did you mean "
            f"{_KNOWN_EVENTS[close[0]]!r}? (If your server does send {name!r}, ignore this.)",
            UserWarning,
            stacklevel=3,
        )


def _refuse(data: bytes) -> bool:
    """The write_nowait of a transport without one: every send goes through the writer."""
    return False


def _unsent(link: _Link) -> int:
    """Bytes not written to the socket yet: ours, and the transport's own buffer if any."""
    size = getattr(link.transport, "write_buffer_size", None)
    return len(link.wbuf) + (size() if callable(size) else 0)


def _plain(result: Response | EventListResult) -> Response:
    return result.response if isinstance(result, EventListResult) else result


def _without_action_id(action: Action) -> Action:
    if action.action_id is None:
        return action
    return Action(action.name, [(k, v) for k, v in action.fields if k.lower() != "actionid"])


class _StreamWaiter(_Waiter):
    __slots__ = ("buffer", "item_wake", "list_response", "max_buffer", "overflowed")

    def __init__(self, max_buffer: int) -> None:
        super().__init__(STREAM)
        self.item_wake: anyio.Event | None = None
        self.overflowed = False
        self.buffer: deque[Event] = deque()
        self.max_buffer = max_buffer
        self.list_response: Response | None = None  # once the response started a list

    def deliver(self, outcome: Outcome) -> None:
        if isinstance(outcome, ListItem):
            self.item(outcome.event)
        elif isinstance(outcome, ListStarted):
            self.started(outcome.response)
        else:
            self.finish(outcome)

    def started(self, response: Response) -> None:
        # Wake the sender (the stream's __aenter__) without ending the waiter.
        self.list_response = response
        self.outcome = ListStarted(self.action_id, response)
        self.answered = True
        self.wake()

    def item(self, event: Event) -> None:
        if self.overflowed:
            return
        if len(self.buffer) >= self.max_buffer:
            self.overflowed = True
            self.buffer.clear()
        else:
            self.buffer.append(event)
        self._wake_items()

    def finish(self, outcome: Outcome | None, error: BaseException | None = None) -> None:
        super().finish(outcome, error)
        self._wake_items()

    def _wake_items(self) -> None:
        wake = self.item_wake
        if wake is not None:
            self.item_wake = None
            wake.set()


class ListStream:
    """The items of one EventList as they arrive; made by :meth:`AMIClient.stream`.

    Attributes:
        response: The response that started the list (after entering).
        complete: The completion event, once iteration has ended (None before, or if the
            action answered with a plain response).
    """

    def __init__(self, client: AMIClient, action: Action, buffer: int) -> None:
        if not isinstance(buffer, int) or buffer < 1:
            raise ValueError(f"buffer must be a positive int, not {buffer!r}")
        self._client = client
        self._action = action
        self._waiter = _StreamWaiter(buffer)
        self._link: _Link | None = None
        self.response: Response | None = None
        self.complete: Any = None

    async def __aenter__(self) -> ListStream:
        client = self._client
        link = client._usable_link()
        waiter = self._waiter
        self._link = link
        try:
            outcome: Outcome | None = await client._request_on(link, self._action, STREAM, waiter)
        except BaseException as exc:
            if exc is not waiter.error or waiter.list_response is None:
                self._forget()
                raise
            outcome = None  # the link died after the list started: see below
        if waiter.list_response is not None:
            # The list started. Whatever followed before this task resumed -- items, the
            # list's end, even the loss of the link -- waits for the iteration, in arrival
            # order: a short list arrives in one read, and a task may resume after all of it
            # (trio's do, later than asyncio's), yet the stream must read the same.
            self.response = waiter.list_response
            return self
        self._forget()
        # The action ended at once: an error, a list cancelled in its response, or a plain
        # response (which streams nothing).
        assert outcome is not None
        self.response = _plain(client._result(outcome, True))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._forget()

    def _forget(self) -> None:
        link, action_id = self._link, self._waiter.action_id
        if link is not None and action_id and not self._waiter.done:
            link.correlator.forget(action_id)
        self._waiter.buffer.clear()

    def __aiter__(self) -> ListStream:
        return self

    async def __anext__(self) -> Any:
        waiter = self._waiter
        client = self._client
        while True:
            if waiter.overflowed:
                self._forget()
                raise SubscriptionOverflow(
                    f"list consumer fell {waiter.max_buffer} items behind; rest of list dropped"
                )
            if waiter.buffer:
                await anyio.lowlevel.checkpoint()
                if waiter.buffer:
                    return client._make(waiter.buffer.popleft(), client._factory)
                continue
            if waiter.done:
                if waiter.error is not None:
                    raise waiter.error
                outcome = waiter.outcome
                if isinstance(outcome, ListDone):
                    self.complete = client._make(outcome.complete, client._factory)
                    raise StopAsyncIteration
                assert outcome is not None  # (a waiter ends with an outcome or an error)
                # Raises for ListFailed; a plain response (the action streamed nothing) ends.
                client._result(outcome, True)
                raise StopAsyncIteration
            wake = waiter.item_wake = anyio.Event()
            await wake.wait()


def connect(
    host: str = "127.0.0.1",
    port: int = 5038,
    *,
    username: str,
    secret: str,
    ssl: Any = None,
    server_hostname: str | None = None,
    auth: str = "plain",
    events: bool | str | Iterable[str] = True,
    reconnect: ReconnectPolicy | None = None,
    keepalive: Keepalive | float | None = _DEFAULT_KEEPALIVE,
    limits: Limits = DEFAULT_LIMITS,
    max_list_items: int = 100_000,
    connect_timeout: float = 10.0,
    event_factory: EventFactory | None = None,
    transport_factory: TransportFactory | None = None,
) -> AMIClient:
    """Open an AMI connection: ``async with connect(...) as ami:`` (see :class:`AMIClient`).

    Entering connects and logs in (raising :class:`AuthenticationError` for bad credentials,
    :class:`ConnectTimeout` after ``connect_timeout``); leaving logs off and closes.
    """
    return AMIClient(
        host,
        port,
        username=username,
        secret=secret,
        ssl=ssl,
        server_hostname=server_hostname,
        auth=auth,
        events=events,
        reconnect=reconnect,
        keepalive=keepalive,
        limits=limits,
        max_list_items=max_list_items,
        connect_timeout=connect_timeout,
        event_factory=event_factory,
        transport_factory=transport_factory,
    )
