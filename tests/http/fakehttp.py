"""A small Asterisk-like ``/rawman`` server on a loopback socket: real sockets, real HTTP bytes.

It models what Asterisk 22 does (tests/data/transcripts/http_rawman.http, manager.c): one
request per connection with ``Connection: close``; a ``mansession_id`` cookie (quoted) in
every answer; an unknown cookie gets a new, unauthenticated session and ``Permission denied``;
``WaitEvent`` answers its response, the queued events and ``Event: WaitEventComplete``.
As manager.c's ``action_waitevent``: a ``WaitEvent`` turns a session's events back on when they
are off, and a second one takes over from one still waiting, which is answered with an empty
body ("Abandoning event request"); events are queued whether on or off (the mask is applied
as they are handed out, and a ``WaitEvent`` has just turned it on).
A test can replace any answer with :attr:`FakeRawman.override`, and count requests.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import anyio
import anyio.abc
import anyio.streams.tls
import attrs
import h11

SECRET = "s3cr3t-for-tests"


@attrs.define
class Request:
    """One request the fake received: its form fields (in order), cookie and Host header."""

    method: str
    target: str
    fields: list[tuple[str, str]]
    cookie: str | None
    host: str | None = None

    def get(self, key: str) -> str | None:
        for k, v in self.fields:
            if k.lower() == key.lower():
                return v
        return None

    @property
    def action(self) -> str:
        return (self.get("Action") or "").lower()


@attrs.define
class Reply:
    """What to answer: status, body, and whether to cut the connection instead."""

    body: bytes = b""
    status: int = 200
    cookie: str | None = None
    hang_up: bool = False  # close the connection without answering
    stall_after: int | None = None  # send the head and this many body bytes, then nothing


@attrs.define
class Session:
    cookie: str
    authenticated: bool = False
    events: list[bytes] = attrs.field(factory=list)
    wake: anyio.Event = attrs.field(factory=anyio.Event)
    send_events: bool = True  # the session's Events setting
    waiter: object = None  # the WaitEvent waiting now, if any


Override = Callable[[Request, "FakeRawman"], Awaitable[Reply | None]]


def _on(mask: str | None, current: bool = True) -> bool:
    if mask is None or not mask.strip():
        return current  # (Asterisk ignores an empty mask)
    return mask.strip().lower() not in ("off", "no", "false", "0")


def message(*fields: tuple[str, str]) -> bytes:
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in fields) + b"\r\n"


class FakeRawman:
    """The server; use :func:`serve_rawman`."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.requests: list[Request] = []
        self.override: Override | None = None
        self.active = 0
        self.max_active = 0
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def actions(self) -> list[str]:
        return [r.action for r in self.requests]

    def new_session(self) -> Session:
        session = Session(os.urandom(4).hex())
        self.sessions[session.cookie] = session
        return session

    def queue_event(self, *fields: tuple[str, str]) -> None:
        """Queue an event for every authenticated session (as Asterisk's event queue does)."""
        for session in self.sessions.values():
            if session.authenticated:
                session.events.append(message(*fields))
                session.wake.set()

    def forget_sessions(self) -> None:
        """As after httptimeout or a restart: no cookie is known any more."""
        for session in self.sessions.values():
            session.wake.set()
        self.sessions.clear()

    async def handle(self, request: Request) -> Reply:
        if self.override is not None:
            reply = await self.override(request, self)
            if reply is not None:
                return reply
        session = self.sessions.get(request.cookie or "")
        if session is None:
            session = self.new_session()
        aid = request.get("ActionID")
        idf = [("ActionID", aid)] if aid is not None else []
        action = request.action

        def respond(*fields: tuple[str, str], status: str = "Success") -> Reply:
            return Reply(message(("Response", status), *idf, *fields), cookie=session.cookie)

        if action == "login":
            if request.get("Username") == "admin" and request.get("Secret") == SECRET:
                session.authenticated = True
                session.send_events = _on(request.get("Events"))
                return respond(("Message", "Authentication accepted"))
            return respond(("Message", "Authentication failed"), status="Error")
        if not session.authenticated:
            return respond(("Message", "Permission denied"), status="Error")
        if action == "ping":
            return respond(("Ping", "Pong"), ("Timestamp", "1.0"))
        if action == "logoff":
            self.sessions.pop(session.cookie, None)
            return respond(("Message", "Thanks for all the fish."), status="Goodbye")
        if action == "events":
            session.send_events = _on(request.get("EventMask"), session.send_events)
            return respond(("Events", "On" if session.send_events else "Off"))
        if action == "userevent":
            self.queue_event(
                ("Event", "UserEvent"), ("UserEvent", request.get("UserEvent") or ""), *idf
            )
            return respond(("Message", "Event Sent"))
        if action == "waitevent":
            timeout = float(request.get("Timeout") or "1")
            token = session.waiter = object()
            session.wake.set()  # another WaitEvent still waiting gives up
            session.send_events = True
            with anyio.move_on_after(timeout):
                while not session.events and session.cookie in self.sessions:
                    session.wake = anyio.Event()
                    await session.wake.wait()
                    if session.waiter is not token:
                        break
            if session.waiter is not token:
                return Reply(b"", cookie=session.cookie)  # abandoned: it takes no events
            session.waiter = None
            events, session.events = session.events, []
            body = message(
                ("Response", "Success"), *idf, ("Message", "Waiting for Event completed.")
            )
            body += b"".join(events) + message(("Event", "WaitEventComplete"), *idf)
            return Reply(body, cookie=session.cookie)
        return respond(("Message", "Invalid/unknown command"), status="Error")

    async def serve_one(self, stream: anyio.abc.ByteStream) -> None:
        async with stream:
            conn = h11.Connection(h11.SERVER)
            req: h11.Request | None = None
            body = b""
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    try:
                        data = await stream.receive()
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        return
                    conn.receive_data(data)
                elif isinstance(event, h11.Request):
                    req = event
                elif isinstance(event, h11.Data):
                    body += bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    break
                else:
                    return
            assert req is not None
            cookie = host = None
            for name, value in req.headers:
                if name == b"host":
                    host = value.decode()
                if name == b"cookie":
                    for part in value.decode().split(";"):
                        k, _, v = part.strip().partition("=")
                        if k == "mansession_id":
                            cookie = v
            request = Request(
                req.method.decode(),
                req.target.decode(),
                parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body)),
                cookie,
                host,
            )
            self.requests.append(request)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            try:
                reply = await self.handle(request)
            finally:
                self.active -= 1
            if reply.hang_up:
                return
            headers = [
                (b"Server", b"FakeAsterisk"),
                (b"Connection", b"close"),
                (b"Content-type", b"text/plain"),
                (b"Content-Length", str(len(reply.body)).encode()),
            ]
            if reply.cookie is not None:
                set_cookie = f'mansession_id="{reply.cookie}"; Version=1; Max-Age=60'
                headers.append((b"Set-Cookie", set_cookie.encode()))
            out = conn.send(h11.Response(status_code=reply.status, headers=headers))
            if reply.stall_after is not None:
                out += conn.send(h11.Data(data=reply.body[: reply.stall_after]))
            else:
                out += conn.send(h11.Data(data=reply.body)) + conn.send(h11.EndOfMessage())
            try:
                await stream.send(out)
                if reply.stall_after is not None:
                    await anyio.sleep_forever()  # the connection stays open, silent
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return


@asynccontextmanager
async def serve_rawman(
    host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[FakeRawman]:
    """Run a :class:`FakeRawman` on a loopback address for the block's duration.

    Args:
        host: The loopback address to listen on.
        port: The port (0: a free one).
        ssl_context: A server context: then it speaks HTTPS.
    """
    server = FakeRawman()
    server.host = host
    tcp = await anyio.create_tcp_listener(local_host=host, local_port=port)
    server.port = tcp.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610
    listener: anyio.abc.Listener[Any] = tcp
    if ssl_context is not None:
        # As Asterisk: a TLS session may end without a close_notify.
        listener = anyio.streams.tls.TLSListener(tcp, ssl_context, standard_compatible=False)
    async with anyio.create_task_group() as tg:

        async def serve() -> None:
            async with listener:
                await listener.serve(server.serve_one)

        tg.start_soon(serve)
        try:
            yield server
        finally:
            tg.cancel_scope.cancel()
