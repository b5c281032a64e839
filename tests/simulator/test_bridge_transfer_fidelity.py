"""``BlindTransfer`` inside a bridge the ``Bridge`` action made, on the simulator as on the real
Asterisk 22 (test_bridge_fidelity compares it in a Dial's bridge).

The ``;2`` of an ``echo`` call (in ``Echo()``) is bridged with the ``;2`` of a ``wait`` call (in
``Wait(30)``) or with its ``;1`` (running the Originate's ``Wait`` application), then
blind-transfers it to ``wait-2@ami-test``. The Bridge action took both out of what they ran, so
the transferee gets no Newexten while still in the bridge (unlike in a Dial's bridge): its
``BridgeLeave`` already shows ``wait-2``, priority 1, and it then runs ``wait-2`` from priority
1. The transferer goes on in the dialplan where the bridge left it (``echo``, priority 3,
``Hangup()``). Compared per channel: event types and field names, with the BlindTransfer event
on a line of its own (Asterisk publishes it before or after the transferer's BridgeLeave).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest

from ami_client.protocol import Event, Message
from ami_client.testing import serve
from tests.asterisk.server import AsteriskServer
from tests.simulator.compare import diff, only_call, per_channel
from tests.simulator.driver import Driver, on_asterisk

pytestmark = pytest.mark.anyio

View = dict[str, list[tuple[str, tuple[str, ...]]]]
_CALLS = ("Local/echo@ami-test-", "Local/wait@ami-test-")


def transferred(half: str) -> Callable[[Driver], Awaitable[list[Message]]]:
    """Bridge the echo call's ``;2`` with the wait call's ``half``, blind-transfer that to
    wait-2 from the echo side, and read until all four channels hung up."""

    async def scenario(d: Driver) -> list[Message]:
        await d.login()
        for exten in ("echo", "wait"):
            await d.call("Originate", Channel=f"Local/{exten}@ami-test", Application="Wait",
                         Data="30")  # fmt: skip
        with anyio.fail_after(10):
            while True:
                running = {e["Exten"]: e["Channel"] for e in d.events("Newexten")
                           if e["Channel"].endswith(";2") and e["Priority"] == "2"}  # fmt: skip
                if {"echo", "wait"} <= set(running):
                    break
                await d.next()
        transferer, transferee = running["echo"], running["wait"][:-2] + half
        r = await d.call("Bridge", Channel1=transferer, Channel2=transferee)
        assert r["Message"] == "Channels have been bridged"
        with anyio.fail_after(10):
            while len([e for e in d.events("BridgeEnter")
                       if e["Channel"] in (transferer, transferee)]) < 2:  # fmt: skip
                await d.next()
        r = await d.call("BlindTransfer", Channel=transferer, Context="ami-test", Exten="wait-2")
        assert r["Message"] == "Transfer succeeded"
        with anyio.fail_after(15):
            for prefix in _CALLS:
                await d.until_hung_up(prefix, 2)
        await d.settle()
        await d.logoff()
        return d.received

    return scenario


def _events(messages: list[Message]) -> list[Event]:
    kept = {id(m) for prefix in _CALLS for m in only_call(messages, prefix, set())}
    return [m for m in messages if isinstance(m, Event) and id(m) in kept]


def _view(messages: list[Message]) -> View:
    view = per_channel(_events(messages))
    for events in list(view.values()):
        for shape in [s for s in events if s[0] == "BlindTransfer"]:
            events.remove(shape)
            view.setdefault("<BlindTransfer>", []).append(shape)
    return view


async def _simulated(half: str) -> list[Message]:
    async with serve(time_scale=0.05) as sim:
        with anyio.fail_after(30):
            return await transferred(half)(await Driver.tcp(*sim.address))


@pytest.mark.parametrize("half", [";2", ";1"])
async def test_blind_transfer_in_a_bridge_action_bridge(half: str) -> None:
    events = _events(await _simulated(half))
    [transfer] = [e for e in events if e.name == "BlindTransfer"]
    goes_on, gone = transfer["TransfereeChannel"], transfer["TransfererChannel"]
    assert goes_on.startswith("Local/wait@")
    assert goes_on.endswith(half)
    mine = [e for e in events if e.get("Channel") == goes_on]
    names = [e.name for e in mine]
    entered, left = names.index("BridgeEnter"), names.index("BridgeLeave")
    # No Newexten in the bridge; BridgeLeave shows the target; then wait-2 from priority 1.
    assert "Newexten" not in names[entered:left]
    assert (mine[left]["Exten"], mine[left]["Priority"]) == ("wait-2", "1")
    steps = [(e["Exten"], e["Priority"], e["Application"]) for e in mine[left:]
             if e.name == "Newexten"]  # fmt: skip
    assert steps == [("wait-2", "1", "Answer"), ("wait-2", "2", "Wait"), ("wait-2", "3", "Hangup")]
    # The transferer goes on where the bridge left it: echo's Hangup() at priority 3.
    its = [e for e in events if e.get("Channel") == gone]
    after = [e for e in its[[e.name for e in its].index("BridgeLeave") :] if e.name == "Newexten"]
    assert [(e["Exten"], e["Priority"], e["Application"]) for e in after] == [
        ("echo", "3", "Hangup")
    ]


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("half", [";2", ";1"], ids=["dialplan-half", "application-half"])
async def test_blind_transfer_in_a_bridge_action_bridge_matches_asterisk(
    asterisk: AsteriskServer, half: str
) -> None:
    simulated = _view(await _simulated(half))
    real = await on_asterisk(
        asterisk, transferred(half), lambda r: not diff(_view(r), simulated), seconds=60
    )
    problems = diff(_view(real), simulated)
    assert problems == [], "\n".join(problems)
