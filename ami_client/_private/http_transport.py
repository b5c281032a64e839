"""AMI over HTTP(S): Asterisk's ``/rawman`` with a ``WaitEvent`` long-poll, as a transport.

The client writes and reads AMI bytes exactly as over TCP; this transport turns them into HTTP:

* :meth:`HttpTransport.send` parses the client's (already validated) action bytes back into
  fields with the sans-IO parser and POSTs each action as a form to ``/rawman``, carrying the
  ``mansession_id`` cookie that login set. The answer's body is AMI text (the response, plus an
  EventList's items): it is queued, verbatim, for :meth:`HttpTransport.receive`.
* :meth:`HttpTransport.run` (started by the client next to its reader and writer) long-polls
  ``WaitEvent``. Its own response and the closing ``Event: WaitEventComplete`` are cut off;
  the events between them are queued, verbatim and in order, so the client's correlator and
  subscriptions work unchanged.
* A session stays on one server: the host name is resolved once, by the session's first
  request, and every later request goes to the address that took it (the name still goes in
  the ``Host`` header and is what TLS verifies). A new session (a reconnect makes a new
  transport) resolves again.
* A session that is gone (``httptimeout`` expired, or Asterisk restarted) shows as a *new*
  ``mansession_id`` in an answer (Asterisk 22 makes a fresh, unauthenticated session for an
  unknown cookie and answers ``Permission denied``): that, a refused connection, a non-200
  status or broken HTTP is :class:`~ami_client.ConnectionLost`, so the client's reconnect
  policy logs in again, exactly as after a dropped TCP connection.
"""

from __future__ import annotations

import math
import os
import re
import ssl as _ssl
from collections import deque
from typing import Any, Final

import anyio
import anyio.abc

from ami_client._private.errors import (
    AMIConnectionError,
    ClientClosed,
    ConnectionLost,
    LimitExceeded,
    LocalProtocolError,
    RemoteProtocolError,
)
from ami_client._private.http_request import (
    DEFAULT_BODY_TIMEOUT,
    HttpEndpoint,
    HttpReply,
    exchange,
    form_body,
    require_h11,
    resolve,
)
from ami_client._private.limits import DEFAULT_LIMITS
from ami_client._private.message import Event, Message, Response
from ami_client._private.parser import NEED_DATA, Parser
from ami_client._private.serializer import ActionIdGenerator
from ami_client._private.transport import TransportFactory, make_ssl_context

__all__ = ["HttpTransport", "factory_for_url", "http_transport_factory"]

#: Seconds one WaitEvent may wait for events. Asterisk 22 caps it at the session's remaining
#: lifetime minus 10 s (manager.c, action_waitevent): 50 s with the default httptimeout of 60.
DEFAULT_POLL_TIMEOUT: Final = 20.0
#: Extra seconds allowed beyond the poll's own timeout before the server is presumed dead.
POLL_GRACE: Final = 10.0
#: Least time from the start of a WaitEvent that brought no events to the start of the next.
#: Asterisk answers at once when the session's remaining lifetime leaves it no time to wait
#: (httptimeout <= 10), when another WaitEvent of the session took over, or when an event the
#: session's mask filters out arrived: without a pause the poll would spin, a request each
#: time. Events are not lost meanwhile: they wait in Asterisk's queue for the next poll.
IDLE_POLL_GAP: Final = 0.2
# While turning events off with our poll in flight: how long to wait for that poll's answer
# before another WaitEvent with Timeout 0 takes over from it (see _settle_poll).
SETTLE_GAP: Final = 0.05
#: Actions in flight at once (each is one HTTP request on its own connection).
DEFAULT_MAX_CONNECTIONS: Final = 4
#: Largest HTTP body accepted. A WaitEvent answer holds every event since the previous poll;
#: the 300-call corpus (25,222 messages) is 9.3 MB, so this is a burst of many thousand calls.
DEFAULT_MAX_RESPONSE_SIZE: Final = 64 * 1024 * 1024

_TERMINATOR: Final = re.compile(rb"\n\r?\n")
# Asterisk's ast_false(): these values of `Events`/`EventMask` turn a session's events off.
_FALSE: Final = frozenset({"no", "false", "n", "f", "0", "off"})


def _events_on(value: str | None, current: bool) -> bool:
    if value is None or not value.strip():
        return current  # Asterisk ignores an empty mask
    return value.strip().lower() not in _FALSE


