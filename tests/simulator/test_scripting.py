"""The scripting API: injected events, failing/dropped/delayed responses, garbage, cuts,
floods and transcript replays."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from ami_client.protocol import Event, Response
from ami_client.testing import Simulator
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio
TRANSCRIPTS = Path(__file__).parent.parent / "data" / "transcripts"


async def admin(sim: Simulator) -> Driver:
    d = Driver(sim.connect_memory())
    await d.read_banner()
    await d.login(Events="off")
    await d.call("Events", EventMask="on")
    return d


async def test_inject_and_flood() -> None:
    async with Simulator() as sim:
        d = await admin(sim)
        sim.inject_event({"Event": "Custom", "Privilege": "call,all", "X": "1"})
        sim.flood(500)
        await d.call("Ping")
        assert [e["X"] for e in d.events("Custom")] == ["1"]
        assert [e["Sequence"] for e in d.events("SimulatorFlood")] == [
            str(i) for i in range(1, 501)
        ]
        await d.aclose()


async def test_fail_drop_delay() -> None:
    async with Simulator() as sim:
        d = await admin(sim)
        sim.fail_next_action("Ping", "Nope")
        r = await d.call("Ping")
        assert (r.status, r["Message"]) == ("Error", "Nope")
        assert (await d.call("Ping"))["Ping"] == "Pong"
        sim.drop_next_response("Ping")
        dropped = await d.send("Ping")
        r = await d.call("Ping")
        assert r.action_id != dropped
        assert all(m.action_id != dropped for m in d.received)
        sim.delay_responses(0.1, "Ping")
        start = anyio.current_time()
        await d.call("Ping")
        assert anyio.current_time() - start >= 0.09
        assert [a.name for a in sim.received_actions][-1] == "Ping"
        await d.aclose()


async def test_garbage_and_cut() -> None:
    async with Simulator() as sim:
        d = await admin(sim)
        garbage = b"\xff\xfe not a message line\r\n\r\n"
        sim.send_garbage(garbage)
        received = b""
        with anyio.fail_after(2):
            while garbage not in received:
                received += await d.stream.receive()
        d2 = await admin(sim)
        sim.cut_connections()
        with anyio.fail_after(2):
            assert await d2.next() is None
        await d.aclose()
        await d2.aclose()


async def test_replay_transcript() -> None:
    async with Simulator() as sim:
        sim.replay_next_connection(TRANSCRIPTS / "login_ping_logoff.ami")
        d = Driver(sim.connect_memory())
        await d.read_banner()
        r = await d.call("Login", Username="admin", Secret="whatever")
        assert r["Message"] == "Authentication accepted"
        p = await d.call("Ping")
        assert p["Timestamp"] == "1795799412.018686"  # the recorded one
        assert isinstance(await d.call("Logoff"), Response)
        assert [e.name for e in d.events()] == ["FullyBooted", "SuccessfulAuth"]
        assert all(isinstance(m, (Event, Response)) for m in d.received)
        await d.aclose()
