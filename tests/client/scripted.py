"""A scripted in-memory transport (asyncio): the test hands over bytes and failures itself,
synchronously, to build the exact instants that real sockets only give by chance."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import anyio

import ami_client
from ami_client import ConnectionLost, Message
from ami_client.protocol import Parser


class ScriptedTransport:
    """An in-memory AMI server end: greets, accepts any Login, records the rest; the test
    feeds bytes (through the client's receiver, synchronously) and failures."""

    expects_banner = True

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.chunks: deque[bytes] = deque([b"Asterisk Call Manager/11.0.0\r\n"])
        self.waiter: asyncio.Future[None] | None = None
        self.error: BaseException | None = None
        self.receiver: Callable[[bytes], None] | None = None
        self.actions: list[Message] = []
        self.send_error: BaseException | None = None  # what send() raises, once set
        # Called with each action other than Login and Logoff (it may answer, or raise: then
        # send() raises that).
        self.on_action: Callable[[ScriptedTransport, Message], None] | None = None
        self._parser = Parser(expect_banner=False)

    def set_receiver(self, receiver: Callable[[bytes], None] | None) -> None:
        self.receiver = receiver

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def push(self, data: bytes) -> None:
        """Bytes for the reader task's next receive()."""
        self.chunks.append(data)
        self._wake()

    def fail(self, error: BaseException) -> None:
        """The reader task's next receive() raises ``error``."""
        self.error = error
        self._wake()

    async def receive(self) -> bytes:
        while not self.chunks:
            if self.error is not None:
                raise self.error
            self.waiter = self.loop.create_future()
            await self.waiter
        return self.chunks.popleft()

    async def send(self, data: bytes) -> None:
        if self.send_error is not None:
            raise self.send_error
        self._parser.receive_data(data)
        for action in self._parser.next_events():
            assert isinstance(action, Message)
            self.actions.append(action)
            if action["Action"] == "Login":
                self.push(b"Response: Success\r\nActionID: %s\r\n\r\n" % answer_id(action))
            elif action["Action"] == "Logoff":
                self.push(b"Response: Goodbye\r\nActionID: %s\r\n\r\n" % answer_id(action))
                self.push(b"")  # and the server closes
            elif self.on_action is not None:
                self.on_action(self, action)

    async def aclose(self) -> None:
        self.fail(ConnectionLost("closed"))


def answer_id(action: Message) -> bytes:
    return (action.action_id or "").encode()


async def connected(transport: ScriptedTransport) -> ami_client.AMIClient:
    async def factory() -> ScriptedTransport:
        return transport

    return ami_client.connect(
        username="admin", secret="x", keepalive=None, transport_factory=factory
    )


async def sent(transport: ScriptedTransport, name: str) -> Message:
    while not any(a["Action"] == name for a in transport.actions):  # noqa: ASYNC110
        await anyio.sleep(0.001)
    return next(a for a in transport.actions if a["Action"] == name)