def _one_message(data: bytes) -> Message:
    """The single AMI message in ``data`` (a piece of an HTTP body)."""
    parser = Parser(limits=DEFAULT_LIMITS, expect_banner=False)
    parser.receive_data(data)
    parser.receive_data(b"")
    found: list[Message] = []
    while True:
        item = parser.next_event()
        if item is NEED_DATA or not isinstance(item, Message):
            break
        found.append(item)
    if len(found) != 1:
        raise RemoteProtocolError(f"expected one AMI message in the HTTP body, got {data[:200]!r}")
    return found[0]


def _check_body_end(body: bytes) -> None:
    # Bodies are queued back to back for the client's parser: each must end a message, or its
    # tail would merge with the next body's first message.
    if not body.endswith((b"\n\n", b"\n\r\n")):
        raise RemoteProtocolError(f"HTTP body does not end with a blank line: {body[-200:]!r}")


def _head(body: bytes) -> tuple[Message, int]:
    """The first message of a body and where the rest starts.

    Raises:
        RemoteProtocolError: the body does not end with a blank line, or its first part is
            not one AMI message.
    """
    _check_body_end(body)
    match = _TERMINATOR.search(body)
    assert match is not None  # (the body ends with one)
    return _one_message(body[: match.end()]), match.end()


def _last_start(rest: bytes) -> int:
    """Where the last message of ``rest`` (which ends with a blank line) starts."""
    end = len(rest) - (2 if rest.endswith(b"\n\n") else 3)
    crlf = rest.rfind(b"\n\r\n", 0, end)
    lf = rest.rfind(b"\n\n", 0, end)
    return max(crlf + 3 if crlf >= 0 else 0, lf + 2 if lf >= 0 else 0)


def wait_event_payload(body: bytes, poll_id: str) -> bytes:
    """The events of a WaitEvent answer, verbatim, without its response and completion event.

    Asterisk 22 answers (tests/data/transcripts/http_rawman.http): ``Response: Success`` +
    ``Message: Waiting for Event completed.``, the queued events, then ``Event:
    WaitEventComplete`` with the poll's ActionID. An empty body is a poll Asterisk abandoned
    because another WaitEvent of the same session took over ("Abandoning event request"): it
    consumed no events.

    Raises:
        ConnectionLost: Asterisk refused the poll.
        RemoteProtocolError: the body is not shaped like that.
    """
    if not body:
        return b""
    head, start = _head(body)
    if not isinstance(head, Response) or head.action_id != poll_id:
        raise RemoteProtocolError(f"WaitEvent was answered by {head!r}")
    if head.is_error:
        raise ConnectionLost(f"WaitEvent refused: {head.get('Message') or repr(head)}")
    rest = body[start:]
    if not rest:
        raise RemoteProtocolError("WaitEvent answer lacks its WaitEventComplete event")
    tail_start = _last_start(rest)
    tail = _one_message(rest[tail_start:])
    if not (
        isinstance(tail, Event)
        and tail.name.lower() == "waiteventcomplete"
        and tail.action_id == poll_id
    ):
        raise RemoteProtocolError(f"WaitEvent answer does not end with its completion: {tail!r}")
    return rest[:tail_start]


def _actions(data: bytes) -> list[tuple[tuple[str, str], ...]]:
    """The fields of each action in the client's bytes (whole actions, as its writer sends)."""
    parser = Parser(limits=DEFAULT_LIMITS, expect_banner=False)
    parser.receive_data(data)
    actions = []
    while True:
        item = parser.next_event()
        if item is NEED_DATA:
            break
        # (A parser without EOF gives messages or NEED_DATA; a message has a field.)
        if not isinstance(item, Message) or item.fields[0][0].lower() != "action":
            raise LocalProtocolError(f"not an action: {item!r}")
        actions.append(item.fields)
    if parser.buffered:
        raise LocalProtocolError("incomplete action handed to the HTTP transport")
    return actions


def _field(fields: tuple[tuple[str, str], ...], key: str) -> str | None:
    wanted = key.lower()
    for k, v in fields:
        if k.lower() == wanted:
            return v
    return None


