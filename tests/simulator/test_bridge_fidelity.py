"""The ``Bridge`` action's channels after the bridge: a channel that ran dialplan goes on at
its next priority once the bridge breaks, as Asterisk 22 does (the action has no flag that
would hang it up instead: ``manager show command Bridge`` lists only ``Tone``), and one outside
any dialplan (an Originate's ``;1`` running its Application) at its own extension, from
priority 1. And ``BlindTransfer`` out of a Dial's bridge: the events of both channels, and the
``BlindTransfer`` event's fields, compared with the real server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest

from ami_client.protocol import Event, Message
from ami_client.testing import Simulator
from tests.asterisk.server import AsteriskServer
from tests.simulator.compare import diff, only_call, per_channel
from tests.simulator.driver import Driver, on_asterisk

pytestmark = pytest.mark.anyio


async def _bridged(d: Driver, half: str = ";2") -> list[Message]:
    """Bridge the ``;2`` of an ``echo`` call (in Echo) with the ``half`` of a ``wait`` call (its
    ``;2`` in Wait(30) at priority 2, or its ``;1`` running the Originate's Application, outside
    any dialplan), then hang the echo call's ``;2`` up: that half of the wait call is left
    alone in the bridge. A ``;1`` goes on in the dialplan at its own extension, from priority
    1 (Answer, Wait(30)): it is hung up (the Hangup action) once it waits."""
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
    alone = running["wait"][:-2] + half
    r = await d.call("Bridge", Channel1=running["echo"], Channel2=alone)
    assert r["Message"] == "Channels have been bridged"
    with anyio.fail_after(10):
        pair = (running["echo"], alone)
        while len([e for e in d.events("BridgeEnter") if e["Channel"] in pair]) < 2:
            await d.next()
    await d.call("Hangup", Channel=running["echo"])

    def hung_up(channel: str) -> bool:
        return any(e["Channel"] == channel for e in d.events("Hangup"))

    if half == ";1":
        with anyio.fail_after(10):
            while not hung_up(alone) and not any(
                e["Channel"] == alone and e["Application"] == "Wait" for e in d.events("Newexten")
            ):
                await d.next()
        if not hung_up(alone):
            await d.call("Hangup", Channel=alone)
    with anyio.fail_after(15):
        while not all(hung_up(running["wait"][:-2] + h) for h in (";1", ";2")):
            await d.next()
    await d.settle()
    await d.logoff()
    return d.received


async def _simulated(scenario: Callable[[Driver], Awaitable[list[Message]]]) -> list[Message]:
    async with Simulator(time_scale=0.05) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(30):
            return await scenario(d)


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
    events = _wait_call(await _simulated(_bridged))
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


async def test_a_bridged_channel_outside_the_dialplan_goes_on_at_its_extension() -> None:
    # An Originate's ;1 running its Application (no PBX): once the bridge breaks it runs its
    # own extension from priority 1, which BridgeEnter showed (it does not hang up).
    events = _wait_call(await _simulated(lambda d: _bridged(d, ";1")))
    one = [e for e in events if e.get("Channel", "").endswith(";1")
           and e["Channel"].startswith("Local/wait@")]  # fmt: skip
    names = [e.name for e in one]
    assert one[names.index("BridgeEnter")]["Priority"] == "1"
    after = one[names.index("BridgeLeave") + 1 :]
    assert [(e.name, e.get("Application"), e["Priority"]) for e in after] == [
        ("Newexten", "Answer", "1"),
        ("Newexten", "Wait", "2"),
        ("SoftHangupRequest", None, "2"),  # the Hangup action: it runs dialplan now
        ("Hangup", None, "2"),
    ]
    # Hung up without a Cause after leaving a bridge: the bridge gave it cause 16.
    assert [e["Cause"] for e in after[2:]] == ["16", "16"]


def _transferred(transferer: str) -> Callable[[Driver], Awaitable[list[Message]]]:
    """``Local/dial-local`` (its ``;2`` dials ``Local/wait``, whose ``;1`` answers: a bridge),
    then ``BlindTransfer`` of the dial's ``caller`` (``dial-local;2``, in Dial) or ``callee``
    (``wait;1``, outside any dialplan) to ``wait-2@ami-test``: the other one goes there."""

    async def scenario(d: Driver) -> list[Message]:
        await d.login()
        await d.call("Originate", Channel="Local/dial-local@ami-test", Context="ami-test",
                     Exten="wait", Priority=1)  # fmt: skip

        def call() -> list[Event]:
            return [m for m in only_call(d.received, "Local/dial-local@ami-test-", set())
                    if isinstance(m, Event)]  # fmt: skip

        with anyio.fail_after(10):
            while True:  # both in the bridge, and the callee's ;2 in its Wait
                bridged = {e["Channel"].split("@")[0]: e["Channel"] for e in call()
                           if e.name == "BridgeEnter"}  # fmt: skip
                waiting = any(e.name == "Newexten" and e["Application"] == "Wait"
                              and e["Channel"].startswith("Local/wait@")
                              for e in call())  # fmt: skip
                if len(bridged) == 2 and waiting:
                    break
                await d.next()
        channel = bridged["Local/dial-local" if transferer == "caller" else "Local/wait"]
        r = await d.call("BlindTransfer", Channel=channel, Context="ami-test", Exten="wait-2")
        assert r["Message"] == "Transfer succeeded"
        with anyio.fail_after(15):
            while sum(1 for e in call() if e.name == "Hangup") < 4:
                await d.next()
        await d.settle()
        await d.logoff()
        return d.received

    return scenario


def _transfer_view(messages: list[Message]) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Per channel of the dial-local call, the shapes of its events, with the BlindTransfer
    event on a line of its own: Asterisk publishes it while the transferer leaves the bridge
    in its own thread, so it comes before or after the transferer's BridgeLeave (both seen)."""
    view = per_channel(only_call(messages, "Local/dial-local@ami-test-", set()))
    for events in list(view.values()):
        for shape in [s for s in events if s[0] == "BlindTransfer"]:
            events.remove(shape)
            view.setdefault("<BlindTransfer>", []).append(shape)
    return view


