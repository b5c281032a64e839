"""A small AMI server on a loopback socket, scripted by each test: real sockets, real bytes.

It parses what the client sends with the project's own parser (server side: no banner) and
writes replies with ``serialize_message``; a test gives the per-connection behaviour as an
async function of a :class:`Peer`.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc

import ami_client
from ami_client import Event, Message, Response
from ami_client.protocol import NEED_DATA, ConnectionClosed, Parser, serialize_message

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
SECRET = "s3cr3t-for-tests"


class Peer:
    """The server's end of one client connection."""

    def __init__(self, stream: anyio.abc.SocketStream) -> None:
        self.stream = stream
        self.parser = Parser(expect_banner=False)
        self.received: list[Message] = []

    async def read_action(self) -> Message:
        """The next action the client sent; raises EOFError when it closed."""
        while True:
            item = self.parser.next_event()
            if isinstance(item, Message):
                self.received.append(item)
                return item
            if isinstance(item, ConnectionClosed):
                raise EOFError
            assert item is NEED_DATA
            try:
                data = await self.stream.receive(65536)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                data = b""
            self.parser.receive_data(data)

    async def send(self, *messages: Message) -> None:
        await self.stream.send(b"".join(serialize_message(m) for m in messages))

    async def reply(
        self, action: Message, *fields: tuple[str, str], status: str = "Success"
    ) -> None:
        await self.send(response(action, *fields, status=status))

    async def login(self, *, secret: str = SECRET) -> Message:
        """Banner, then answer a plain or MD5 login as Asterisk does. Returns the Login."""
        await self.stream.send(BANNER)
        challenge = "123456789"
        while True:
            action = await self.read_action()
            name = action["Action"].lower()
            if name == "challenge":
                await self.reply(action, ("Challenge", challenge))
                continue
            assert name == "login", action
            if action.get("AuthType", "").lower() == "md5":
                want = hashlib.md5((challenge + secret).encode(), usedforsecurity=False)
                ok = action.get("Key") == want.hexdigest()
            else:
                ok = action.get("Secret") == secret
            if not ok:
                await self.reply(action, ("Message", "Authentication failed"), status="Error")
                await self.stream.aclose()
                raise EOFError
            await self.reply(action, ("Message", "Authentication accepted"))
            return action

    async def serve_forever(self) -> None:
        """Answer Ping and Logoff (Goodbye) until the client goes."""
        while True:
            action = await self.read_action()
            name = action["Action"].lower()
            if name == "logoff":
                await self.reply(action, ("Message", "Thanks for all the fish."), status="Goodbye")
                await self.stream.aclose()
                return
            if name == "ping":
                await self.reply(action, ("Ping", "Pong"))
            else:
                await self.reply(action)


def response(action: Message, *fields: tuple[str, str], status: str = "Success") -> Response:
    head = [("Response", status)]
    if action.action_id is not None:
        head.append(("ActionID", action.action_id))
    return Response([*head, *fields])


def event(name: str, *fields: tuple[str, str]) -> Event:
    return Event([("Event", name), *fields])


Handler = Callable[[Peer], Awaitable[None]]


@asynccontextmanager
async def fake_server(handler: Handler) -> AsyncIterator[tuple[int, list[Peer]]]:
    """Serve ``handler`` on 127.0.0.1 (a free port); yields (port, peers so far)."""
    peers: list[Peer] = []
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 (anyio, not Django)

    async def serve(stream: anyio.abc.SocketStream) -> None:
        peer = Peer(stream)
        peers.append(peer)
        try:
            await handler(peer)
        except (EOFError, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        finally:
            await anyio.aclose_forcefully(stream)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, serve)
            try:
                yield port, peers
            finally:
                tg.cancel_scope.cancel()
    finally:
        await listener.aclose()


async def standard(peer: Peer) -> None:
    """Log in, then answer Ping and Logoff."""
    await peer.login()
    await peer.serve_forever()


def connect_to(port: int, **options: Any) -> ami_client.AMIClient:
    """``ami_client.connect`` to a fake server on ``port``: user admin with :data:`SECRET`,
    no keepalive unless ``options`` give one (they override any default)."""
    settings: dict[str, Any] = {"username": "admin", "secret": SECRET, "keepalive": None}
    settings.update(options)
    return ami_client.connect("127.0.0.1", port, **settings)
