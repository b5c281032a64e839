"""The write and read paths under pressure: a server that stops reading, a reader that lags.

On asyncio a plain-TCP client hands each action to asyncio's write buffer itself
(``AsyncioTransport.write_nowait``) while nothing waits in its own buffer; these tests show
that memory stays bounded, bytes keep their order and cancelled senders leave nothing, on
both backends.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import ami_client
from ami_client import Action
from ami_client._private.client import _WRITE_HIGH_WATER
from ami_client._private.transport import (
    _READ_HIGH_WATER,
    RECEIVE_SIZE,
    AsyncioTransport,
    open_tcp,
)

from .fakeserver import SECRET, Peer, fake_server, standard

pytestmark = pytest.mark.anyio

# One action of about 100 KB (100 fields of 1,000 bytes: within Asterisk's line limit).
BIG_FIELDS = {f"Var{i:03d}": "x" * 1000 for i in range(100)}


def big_action(n: int) -> Action:
    return Action("UserEvent", UserEvent=f"big{n}", **BIG_FIELDS)


async def test_server_that_stops_reading_bounds_the_write_buffer() -> None:
    resume = anyio.Event()

    async def handler(peer: Peer) -> None:
        await peer.login()
        await resume.wait()  # not reading: the kernel's buffers fill, then ours
        await peer.serve_forever()

    # 160 actions of ~100 KB: far more than loopback's socket buffers hold.
    count = 160
    async with fake_server(handler) as (port, _):
        with anyio.fail_after(30):
            async with ami_client.connect(
                "127.0.0.1", port, username="admin", secret=SECRET, keepalive=None
            ) as ami:
                answered = 0

                async def sender(n: int) -> None:
                    nonlocal answered
                    await ami.send(big_action(n))
                    answered += 1

                async with anyio.create_task_group() as tg:
                    for n in range(count):
                        tg.start_soon(sender, n)
                    # Wait until the senders stall behind the full buffers.
                    while ami.statistics().write_buffer <= _WRITE_HIGH_WATER:  # noqa: ASYNC110
                        await anyio.sleep(0.01)
                    await anyio.sleep(0.1)
                    stats = ami.statistics()
                    assert answered == 0
                    # Bounded: the writer's last flush (at most the high-water mark and the
                    # action that crossed it) in the transport, as much again in our buffer,
                    # and what a direct write left there (asyncio's own 64 KiB mark + one).
                    bound = 2 * (_WRITE_HIGH_WATER + 110_000) + 64 * 1024 + 110_000
                    assert stats.write_buffer <= bound, stats
                    assert stats.pending_actions < count  # the rest wait before registering
                    tg.cancel_scope.cancel()
                # Cancelled senders leave nothing behind...
                assert ami.statistics().pending_actions == 0
                resume.set()
                # ...and what was already queued goes out whole and in order: the server parses
                # every action, answers them (late answers, discarded), then this Ping.
                pong = await ami.send(Action("Ping"))
                assert pong["Ping"] == "Pong"
                assert ami.statistics().late_responses > 0
                assert ami.statistics().write_buffer == 0


def _paused(protocol: Any) -> bool:
    return bool(protocol.reading_paused)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_asyncio_transport_stops_reading_while_its_reader_lags() -> None:
    blob = b"Event: Flood\r\nN: " + b"y" * 1000 + b"\r\n\r\n"
    total = 2000  # ~2 MB

    async def handler(peer: Peer) -> None:
        await peer.stream.send(blob * total)
        await peer.stream.aclose()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(10):
            transport = await open_tcp("127.0.0.1", port)
            assert isinstance(transport, AsyncioTransport)
            try:
                protocol = transport._protocol
                # Nobody receives: it must pause.
                while not protocol.reading_paused:  # noqa: ASYNC110 - polls the protocol
                    await anyio.sleep(0.01)
                await anyio.sleep(0.05)
                assert protocol.reading_paused
                # What waits in memory is bounded: the mark plus at most one socket read.
                assert protocol.buffered <= _READ_HIGH_WATER + 256 * 1024
                received = bytearray()
                while data := await transport.receive():
                    assert len(data) <= RECEIVE_SIZE
                    received += data
                assert bytes(received) == blob * total
                assert not _paused(protocol)  # (a call: mypy keeps no narrowing across)
            finally:
                await transport.aclose()
            with pytest.raises(ami_client.ConnectionLost):
                await transport.send(b"Action: Ping\r\n\r\n")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_sends_of_one_turn_go_out_in_one_write_after_the_first() -> None:
    async with fake_server(standard) as (port, _):
        with anyio.fail_after(10):
            async with ami_client.connect(
                "127.0.0.1", port, username="admin", secret=SECRET, keepalive=None
            ) as ami:
                link = ami._usable_link()
                direct: list[bytes] = []
                write_nowait = link.write_nowait
                assert write_nowait is not None

                def counting(data: bytes) -> bool:
                    direct.append(data)
                    return write_nowait(data)

                link.write_nowait = counting
                flushed: list[bytes] = []
                send = link.transport.send

                async def counting_send(data: bytes) -> None:
                    flushed.append(data)
                    await send(data)

                link.transport.send = counting_send  # type: ignore[method-assign]
                answers: list[str] = []

                async def ping() -> None:
                    answers.append((await ami.send(Action("Ping")))["Ping"])

                async with anyio.create_task_group() as tg:
                    for _ in range(100):
                        tg.start_soon(ping)
                assert answers == ["Pong"] * 100
                # The first send of the turn wrote at once; the other 99, queued behind it in
                # the same turn, left in one write of the writer task.
                assert len(direct) == 1
                assert len(flushed) == 1
                assert flushed[0].count(b"Action: Ping\r\n") == 99
                # A send in a later turn writes at once again.
                await ami.send(Action("Ping"))
                assert len(direct) == 2


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_send_cancelled_while_draining_leaves_no_broken_waiter() -> None:
    # A send waiting for asyncio's full write buffer to drain is cancelled; the next send
    # must wait on a fresh future: re-awaiting the cancelled one raised a CancelledError
    # that nothing had cancelled (the fake server's task group then swallowed it, hence
    # the `finished` flag checked outside).
    resume = anyio.Event()
    received = bytearray()
    finished = False

    async def handler(peer: Peer) -> None:
        await resume.wait()
        while data := await peer.stream.receive():
            received.extend(data)

    blob = b"x" * (1024 * 1024)
    async with fake_server(handler) as (port, _):
        transport = await open_tcp("127.0.0.1", port)
        assert isinstance(transport, AsyncioTransport)
        try:
            with anyio.fail_after(10):
                with anyio.move_on_after(0.5) as scope:
                    while True:  # until the socket and asyncio's buffer are full
                        await transport.send(blob)
                assert scope.cancelled_caught
                assert transport._protocol.writing_paused
                resume.set()
                await transport.send(b"end")
                while not received.endswith(b"end"):  # noqa: ASYNC110 - the server's side
                    await anyio.sleep(0.01)
                finished = True
        finally:
            await transport.aclose()
    assert finished


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_asyncio_transport_hands_small_reads_to_its_receiver_in_order() -> None:
    small = b"Response: Success\r\nPing: Pong\r\n\r\n"
    big = b"Event: Big\r\nN: " + b"z" * (3 * RECEIVE_SIZE) + b"\r\n\r\n"
    sent = small + big + small * 3
    step = anyio.Event()

    async def handler(peer: Peer) -> None:
        await peer.stream.send(small)
        await step.wait()
        await peer.stream.send(big)
        for _ in range(3):
            await peer.stream.send(small)
        await peer.stream.aclose()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(10):
            transport = await open_tcp("127.0.0.1", port)
            assert isinstance(transport, AsyncioTransport)
            log: list[tuple[str, bytes]] = []  # in the order the bytes were handed out
            transport.set_receiver(lambda data: log.append(("pushed", data)))
            try:
                with anyio.fail_after(5):
                    while not log:  # noqa: ASYNC110 - polls what the receiver got
                        await anyio.sleep(0.005)
                # A small read went to the receiver as it arrived, with no receive() call.
                assert log == [("pushed", small)]
                assert not transport._protocol.chunks
                step.set()
                while data := await transport.receive():
                    log.append(("received", data))
            finally:
                await transport.aclose()
    assert b"".join(data for _, data in log) == sent  # every byte, in order
    # A read bigger than RECEIVE_SIZE is never handed over: it waits for receive().
    assert all(len(data) <= RECEIVE_SIZE for kind, data in log if kind == "pushed")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_error_of_the_receiver_is_raised_by_the_next_receive() -> None:
    async def handler(peer: Peer) -> None:
        await peer.stream.send(b"Response: Success\r\n\r\n")
        await anyio.sleep(5)

    def fails(data: bytes) -> None:
        raise ami_client.RemoteProtocolError(f"cannot read {data!r}")

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            transport = await open_tcp("127.0.0.1", port)
            assert isinstance(transport, AsyncioTransport)
            transport.set_receiver(fails)
            try:
                with pytest.raises(ami_client.RemoteProtocolError, match="cannot read"):
                    await transport.receive()
                assert transport._protocol.receiver is None  # detached
            finally:
                await transport.aclose()