@pytest.mark.parametrize("transferer", ["caller", "callee"])
async def test_blind_transfer_sends_the_transferee_on(transferer: str) -> None:
    events = [m for m in await _simulated(_transferred(transferer)) if isinstance(m, Event)]
    [transfer] = [e for e in events if e.name == "BlindTransfer"]
    gone, goes_on = transfer["TransfererChannel"], transfer["TransfereeChannel"]
    assert (transfer["Context"], transfer["Extension"]) == ("ami-test", "wait-2")
    # Each loses BRIDGEPEER and gets BLINDTRANSFER (the other's name); the transferer is
    # taken off hold.
    for chan, other in ((gone, goes_on), (goes_on, gone)):
        sets = [(e["Variable"], e["Value"]) for e in events
                if e.name == "VarSet" and e["Channel"] == chan]  # fmt: skip
        assert ("BLINDTRANSFER", other) in sets
    assert [e["Channel"] for e in events if e.name == "Unhold"] == [gone]
    # The transferee: a Newexten at wait-2 priority 1 (its application unchanged) while still
    # in the bridge, then priority 2 on: Answer at priority 1 is not run.
    mine = [e for e in events if e.get("Channel") == goes_on]
    names = [e.name for e in mine]
    bridged = mine[names.index("BridgeEnter") :]
    steps = [(e["Exten"], e["Priority"], e["Application"]) for e in bridged
             if e.name == "Newexten"]  # fmt: skip
    assert [s[:2] for s in steps] == [("wait-2", "1"), ("wait-2", "2"), ("wait-2", "3")]
    assert steps[0][2] == ("Dial" if transferer == "callee" else "AppDial")
    assert names.index("Newexten", names.index("BridgeEnter")) < names.index("BridgeLeave")
    # The transferer leaves: the callee hangs up without a SoftHangupRequest, the caller's
    # Dial ends (and it hangs up after it).
    its = [e.name for e in events if e.get("Channel") == gone]
    assert its[-1] == "Hangup"
    assert ("SoftHangupRequest" in its) == (transferer == "caller")


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize(
    ("scenario", "view"),
    [
        pytest.param(_bridged, lambda m: per_channel(_wait_call(m)), id="dialplan-half"),
        pytest.param(
            lambda d: _bridged(d, ";1"),
            lambda m: per_channel(_wait_call(m)),
            id="application-half",
        ),
        pytest.param(_transferred("caller"), _transfer_view, id="blind-transfer-caller"),
        pytest.param(_transferred("callee"), _transfer_view, id="blind-transfer-callee"),
    ],
)
async def test_bridge_action_channels_match_asterisk(
    asterisk: AsteriskServer,
    scenario: Callable[[Driver], Awaitable[list[Message]]],
    view: Callable[[list[Message]], dict[str, list[tuple[str, tuple[str, ...]]]]],
) -> None:
    simulated = view(await _simulated(scenario))
    real = await on_asterisk(asterisk, scenario, lambda r: not diff(view(r), simulated), seconds=60)
    problems = diff(view(real), simulated)
    assert problems == [], "\n".join(problems)
