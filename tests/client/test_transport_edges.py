"""The transports at their edges: a reset link, use after close, writes cut at line ends, and
asyncio's write buffer shared by several waiting senders, one of them cancelled."""

from __future__ import annotations

import socket
import struct

import anyio
import anyio.abc
import pytest

from ami_client import ConnectionLost
from ami_client._private.transport import (
    AsyncioTransport,
    StreamTransport,
    _line_chunks,
    open_tcp,
)

from .fakeserver import Peer, fake_server

pytestmark = pytest.mark.anyio


async def reset(peer: Peer) -> None:
    """Close the server's end with a TCP reset (SO_LINGER 0), as a crashed peer or a
    firewall does, after sending a little."""
    await peer.stream.send(b"Asterisk Call Manager/11.0.0\r\n")
    raw = peer.stream.extra(anyio.abc.SocketAttribute.raw_socket)  # noqa: S610 (anyio)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await peer.stream.aclose()


async def test_a_reset_link_is_connection_lost_after_what_arrived_before_it() -> None:
    async with fake_server(reset) as (port, _):
        with anyio.fail_after(5):
            transport = StreamTransport(await anyio.connect_tcp("127.0.0.1", port))
            try:
                received: list[bytes] = []

                async def read_all() -> None:
                    while True:
                        data = await transport.receive()
                        assert data, "a reset is not a clean end of stream"
                        received.append(data)

                with pytest.raises(ConnectionLost, match=r"receive failed: .*(Reset|Broken)"):
                    await read_all()
                assert b"".join(received) == b"Asterisk Call Manager/11.0.0\r\n"
            finally:
                await transport.aclose()


async def test_a_stream_transport_used_after_close_is_connection_lost() -> None:
    async def idle(peer: Peer) -> None:
        await anyio.sleep(5)

    async with fake_server(idle) as (port, _):
        with anyio.fail_after(5):
            transport = StreamTransport(await anyio.connect_tcp("127.0.0.1", port))
            await transport.aclose()
            await transport.aclose()  # twice is fine
            with pytest.raises(ConnectionLost, match="send failed: ClosedResourceError"):
                await transport.send(b"Action: Ping\r\n\r\n")
            with pytest.raises(ConnectionLost, match="receive failed: ClosedResourceError"):
                await transport.receive()


def test_line_chunks_cut_at_line_ends_and_keep_an_overlong_line_whole() -> None:
    data = b"Action: Ping\r\nActionID: 1\r\n\r\n"
    for size in range(1, len(data) + 2):
        chunks = list(_line_chunks(data, size))
        assert b"".join(chunks) == data  # every byte, in order
        for chunk in chunks:
            # Each piece ends a line; only a single line longer than `size` is longer.
            assert chunk.endswith(b"\n")
            assert len(chunk) <= size or chunk.count(b"\n") == 1
    # Pieces that end exactly at the end of the data leave no empty piece behind.
    assert list(_line_chunks(b"ab\ncd\n", 3)) == [b"ab\n", b"cd\n"]
    assert list(_line_chunks(b"abcdefgh\nij\n", 4)) == [b"abcdefgh\n", b"ij\n"]


