"""A sender cancelled in the very step its answer arrives, or its link dies (asyncio).

On asyncio, cancelling a task cancels the future it awaits at once, but the task itself runs
later: in between, the reader may still find that future in its tables. These tests build
that instant on purpose, with a scripted transport (the ``transport_factory`` seam) whose
bytes and failures the test hands over synchronously, and show that the client neither
crashes (setting a result on a cancelled future raises InvalidStateError) nor loses track.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

import anyio
import pytest

import ami_client
from ami_client import Action, ConnectionLost, ConnectionState, Message
from ami_client.protocol import Parser

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["asyncio"])]


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
        self._parser.receive_data(data)
        for action in self._parser.next_events():
            assert isinstance(action, Message)
            self.actions.append(action)
            if action["Action"] == "Login":
                self.push(b"Response: Success\r\nActionID: %s\r\n\r\n" % answer_id(action))
            elif action["Action"] == "Logoff":
                self.push(b"Response: Goodbye\r\nActionID: %s\r\n\r\n" % answer_id(action))
                self.push(b"")  # and the server closes

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


async def test_an_answer_arriving_as_its_sender_is_cancelled_is_dropped_safely(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ami_client")
    transport = ScriptedTransport()
    with anyio.fail_after(5):
        async with await connected(transport) as ami:
            outcome: list[str] = []
            scope = anyio.CancelScope()

            async def add_filter() -> None:
                with scope:
                    await ami.add_filter("Event: Hangup")  # a waiter in the correlator
                    outcome.append("answered")
                outcome.append("cancelled" if scope.cancelled_caught else "?")

            async with anyio.create_task_group() as tg:
                tg.start_soon(add_filter)
                action = await sent(transport, "Filter")
                # One synchronous step: the sender is cancelled, then its answer is read.
                scope.cancel()
                assert transport.receiver is not None
                transport.receiver(b"Response: Success\r\nActionID: %s\r\n\r\n" % answer_id(action))
            assert outcome == ["cancelled"]
            # Nothing is left waiting, the answer was matched (not a late one), the link lives.
            stats = ami.statistics()
            assert (stats.pending_actions, stats.late_responses) == (0, 0)
            assert ami.state is ConnectionState.CONNECTED
            transport.push(b"Response: Success\r\nActionID: p-1\r\nPing: Pong\r\n\r\n")
            # (push only wakes the reader: it reads the answer after send() registered it)
            ping = Action("Ping", ActionID="p-1")
            with anyio.fail_after(1):
                assert (await ami.send(ping))["Ping"] == "Pong"
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_link_dying_as_a_sender_is_cancelled_fails_the_rest_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ami_client")
    transport = ScriptedTransport()
    with anyio.fail_after(5):
        ami = await connected(transport)
        async with ami:
            outcome: dict[str, str] = {}
            scope = anyio.CancelScope()

            async def ping(name: str, scope: anyio.CancelScope) -> None:
                with scope:
                    try:
                        await ami.send(Action("Ping", ActionID=name))  # bare futures
                    except ConnectionLost:
                        outcome[name] = "ConnectionLost"
                        return
                outcome[name] = "cancelled" if scope.cancelled_caught else "answered"

            async with anyio.create_task_group() as tg:
                tg.start_soon(ping, "one", scope)
                tg.start_soon(ping, "two", anyio.CancelScope())
                await sent(transport, "Ping")
                while len([a for a in transport.actions if a["Action"] == "Ping"]) < 2:  # noqa: ASYNC110
                    await anyio.sleep(0.001)
                # One synchronous step: the link fails (the reader runs first), then one
                # sender is cancelled before the reader fails what is in flight.
                transport.fail(ConnectionLost("link reset"))
                scope.cancel()
            assert outcome == {"one": "cancelled", "two": "ConnectionLost"}
            assert ami.state is ConnectionState.CLOSED
            with pytest.raises(ConnectionLost, match="link reset"):
                await ami.send(Action("Ping"))
        # No internal error: the reader failed the link as any other loss.
        assert not [r for r in caplog.records if "internal error" in r.getMessage()]