class HttpTransport:
    """The AMI transport over Asterisk's HTTP server (``/rawman`` + ``WaitEvent``).

    Made by :func:`http_transport_factory` (or ``connect("http://...")``); the client drives
    it through the same seam as TCP. One request per connection, never re-sent.

    Args:
        endpoint: Where ``/rawman`` is.
        ssl_context: The TLS context for https, None for http.
        server_hostname: Name the certificate must match (default: the URL's host).
        poll_timeout: Seconds each WaitEvent may wait for events.
        max_connections: Actions in flight at once; more wait their turn (in order).
        max_response_size: Largest HTTP body accepted, in bytes.
        body_timeout: Seconds an answer's body may go without a byte once its head is in.
    """

    expects_banner = False

    def __init__(
        self,
        endpoint: HttpEndpoint,
        *,
        ssl_context: _ssl.SSLContext | None,
        server_hostname: str | None = None,
        poll_timeout: float = DEFAULT_POLL_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
    ) -> None:
        self.endpoint = endpoint
        self._body_timeout = body_timeout
        self._ssl_context = ssl_context
        self._server_hostname = server_hostname
        self._poll_timeout = max(1, math.ceil(poll_timeout))
        self._max_response_size = max_response_size
        self._limiter = anyio.CapacityLimiter(max_connections)
        self._poll_ids = ActionIdGenerator(f"waitevent-{os.urandom(4).hex()}")
        self._cookie: str | None = None
        #: The server's address, fixed by the session's first request (see _request).
        self._address: str | None = None
        self._logged_in = False
        self._events_wanted = True  # Asterisk's default mask for a session is all events
        self._events_changed = anyio.Event()
        # Set while our WaitEvent is in flight (by the poll loop; see _settle_poll).
        self._poll_done: anyio.Event | None = None
        # Events actions turning events off now: no poll starts meanwhile (see _settle_poll).
        self._holding_polls = 0
        self._inbox: deque[bytes] = deque()
        self._inbox_wake: anyio.Event | None = None
        self._eof = False  # logged off: receive() reports the end, as TCP's close after Goodbye
        self._closed = False
        self._stopped = False
        self._failure: BaseException | None = None
        self._failed = anyio.Event()
        self._tg: anyio.abc.TaskGroup | None = None

    @property
    def session_id(self) -> str | None:
        """The ``mansession_id`` cookie of this session (None before the first answer)."""
        return self._cookie

    def __repr__(self) -> str:
        state = "logged in" if self._logged_in else "not logged in"
        return f"<HttpTransport {self.endpoint.url} {state}>"

    # -- the seam --------------------------------------------------------------------------

    async def send(self, data: bytes) -> None:
        """Send each action in ``data`` as its own HTTP request.

        Before :meth:`run` (the login handshake) a request is made here and its answer is
        queued before returning; afterwards requests run in :meth:`run`'s task group, at most
        ``max_connections`` at a time, started in the order sent.
        """
        for fields in _actions(data):
            self._raise_if_unusable()
            tg = self._tg
            if tg is None:
                await self._perform(fields)
                continue
            token = object()
            await self._limiter.acquire_on_behalf_of(token)
            try:
                self._raise_if_unusable()
            except BaseException:
                self._limiter.release_on_behalf_of(token)
                raise
            tg.start_soon(self._perform_in_background, fields, token)

    async def receive(self) -> bytes:
        """The AMI bytes of answers and events, in arrival order; ``b""`` after Logoff."""
        while True:
            if self._inbox:
                data = b"".join(self._inbox)
                self._inbox.clear()
                return data
            if self._failure is not None:
                raise self._lost()
            if self._eof or self._closed:
                return b""
            wake = self._inbox_wake = anyio.Event()
            await wake.wait()

    async def aclose(self) -> None:
        """Stop polling and abandon requests in flight. Never raises; idempotent."""
        self._closed = True
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
        self._wake_receiver()
        self._events_changed.set()
        await anyio.lowlevel.checkpoint_if_cancelled()

    async def run(self) -> None:
        """The background work: the WaitEvent long-poll and the requests sent after login.

        The client runs it next to its reader and writer. It raises the link's failure (a
        :class:`~ami_client.ConnectionLost` for a lost session) and never returns otherwise.
        """
        if self._tg is not None or self._stopped:
            raise RuntimeError("HttpTransport.run() can run only once")
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                tg.start_soon(self._poll_loop)
                await self._failed.wait()
                tg.cancel_scope.cancel()
        finally:
            self._stopped = True
        if self._failure is None:  # aclose() ended the run
            raise ClientClosed("the HTTP transport is closed")
        raise self._failure

    # -- requests --------------------------------------------------------------------------

    def _raise_if_unusable(self) -> None:
        if self._failure is not None:
            raise self._lost()
        if self._closed:
            raise ClientClosed("the HTTP transport is closed")
        if self._stopped or self._eof:
            raise ConnectionLost("the HTTP session has ended")

    async def _perform_in_background(
        self, fields: tuple[tuple[str, str], ...], token: object
    ) -> None:
        try:
            await self._perform(fields)
        except Exception as exc:  # noqa: BLE001 - raised by run(), never into the task group
            self._fail(exc)
        finally:
            self._limiter.release_on_behalf_of(token)

    async def _perform(self, fields: tuple[tuple[str, str], ...]) -> None:
        """One action: POST it, check its answer is there, queue the answer's bytes."""
        name = fields[0][1].strip().lower()
        if (
            name == "events"
            and self._logged_in
            and self._events_wanted
            and not _events_on(_field(fields, "EventMask"), True)
        ):
            # Turning events off: no WaitEvent of ours may reach Asterisk after this action,
            # or it would turn them back on (see _settle_poll).
            self._holding_polls += 1
            try:
                await self._settle_poll()
                await self._perform_now(name, fields)
            finally:
                self._holding_polls -= 1
                self._events_changed.set()  # the poll loop looks again
            return
        if (
            name == "events"
            and self._logged_in
            and not self._events_wanted
            and _events_on(_field(fields, "EventMask"), False)
        ):
            await self._wait_event_now(deliver=False)  # (dropped: see there)
        await self._perform_now(name, fields)

    async def _perform_now(self, name: str, fields: tuple[tuple[str, str], ...]) -> None:
        action_id = _field(fields, "ActionID")
        reply = await self._request(fields)
        body = reply.body
        head, _ = _head(body)
        if not isinstance(head, Response) or head.action_id != action_id:
            # The client would wait for this answer forever: a broken server ends the link.
            raise RemoteProtocolError(f"{fields[0][1]} was answered by {head!r}")
        if not head.is_error:
            if name == "login":
                if self._cookie is None:
                    # Every later request would be a new session to Asterisk, refused as
                    # "Permission denied": each would read as an expired session.
                    raise AMIConnectionError(
                        f"{self.endpoint.url} accepted the login but set no mansession_id "
                        "cookie (does a proxy in between drop Set-Cookie?)"
                    )
                self._logged_in = True
                self._set_events(_events_on(_field(fields, "Events"), self._events_wanted))
            elif name == "events":
                self._set_events(_events_on(_field(fields, "EventMask"), self._events_wanted))
        if self._failure is not None or self._closed:
            return
        self._inbox.append(body)
        if name == "logoff" and head.status.lower() == "goodbye":
            self._eof = True
            self._events_changed.set()
        self._wake_receiver()

    async def _request(self, fields: tuple[tuple[str, str], ...]) -> HttpReply:
        logged_in = self._logged_in
        if self._address is not None:
            addresses: tuple[str, ...] = (self._address,)
        else:
            # The session's first request (Login, or Challenge before it): requests until
            # then go one at a time, so no other one resolves meanwhile.
            addresses = await resolve(self.endpoint, connected=logged_in)
        reply = await exchange(
            self.endpoint,
            form_body(fields),
            cookie=self._cookie,
            ssl_context=self._ssl_context,
            server_hostname=self._server_hostname,
            max_body=self._max_response_size,
            connected=logged_in,
            addresses=addresses,
            body_timeout=self._body_timeout,
        )
        if self._address is None:
            # Asterisk knows the session's cookie on this server only: a later lookup of a
            # round-robin name could pick another one, which would answer "no such session".
            self._address = reply.address
        if reply.status != 200:
            hint = ""
            if reply.status == 404:
                hint = " (is webenabled = yes in manager.conf, and http.conf enabled?)"
            error = ConnectionLost if logged_in else AMIConnectionError
            raise error(f"{self.endpoint.url} answered HTTP {reply.status} {reply.reason}{hint}")
        if reply.cookie is not None and reply.cookie != self._cookie:
            if self._logged_in:
                # An unknown cookie gets a new session (Asterisk 22, manager.c): ours is gone.
                raise ConnectionLost(
                    "the HTTP session ended (expired after manager.conf's httptimeout, or "
                    "Asterisk restarted)"
                )
            self._cookie = reply.cookie
        return reply

    # -- events ----------------------------------------------------------------------------

    def _set_events(self, wanted: bool) -> None:
        # Over HTTP, WaitEvent turns a session's events back on when they are off (Asterisk
        # 22, manager.c, action_waitevent): so with `Events: off` we do not poll at all.
        if wanted != self._events_wanted:
            self._events_wanted = wanted
            self._events_changed.set()

    async def _wait_event_now(self, *, deliver: bool) -> bytes:
        """A WaitEvent with ``Timeout: 0``: the events queued for the session, returned
        (``deliver``) or dropped.

        Dropped: just before an ``Events`` action that turns events back on. Over TCP,
        Asterisk skips a session's events while they are off (manager.c, process_events
        moves its place in the queue on). Over HTTP only a WaitEvent moves it: with nobody
        polling, the events of the whole off period (Asterisk keeps up to 2.5 x httptimeout
        of them) wait there, and the first poll after ``Events: on`` would hand them over,
        long after the fact. Taken away first, they are dropped, as over TCP.

        Handed on: see _settle_poll.
        """
        poll_id = self._poll_ids()
        fields = (("Action", "WaitEvent"), ("ActionID", poll_id), ("Timeout", "0"))
        try:
            with anyio.fail_after(POLL_GRACE):
                reply = await self._request(fields)
        except TimeoutError as exc:
            raise ConnectionLost(f"no answer to WaitEvent within {POLL_GRACE} s") from exc
        except LimitExceeded:
            if deliver:
                raise  # (as for any poll: events too many to read are events lost)
            # Asterisk has taken the events off the session's queue before answering: they
            # are gone all the same, and nothing of them was wanted.
            return b""
        events = wait_event_payload(reply.body, poll_id)  # (checks the answer)
        return events if deliver else b""

    async def _settle_poll(self) -> None:
        """Return once no WaitEvent of ours is in flight (none starts meanwhile).

        Asterisk 22's WaitEvent turns a session's events back on when they are off (manager.c,
        ``action_waitevent``). Our poll in flight as an ``Events: off`` is sent may reach
        Asterisk after it, on its own connection, and undo it: events from after the switch
        would keep coming. So before that action the poll must be over. A WaitEvent with
        ``Timeout: 0`` takes over from a poll waiting in Asterisk, which then answers at once
        with nothing ("Abandoning event request"); it answers itself at once with the events
        queued so far, which are handed on (they come from before the switch). One is sent
        again every SETTLE_GAP until our poll's answer is in, since that poll may reach
        Asterisk after a WaitEvent sent to take over from it. Their events are handed on after
        the poll's own, which are older.
        """
        taken: list[bytes] = []
        while (done := self._poll_done) is not None and not done.is_set():
            taken.append(await self._wait_event_now(deliver=True))
            with anyio.move_on_after(SETTLE_GAP):
                await done.wait()
        events = b"".join(taken)
        if events and not (self._eof or self._closed):
            self._inbox.append(events)
            self._wake_receiver()

    async def _poll_loop(self) -> None:
        while not (self._eof or self._closed):
            if not self._events_wanted or self._holding_polls:
                changed = self._events_changed = anyio.Event()
                await changed.wait()
                continue
            started = anyio.current_time()
            try:
                brought = await self._poll_once()
            except Exception as exc:  # noqa: BLE001 - raised by run(), never into the group
                self._fail(exc)
                return
            if not brought:
                # (Not below 0: anyio refuses a negative sleep, and a poll that waited out its
                # Timeout is older than the gap.)
                await anyio.sleep(max(0.0, started + IDLE_POLL_GAP - anyio.current_time()))

    async def _poll_once(self) -> bool:
        """One WaitEvent; whether it brought events."""
        poll_id = self._poll_ids()
        fields = (
            ("Action", "WaitEvent"),
            ("ActionID", poll_id),
            ("Timeout", str(self._poll_timeout)),
        )
        limit = self._poll_timeout + POLL_GRACE
        done = self._poll_done = anyio.Event()
        try:
            with anyio.fail_after(limit):
                reply = await self._request(fields)
        except TimeoutError as exc:
            raise ConnectionLost(f"no answer to WaitEvent within {limit} s") from exc
        finally:
            done.set()
        if self._eof or self._closed:
            return True
        events = wait_event_payload(reply.body, poll_id)
        if events:
            self._inbox.append(events)
            self._wake_receiver()
        return bool(events)

    # -- failure ---------------------------------------------------------------------------

    def _fail(self, error: BaseException) -> None:
        if self._failure is None and not self._closed:
            self._failure = error
            self._failed.set()
            self._wake_receiver()

    def _lost(self) -> ConnectionLost:
        reason = self._failure
        error = reason if isinstance(reason, ConnectionLost) else None
        fresh = ConnectionLost(str(error) if error else f"HTTP transport failed: {reason!r}")
        fresh.__cause__ = reason
        return fresh

    def _wake_receiver(self) -> None:
        wake = self._inbox_wake
        if wake is not None:
            self._inbox_wake = None
            wake.set()