async def test_a_stream_transport_with_max_write_sends_everything_in_order() -> None:
    got = bytearray()
    done = anyio.Event()
    data = b"".join(b"Action: UserEvent\r\nN: %d\r\n\r\n" % n for n in range(300))

    async def collect(peer: Peer) -> None:
        while len(got) < len(data):
            got.extend(await peer.stream.receive())
        done.set()

    async with fake_server(collect) as (port, _):
        with anyio.fail_after(5):
            transport = StreamTransport(await anyio.connect_tcp("127.0.0.1", port), max_write=64)
            try:
                await transport.send(data)
                await done.wait()
            finally:
                await transport.aclose()
    assert bytes(got) == data


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_asyncio_transport_after_close_refuses_receive_and_send() -> None:
    async def idle(peer: Peer) -> None:
        await anyio.sleep(5)

    async with fake_server(idle) as (port, _):
        with anyio.fail_after(5):
            transport = await open_tcp("127.0.0.1", port)
            assert isinstance(transport, AsyncioTransport)
            await transport.aclose()
            await transport.aclose()
            with pytest.raises(ConnectionLost, match="the transport was closed"):
                await transport.receive()
            with pytest.raises(ConnectionLost, match="the connection is closed"):
                await transport.send(b"Action: Ping\r\n\r\n")
            assert transport.write_nowait(b"Action: Ping\r\n\r\n") is False


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_one_of_two_senders_waiting_on_a_full_asyncio_buffer_is_cancelled() -> None:
    # A listening socket that accepts nothing and reads nothing (the kernel completes the
    # handshake): unlike an anyio server on asyncio, which reads everything into memory,
    # it really stops the bytes, so asyncio's write buffer fills and stays full.
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    received = bytearray()

    def drain() -> None:
        server, _ = listener.accept()
        with server:
            while data := server.recv(1 << 20):
                received.extend(data)
                if received.endswith(b"end"):
                    return

    blob = b"x" * (1024 * 1024)
    transport = await open_tcp("127.0.0.1", port)
    assert isinstance(transport, AsyncioTransport)
    protocol = transport._protocol
    outcomes: dict[str, str] = {}

    async def sender(tag: str, scope: anyio.CancelScope) -> None:
        with scope:
            try:
                await transport.send(tag.encode())
            except BaseException as error:
                outcomes[tag] = type(error).__name__
                raise
            outcomes[tag] = "sent"

    try:
        with anyio.fail_after(10):
            transport._transport.write(blob * 8)  # more than the kernel's buffers hold
            assert protocol.writing_paused
            async with anyio.create_task_group() as tg:
                cancelled, kept = anyio.CancelScope(), anyio.CancelScope()
                tg.start_soon(sender, "B", cancelled)
                tg.start_soon(sender, "C", kept)
                await anyio.sleep(0.05)
                assert outcomes == {}  # both wait for the buffer to drain
                cancelled.cancel()
                await anyio.sleep(0.05)
                # Only the cancelled sender stopped: the other one still waits, unharmed.
                assert outcomes == {"B": "CancelledError"}
                async with anyio.create_task_group() as readers:
                    readers.start_soon(anyio.to_thread.run_sync, drain)
                    while "C" not in outcomes:  # noqa: ASYNC110 - the sender's side
                        await anyio.sleep(0.01)
                    await transport.send(b"end")
            assert outcomes == {"B": "CancelledError", "C": "sent"}
    finally:
        await transport.aclose()
        listener.close()
    # Every byte handed over arrived, in order ("B" was queued before its sender gave up).
    assert len(received) == 8 * len(blob) + len(b"BCend")
    assert bytes(received[-5:]) in (b"BCend", b"CBend")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_bytes_arriving_as_a_receive_is_cancelled_wait_for_the_next_receive() -> None:
    # The event loop hands over bytes (data_received) in the very step the reading task was
    # cancelled: its future is cancelled already, so it must not be woken (InvalidStateError)
    # and the bytes must go to the next receive().
    async def idle(peer: Peer) -> None:
        await anyio.sleep(5)

    async with fake_server(idle) as (port, _):
        with anyio.fail_after(5):
            transport = await open_tcp("127.0.0.1", port)
            assert isinstance(transport, AsyncioTransport)
            try:
                scope = anyio.CancelScope()

                async def receive() -> None:
                    with scope:
                        await transport.receive()
                        pytest.fail("received after being cancelled")

                async with anyio.create_task_group() as tg:
                    tg.start_soon(receive)
                    while transport._protocol.read_waiter is None:  # noqa: ASYNC110
                        await anyio.sleep(0.001)
                    scope.cancel()
                    transport._protocol.data_received(b"Event: Late\r\n\r\n")
                assert scope.cancelled_caught
                assert await transport.receive() == b"Event: Late\r\n\r\n"
            finally:
                await transport.aclose()
