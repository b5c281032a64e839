"""Transcript replays: how a replay waits for the client's actions and how it ends."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from ami_client.protocol import LimitExceeded, Response
from ami_client.testing import Simulator, Transcript, memory_stream_pair
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio
TRANSCRIPTS = Path(__file__).parent.parent / "data" / "transcripts"

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
PONG = b"Response: Success\r\nActionID: rec-%d\r\nPing: Pong\r\n\r\n"


def _pings(*offsets: int) -> Transcript:
    """A banner, then one recorded Pong per client action at the given offsets."""
    data = BANNER + b"".join(PONG % i for i in range(len(offsets)))
    return Transcript(data=data, sends=tuple((o, f"rec-{i}") for i, o in enumerate(offsets)))


async def test_actions_sent_together_are_both_awaited() -> None:
    # Two recorded actions at the same offset: the replay waits for both before it sends on.
    t = _pings(len(BANNER), len(BANNER))
    async with Simulator() as sim:
        sim.replay_next_connection(t)
        d = Driver(sim.connect_memory())
        await d.read_banner()
        a1 = await d.send("Ping")
        a2 = await d.send("Ping")
        with anyio.fail_after(5):
            r1 = await d.next()
            r2 = await d.next()
        assert isinstance(r1, Response)
        assert isinstance(r2, Response)
        # The client's ActionIDs replace the recorded ones, in order.
        assert (r1.action_id, r2.action_id) == (a1, a2)
        assert [a.action_id for a in sim.actions("Ping")] == [a1, a2]
        await d.aclose()


async def test_actions_without_actionid_get_the_recorded_bytes() -> None:
    t = _pings(len(BANNER))
    async with Simulator() as sim:
        sim.replay_next_connection(t)
        d = Driver(sim.connect_memory())
        await d.read_banner()
        await d.stream.send(b"Action: Ping\r\n\r\n")
        with anyio.fail_after(5):
            r = await d.next()
            # The transcript ends with that response: the replay closes the connection.
            assert await d.next() is None
        assert isinstance(r, Response)
        assert r.action_id == "rec-0"
        assert d.closed
        await d.aclose()


async def test_client_leaving_early_ends_the_replay_with_what_it_sent() -> None:
    async with Simulator() as sim:
        sim.replay_next_connection(TRANSCRIPTS / "login_ping_logoff.ami")
        d = Driver(sim.connect_memory())
        await d.read_banner()
        r = await d.call("Login", Username="admin", Secret="x")
        assert r["Message"] == "Authentication accepted"
        await d.stream.send_eof()  # no Ping, no Logoff
        with anyio.fail_after(5):
            while await d.next() is not None:  # the rest of the Login's recorded output
                pass
        # The Ping's recorded response never came: the replay ended at the client's EOF.
        assert not any(isinstance(m, Response) and m.get("Ping") for m in d.received)
        assert [a.name for a in sim.received_actions] == ["Login"]
        assert not sim.protocol_errors
        await d.aclose()


async def test_garbage_from_the_client_ends_only_that_replay() -> None:
    async with Simulator() as sim:
        sim.replay_next_connection(TRANSCRIPTS / "login_ping_logoff.ami")
        d = Driver(sim.connect_memory())
        await d.read_banner()
        await d.call("Login", Username="admin", Secret="x")
        await d.stream.send(b"Action: Ping\r\nX: " + b"y" * 70_000 + b"\r\n\r\n")
        with anyio.fail_after(5):
            while await d.next() is not None:  # the replay closes the connection
                pass
        assert not any(isinstance(m, Response) and m.get("Ping") for m in d.received)
        assert [a.name for a in sim.received_actions] == ["Login"]
        [(sid, exc)] = sim.protocol_errors
        assert sid == sim.received_actions[0].session_id
        assert isinstance(exc, LimitExceeded)
        assert str(exc) == "client exceeded max_line_length=65536"
        # The simulator itself is still serving.
        other = Driver(sim.connect_memory())
        await other.read_banner()
        assert (await other.login())["Message"] == "Authentication accepted"
        await other.aclose()
        await d.aclose()


async def test_serve_alone_swallows_garbage_and_vanished_clients() -> None:
    # Transcript.serve without a list for protocol errors, on bare memory streams.
    t = _pings(len(BANNER), len(BANNER) + len(PONG % 0))
    client, server = memory_stream_pair()
    async with anyio.create_task_group() as tg:

        async def garbage() -> None:
            await client.receive()  # the banner
            await client.send(b"Action: Ping\r\nX: " + b"y" * 70_000 + b"\r\n\r\n")

        tg.start_soon(garbage)
        with anyio.fail_after(5):
            assert await t.serve(server) == []
    await client.aclose()
    await server.aclose()

    # A transcript that starts with the client's action: the replay reads it, then finds the
    # client gone when it writes the answer.
    answer_only = Transcript(data=PONG % 0, sends=((0, "rec-0"),))
    client, server = memory_stream_pair()
    await client.send(b"Action: Ping\r\nActionID: mine\r\n\r\n")
    await client.aclose()
    with anyio.fail_after(5):
        [ping] = await answer_only.serve(server)
    assert ping.action_id == "mine"
    await server.aclose()
