"""A tiny AMI driver for the simulator's tests, built only on the sans-IO core.

Deliberately not the client (which is developed separately): a bug in one must not hide a
bug in the other. Works over any anyio byte stream (TCP to the simulator or to the real
Asterisk, or the simulator's in-memory pair).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.abc

from ami_client.protocol import (
    NEED_DATA,
    Action,
    Banner,
    ConnectionClosed,
    Event,
    Message,
    Parser,
    Response,
    serialize_action,
)

if TYPE_CHECKING:
    from tests.asterisk.server import AsteriskServer

T = TypeVar("T")


class Driver:
    """Send actions, read responses and events; everything received is kept in order."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self.stream = stream
        self.parser = Parser()
        self.banner: Banner | None = None
        self.received: list[Message] = []
        self.closed = False
        self._ids = itertools.count(1)

    @classmethod
    async def tcp(cls, host: str, port: int) -> Driver:
        driver = cls(await anyio.connect_tcp(host, port))
        await driver.read_banner()
        return driver

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def settle(self, seconds: float = 0.3) -> None:
        """Keep reading for ``seconds``, so that late events of a call (BridgeDestroy,
        VarSet...) are in :attr:`received` too."""
        with anyio.move_on_after(seconds):
            while True:
                await self.next()

    async def until_hung_up(self, channel_prefix: str, count: int) -> None:
        """Read until ``count`` Hangup events of channels named ``channel_prefix...`` came
        (both halves of a Local call: ``Local/<exten>@<context>``, 2), within 5 seconds."""

        def hung_up() -> int:
            return sum(1 for e in self.events("Hangup") if e["Channel"].startswith(channel_prefix))

        with anyio.fail_after(5):
            while hung_up() < count:
                await self.next()

    async def logoff(self) -> None:
        """Log off and close."""
        await self.call("Logoff")
        await self.aclose()

    async def _fill(self) -> bool:
        try:
            data = await self.stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            data = b""
        self.parser.receive_data(data)
        return bool(data)

    async def next(self) -> Message | None:
        """The next message, or None at end of stream."""
        while True:
            item = self.parser.next_event()
            if item is NEED_DATA:
                await self._fill()
                continue
            if isinstance(item, ConnectionClosed):
                self.closed = True
                return None
            if isinstance(item, Banner):
                self.banner = item
                continue
            assert isinstance(item, Message)
            self.received.append(item)
            return item

    async def read_banner(self) -> Banner:
        while self.banner is None:
            item = self.parser.next_event()
            if item is NEED_DATA:
                if not await self._fill():
                    raise ConnectionError("closed before the banner")
            elif isinstance(item, Banner):
                self.banner = item
        return self.banner

    async def send(self, name: str, **fields: object) -> str:
        action_id = f"t-{next(self._ids)}"
        await self.stream.send(serialize_action(Action(name, fields), action_id))
        return action_id

    async def until(self, pred: Callable[[Message], bool]) -> Message:
        """Read until a message satisfies ``pred``; that message."""
        while True:
            msg = await self.next()
            if msg is None:
                raise ConnectionError("connection closed while waiting")
            if pred(msg):
                return msg

    async def call(self, name: str, **fields: object) -> Response:
        """Send an action and return its response (events before it are kept in received)."""
        aid = await self.send(name, **fields)
        msg = await self.until(lambda m: isinstance(m, Response) and m.action_id == aid)
        assert isinstance(msg, Response)
        return msg

    async def login(
        self,
        username: str = "admin",
        secret: str = "ami-admin-secret",  # noqa: S107
        **kw: object,
    ) -> Response:
        return await self.call("Login", Username=username, Secret=secret, **kw)

    def events(self, name: str | None = None) -> list[Event]:
        return [
            m for m in self.received if isinstance(m, Event) and (name is None or m.name == name)
        ]


async def on_asterisk(
    asterisk: AsteriskServer,
    run: Callable[[Driver], Awaitable[T]],
    good: Callable[[T], bool],
    *,
    seconds: float = 30,
) -> T:
    """``run``'s result on the real Asterisk (each run within ``seconds``). A shared server
    may disturb a run: it is retried (twice, a second apart) while ``good`` says no. The
    last one is returned, for the caller's assertions to show what differs."""
    for attempt in range(3):
        if attempt:
            await anyio.sleep(1)
        with anyio.fail_after(seconds):
            result = await run(await Driver.tcp(asterisk.host, asterisk.ami_port))
        if good(result):
            break
    return result
