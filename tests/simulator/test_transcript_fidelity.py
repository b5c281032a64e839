"""The simulator reproduces the recorded Asterisk 22 sessions (no Asterisk needed)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from ami_client.protocol import Event, Message, Parser
from ami_client.testing import Simulator
from tests.simulator.compare import diff, per_channel
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio
TRANSCRIPTS = Path(__file__).parent.parent / "data" / "transcripts"


def recorded(name: str) -> list[Message]:
    parser = Parser()
    parser.receive_data((TRANSCRIPTS / name).read_bytes())
    parser.receive_data(b"")
    return [m for m in parser.next_events() if isinstance(m, Message)]


async def test_dial_short_originate_matches_originate_ami() -> None:
    async with Simulator(time_scale=0.02) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        await d.login()
        await d.call(
            "Originate",
            Channel="Local/dial-short@ami-test",
            Context="ami-test",
            Exten="wait-3",
            Priority=1,
            CallerID="AMI Test <5551234>",
            Variable="AMI_TEST_VAR=from-originate",
            Timeout=10000,
            Async="true",
        )
        with anyio.fail_after(5):
            while len(d.events("Hangup")) < 4:
                await d.next()
        await d.call("Logoff")
        await d.aclose()
    real = per_channel(recorded("originate.ami"))
    sim_side = per_channel(d.received)
    # Login's SuccessfulAuth etc. are compared by the session tests.
    real.pop("<none>", None)
    sim_side.pop("<none>", None)
    assert diff(real, sim_side) == []
    # OriginateResponse: same fields as recorded, ActionID ours.
    (rec,) = [
        m
        for m in recorded("originate.ami")
        if isinstance(m, Event) and m.name == "OriginateResponse"
    ]
    (got,) = d.events("OriginateResponse")
    assert [k.split("(")[0] for k, _ in got.fields] == [k.split("(")[0] for k, _ in rec.fields]
    assert got["Response"] == "Success"
    assert got["Reason"] == "4"


@pytest.mark.parametrize(
    "name", ["login_ping_logoff.ami", "command.ami", "restricted_permission_denied.ami"]
)
async def test_session_transcripts_have_same_shape(name: str) -> None:
    """Replay the client side of a recorded session against the simulator: same message kinds
    and field names in the same order (values aside)."""
    meta = json.loads((TRANSCRIPTS / name).with_suffix(".json").read_text())
    expected = recorded(name)
    async with Simulator() as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        for item in meta["sent"]:
            await d.stream.send(item["data"].encode())
        with anyio.fail_after(5):
            while await d.next() is not None:
                pass
        await d.aclose()

    def kinds(ms: list[Message]) -> list[tuple[str, ...]]:
        return [tuple(k for k, _ in m.fields) for m in ms]

    assert kinds(d.received) == kinds(expected)
    for got, rec in zip(d.received, expected, strict=True):
        for key in ("Response", "Message", "Event", "EventList", "ListItems"):
            if key in rec and not (key == "Message" and rec.get(key, "").startswith("Asterisk")):
                assert got.get(key) == rec.get(key), (key, got, rec)