def _tls_context(endpoint: HttpEndpoint, ssl: Any) -> _ssl.SSLContext | None:
    if endpoint.tls:
        if ssl is False:
            raise ValueError("an https:// URL needs TLS: ssl=False contradicts it")
        return make_ssl_context(True if ssl is None else ssl)
    if ssl is not None and ssl is not False:
        raise ValueError("ssl= was given for an http:// URL: use https:// for TLS")
    return None


def http_transport_factory(
    url: str,
    *,
    ssl: Any = None,
    server_hostname: str | None = None,
    poll_timeout: float = DEFAULT_POLL_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
) -> TransportFactory:
    """A transport factory for AMI over HTTP(S), for ``connect(transport_factory=...)``.

    ``connect("https://host:8089/", ...)`` uses this with the defaults; call it yourself to
    tune the poll or the number of connections.

    Args:
        url: ``http://host:port/`` or ``https://...``, optionally with http.conf's prefix
            (``/asterisk/``) or ending in ``/rawman``.
        ssl: For https: None or True (verify against the system's CAs) or an
            :class:`ssl.SSLContext` (a private CA). Verification is never turned off for you.
        server_hostname: The name to verify the certificate against (default: the URL's host).
        poll_timeout: Seconds each WaitEvent may wait (Asterisk caps it at httptimeout - 10).
        max_connections: Actions in flight at once.
        max_response_size: Largest HTTP body accepted, in bytes.
        body_timeout: Seconds an answer's body may go without a byte once its head (status
            and headers) is in; then the link is lost (:class:`~ami_client.ConnectionLost`),
            as for a body cut short. The head itself may take as long as the action does.

    Raises:
        ImportError: h11 is not installed (``pip install 'ami-client[http]'``).
        ValueError: a bad URL, a contradicting ``ssl``, or a bad number.
    """
    require_h11()
    endpoint = HttpEndpoint.from_url(url)
    context = _tls_context(endpoint, ssl)
    if not (isinstance(poll_timeout, (int, float)) and 1 <= poll_timeout <= 3600):
        raise ValueError(f"poll_timeout must be 1 to 3600 seconds, not {poll_timeout!r}")
    if not (
        isinstance(body_timeout, (int, float))
        and not isinstance(body_timeout, bool)
        and 0 < body_timeout <= 3600
    ):
        raise ValueError(
            f"body_timeout must be over 0 and up to 3600 seconds, not {body_timeout!r}"
        )
    for name, value in (
        ("max_connections", max_connections),
        ("max_response_size", max_response_size),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, not {value!r}")

    async def open_http() -> HttpTransport:
        return HttpTransport(
            endpoint,
            ssl_context=context,
            server_hostname=server_hostname,
            poll_timeout=poll_timeout,
            max_connections=max_connections,
            max_response_size=max_response_size,
            body_timeout=body_timeout,
        )

    return open_http


def factory_for_url(
    url: str, ssl: Any, server_hostname: str | None
) -> tuple[TransportFactory, str, int, _ssl.SSLContext | None]:
    """What ``connect(url)`` needs: the factory, and the host, port and TLS context it shows."""
    endpoint = HttpEndpoint.from_url(url)
    factory = http_transport_factory(url, ssl=ssl, server_hostname=server_hostname)
    return factory, endpoint.host, endpoint.port, _tls_context(endpoint, ssl)
