"""The ``Bridge`` action's channels after the bridge: a channel that ran dialplan goes on at
its next priority once the bridge breaks, as Asterisk 22 does (the action has no flag that
would hang it up instead: ``manager show command Bridge`` lists only ``Tone``)."""

from __future__ import annotations

import anyio
import pytest

from ami_client.protocol import Event, Message
from ami_client.testing import Simulator
from tests.asterisk.server import AsteriskServer
from tests.simulator.compare import diff, only_call, per_channel
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio


async def _bridged(d: Driver) -> list[Message]:
    """Bridge the ``;2`` of an ``echo`` call (in Echo) with the ``;2`` of a ``wait`` call (in
    Wait(30) at priority 2), then hang the echo call's ``;2`` up: the wait call's ``;2`` is
    left alone in the bridge."""
    await d.login()
    await d.call("Originate", Channel="Local/echo@ami-test", Application="Wait", Data="30")
    await d.call("Originate", Channel="Local/wait@ami-test", Application="Wait", Data="30")
    with anyio.fail_after(10):
        while True:
            running = {e["Exten"]: e["Channel"] for e in d.events("Newexten")
                       if e["Channel"].endswith(";2") and e["Priority"] == "2"}  # fmt: skip
            if {"echo", "wait"} <= set(running):
                break
            await d.next()
    r = await d.call("Bridge", Channel1=running["echo"], Channel2=running["wait"])
    assert r["Message"] == "Channels have been bridged"
    with anyio.fail_after(10):
        while len([e for e in d.events("BridgeEnter") if e["Channel"] in running.values()]) < 2:
            await d.next()
    await d.call("Hangup", Channel=running["echo"])
    with anyio.fail_after(15):
        while not any(e["Channel"].startswith("Local/wait@ami-test-") and e["Channel"][-2:] == ";1"
                      for e in d.events("Hangup")):  # fmt: skip
            await d.next()
    await d.settle()
    await d.logoff()
    return d.received


async def _simulated() -> list[Message]:
    async with Simulator(time_scale=0.05) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(30):
            return await _bridged(d)


def _wait_call(messages: list[Message]) -> list[Event]:
    """The events of both calls (a bridge gives its channels one Linkedid: the two calls'
    events are told apart by their first channel's Linkedid only until then)."""
    kept = {
        id(m)
        for prefix in ("Local/echo@ami-test-", "Local/wait@ami-test-")
        for m in only_call(messages, prefix, set())
    }
    return [m for m in messages if isinstance(m, Event) and id(m) in kept]


async def test_a_bridged_channel_goes_on_in_the_dialplan() -> None:
    events = _wait_call(await _simulated())
    two = [e for e in events if e.get("Channel", "").endswith(";2")
           and e["Channel"].startswith("Local/wait@")]  # fmt: skip
    names = [e.name for e in two]
    enter = two[names.index("BridgeEnter")]
    assert enter["Priority"] == "3"  # where it will go on, already at BridgeEnter
    after = names[names.index("BridgeLeave") :]
    assert after == ["BridgeLeave", "Newexten", "SoftHangupRequest", "Hangup"]
    assert (two[-3]["Application"], two[-3]["Priority"]) == ("Hangup", "3")
    # The channel hung up in the bridge leaves it without a SoftHangupRequest of its own.
    echo = [e.name for e in events if e.get("Channel", "").startswith("Local/echo@")
            and e["Channel"].endswith(";2")]  # fmt: skip
    assert "SoftHangupRequest" not in echo[echo.index("BridgeEnter") :]


async def test_a_bridged_channel_continues_at_a_custom_extension() -> None:
    from ami_client.testing import Dialplan

    plan = Dialplan()
    plan.add("t", "a", ["Answer()", "Wait(30)", "Set(AFTER=${EXTEN})", "Wait(0.5)", "Hangup()"])
    plan.add("t", "b", ["Answer()", "Wait(30)", "Hangup()"])
    async with Simulator(dialplan=plan, time_scale=0.01) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        await d.login()
        for exten in ("a", "b"):
            await d.call("Originate", Channel=f"Local/{exten}@t", Application="Wait", Data="30")
        with anyio.fail_after(5):
            while len([e for e in d.events("Newexten") if e["Priority"] == "2"]) < 2:
                await d.next()
        a2, b2 = sorted(c.name for c in sim.pbx.channels.values() if c.name.endswith(";2"))
        await d.call("Bridge", Channel1=a2, Channel2=b2)
        await d.call("Hangup", Channel=b2)
        with anyio.fail_after(5):
            while not any(e["Channel"] == a2 for e in d.events("Hangup")):
                await d.next()
        sets = [(e["Variable"], e["Value"]) for e in d.events("VarSet") if e["Channel"] == a2]
        assert ("AFTER", "a") in sets
        await d.aclose()


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_bridge_action_channels_match_asterisk(asterisk: AsteriskServer) -> None:
    simulated = per_channel(_wait_call(await _simulated()))
    for attempt in range(3):  # a shared server may disturb a run: retried first
        if attempt:
            await anyio.sleep(1)
        with anyio.fail_after(60):
            real = await _bridged(await Driver.tcp(asterisk.host, asterisk.ami_port))
        problems = diff(per_channel(_wait_call(real)), simulated)
        if not problems:
            break
    assert problems == [], "\n".join(problems)
