"""Calls on the simulator: Originate, lists, Hangup, Redirect, Bridge, BlindTransfer."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from ami_client.protocol import Event, Message
from ami_client.testing import Simulator
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio


async def admin(sim: Simulator) -> Driver:
    d = Driver(sim.connect_memory())
    await d.read_banner()
    await d.login()
    return d


def is_event(name: str, **match: str) -> Callable[[Message], bool]:
    def pred(m: Message) -> bool:
        return (
            isinstance(m, Event) and m.name == name and all(m.get(k) == v for k, v in match.items())
        )

    return pred


async def test_sync_originate_success_and_failures() -> None:
    async with Simulator(time_scale=0.01) as sim:
        d = await admin(sim)
        ok = await d.call("Originate", Channel="Local/wait@ami-test", Context="ami-test",
                          Exten="wait", Priority=1)  # fmt: skip
        assert (ok.status, ok["Message"]) == ("Success", "Originate successfully queued")
        busy = await d.call(
            "Originate", Channel="Local/busy@ami-test", Application="Wait", Data="1"
        )
        assert (busy.status, busy["Message"]) == ("Error", "Originate failed")
        missing = await d.call("Originate", Channel="Local/nope@nowhere", Context="ami-test",
                               Exten="wait", Priority=1)  # fmt: skip
        assert missing["Message"] == "Originate failed"
        assert (await d.call("Originate"))["Message"] == "Channel not specified"
        r = await d.call("Originate", Channel="Local/wait@ami-test")
        assert r["Message"] == "Originate with 'Exten' requires 'Context' and 'Priority'"
        ends = [e["DialStatus"] for e in d.events("DialEnd")]
        assert ends == ["ANSWER", "BUSY"]
        hang = [e for e in d.events("Hangup") if "busy" in e["Channel"]]
        assert sorted(e["Cause"] for e in hang) == ["0", "17"]
        await d.aclose()


async def test_async_originate_failure_response_event() -> None:
    async with Simulator(time_scale=0.01) as sim:
        d = await admin(sim)
        r = await d.call("Originate", Channel="Foo/bar", Application="Wait", Data="1", Async="true")
        assert r["Message"] == "Originate successfully queued"
        with anyio.fail_after(5):
            ev = await d.until(is_event("OriginateResponse"))
        assert ev.action_id == r.action_id
        assert (ev["Response"], ev["Reason"], ev["Uniqueid"]) == ("Failure", "0", "<unknown>")
        assert [k for k, _ in ev.fields] == [
            *("Event", "Privilege", "ActionID", "Response", "Channel", "Application", "Data"),
            *("Reason", "Uniqueid", "CallerIDNum", "CallerIDName"),
        ]
        await d.aclose()


async def test_lists_bridges_hangup() -> None:
    async with Simulator(time_scale=0.01) as sim:
        d = await admin(sim)
        await d.call("Originate", Channel="Local/dial-local@ami-test", Context="ami-test",
                     Exten="wait", Priority=1, Async="true")  # fmt: skip
        with anyio.fail_after(5):
            await d.until(is_event("BridgeEnter", BridgeNumChannels="2"))
        r = await d.call("CoreShowChannels")
        assert r["EventList"] == "start"
        done = await d.until(is_event("CoreShowChannelsComplete"))
        items = [e for e in d.events("CoreShowChannel") if e.action_id == r.action_id]
        assert done["ListItems"] == str(len(items)) == "4"
        assert all(e.fields[1] == ("ActionID", r.action_id) for e in items)
        r = await d.call("Status")
        done = await d.until(is_event("StatusComplete"))
        assert (done["ListItems"], done["Items"]) == ("4", "4")
        status = d.events("Status")
        assert status[0]["Privilege"] == "Call"
        assert status[0].fields[-1] == ("ActionID", r.action_id)
        r = await d.call("BridgeList")
        await d.until(is_event("BridgeListComplete"))
        (item,) = d.events("BridgeListItem")
        bid = item["BridgeUniqueid"]
        await d.call("BridgeInfo", BridgeUniqueid=bid)
        info = await d.until(is_event("BridgeInfoComplete"))
        assert (info["ListItems"], info["BridgeUniqueid"]) == ("2", bid)
        assert (await d.call("BridgeInfo", BridgeUniqueid="x"))["Message"] == (
            "Specified BridgeUniqueid not found"
        )
        caller = next(
            e["Channel"] for e in d.events("BridgeInfoChannel") if "dial-local" in e["Channel"]
        )
        r = await d.call("Hangup", Channel=caller)
        assert r["Message"] == "Channel Hungup"
        with anyio.fail_after(5):
            await d.until(is_event("BridgeDestroy", BridgeUniqueid=bid))
            while sim.pbx.channels:
                await d.next()
        assert (await d.call("Hangup", Channel=caller))["Message"] == "No such channel"
        await d.aclose()


async def test_redirect_bridge_blind_transfer() -> None:
    async with Simulator(time_scale=0.01) as sim:
        d = await admin(sim)
        for _ in range(2):
            await d.call("Originate", Channel="Local/echo@ami-test", Context="ami-test",
                         Exten="echo", Priority=1)  # fmt: skip
        names = sorted(c.name for c in sim.pbx.channels.values() if c.name.endswith(";1"))
        a, b = names
        r = await d.call("Redirect", Channel=a, Context="ami-test", Exten="echo", Priority=2)
        assert r["Message"] == "Redirect successful"
        with anyio.fail_after(5):
            await d.until(is_event("Newexten", Channel=a, Extension="echo", Application="Echo"))
        r = await d.call("Bridge", Channel1=a, Channel2=b)
        assert r["Message"] == "Channels have been bridged"
        # The BridgeEnter events come before the response (emitted while the action runs).
        assert {e["Channel"] for e in d.events("BridgeEnter")} >= {a, b}
        r = await d.call("BlindTransfer", Channel=a, Context="ami-test", Exten="hangup")
        assert r["Message"] == "Transfer succeeded"
        with anyio.fail_after(5):
            ev = await d.until(is_event("BlindTransfer"))
            assert (ev["TransfererChannel"], ev["TransfereeChannel"]) == (a, b)
            await d.until(is_event("Newexten", Channel=b, Extension="hangup"))
            await d.until(is_event("Hangup", Channel=b))
        assert (await d.call("Bridge", Channel1="x", Channel2=b))["Message"] == (
            "Channel1 does not exist: x"
        )
        await d.aclose()
