"""The in-memory byte streams of ``ami_client.testing``, and a simulator session whose peer
stops reading."""

from __future__ import annotations

import math

import anyio
import pytest

from ami_client.testing import MemoryByteStream, Simulator, memory_stream_pair
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio


async def test_empty_writes_are_not_delivered() -> None:
    # A b"" chunk would read as end-of-stream to many readers: it is never queued.
    a, b = memory_stream_pair()
    await a.send(b"")
    await a.send(b"data")
    with anyio.fail_after(1):
        assert await b.receive() == b"data"
    await a.aclose()
    await b.aclose()


async def test_send_eof_ends_one_direction() -> None:
    a, b = memory_stream_pair()
    await a.send(b"last")
    await a.send_eof()
    with anyio.fail_after(1):
        assert await b.receive() == b"last"
        with pytest.raises(anyio.EndOfStream):
            await b.receive()
        await b.send(b"reply")  # the other direction still works
        assert await a.receive() == b"reply"
    with pytest.raises(anyio.ClosedResourceError):
        await a.send(b"more")
    await a.aclose()
    await b.aclose()


async def test_session_whose_peer_stops_reading_is_dropped() -> None:
    to_server, from_client = anyio.create_memory_object_stream[bytes](math.inf)
    to_client, from_server = anyio.create_memory_object_stream[bytes](math.inf)
    client = MemoryByteStream(to_server, from_server)
    async with Simulator() as sim:
        sim.spawn(lambda: sim.serve_stream(MemoryByteStream(to_client, from_client)))
        d = Driver(client)
        await d.read_banner()
        await d.login()
        await from_server.aclose()  # still connected, no longer reading
        await client.send(b"Action: Ping\r\n\r\n")  # its answer cannot be written
        with anyio.fail_after(5):
            while sim.sessions:  # noqa: ASYNC110
                await anyio.sleep(0.005)
        # The simulator goes on serving others.
        other = Driver(sim.connect_memory())
        await other.read_banner()
        assert (await other.login())["Message"] == "Authentication accepted"
        await other.aclose()
        await client.aclose()
