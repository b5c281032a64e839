"""Ringing while a Dial rings (DialState), the CHANLOCALSTATUS a Local ;1 gets from its ;2,
and an Originate that times out: the simulator's events, as Asterisk 22 sends them
(checked against the real server in test_fidelity.py: dial_noanswer, dial_busy,
ring_originate)."""

from __future__ import annotations

import anyio
import pytest

from ami_client.protocol import Event
from ami_client.testing import Dialplan, Simulator, default_dialplan
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio


def _plan() -> Dialplan:
    plan = Dialplan()
    plan.add("t", "ring-twice", ["Ringing()", "Ringing()", "Wait(30)", "Hangup()"])
    plan.add("t", "ring-answer", ["Ringing()", "Answer()", "Wait(1)", "Hangup()"])
    plan.add("t", "dial-ring-twice", ["Dial(Local/ring-twice@t/n,2)", "Hangup()"])
    plan.add("t", "dial-ring-answer", ["Dial(Local/ring-answer@t/n,5)", "Hangup()"])
    return plan


async def _call(channel: str, hangups: int, plan: Dialplan | None = None,
                **extra: object) -> list[Event]:  # fmt: skip
    """Originate ``channel`` (its ;1 runs Wait(1)); the events once ``hangups`` channels
    have hung up."""
    async with Simulator(dialplan=plan or _plan(), time_scale=0.01) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        await d.login()
        await d.call("Originate", Channel=channel, Application="Wait", Data="1", Async="true",
                     **extra)  # fmt: skip
        with anyio.fail_after(10):
            while len(d.events("Hangup")) < hangups:
                await d.next()
        await d.aclose()
        return d.events()


def _of(events: list[Event], suffix: str) -> list[Event]:
    return [e for e in events if e.get("Channel", "").endswith(suffix)]


async def test_dial_state_while_the_dialled_channel_rings() -> None:
    events = await _call("Local/dial-noanswer@ami-test", 4, default_dialplan())
    two = [e for e in _of(events, "dial-noanswer@ami-test-00000000;2")
           if e.name != "VarSet" or e["Value"]]  # fmt: skip
    names = [e.name for e in two]
    # RINGTIME and RINGTIME_MS, then the DialState, between DialBegin and DialEnd.
    i = names.index("DialState")
    assert names[i - 3 : i + 2] == ["DialBegin", "VarSet", "VarSet", "DialState", "DialEnd"]
    assert [two[i - 2]["Variable"], two[i - 1]["Variable"]] == ["RINGTIME", "RINGTIME_MS"]
    state = two[i]
    assert state["DialStatus"] == "RINGING"
    assert state["DestChannel"].startswith("Local/ring@ami-test-")
    assert state["DestChannelStateDesc"] == "Ringing"
    assert state["Privilege"] == "call,all"
    assert two[i + 1]["DialStatus"] == "NOANSWER"
    # The caller (;2) hears the ringing: its ;1 rings, and the Originate's dial of ;1 says so
    # with a DialState of its own, without caller fields.
    one = [e for e in events if e.get("DestChannel", e.get("Channel", "")).endswith(
        "dial-noanswer@ami-test-00000000;1")]  # fmt: skip
    assert [e.name for e in one if e.name in ("Newstate", "DialState", "DialEnd")] == [
        "Newstate", "DialState", "DialEnd"]  # fmt: skip
    [orig_state] = [e for e in one if e.name == "DialState"]
    assert "Channel" not in orig_state
    assert orig_state["DestChannelStateDesc"] == "Ringing"
    # ;2 ran Dial, so ;1 learns its DIALSTATUS as it is told to hang up.
    tail = [(e.name, e.get("Value")) for e in _of(events, "dial-noanswer@ami-test-00000000;1")]
    assert tail[-3:] == [("VarSet", "NOANSWER"), ("HangupRequest", None), ("Hangup", None)]


async def test_every_ringing_is_reported_but_the_caller_rings_once() -> None:
    events = await _call("Local/dial-ring-twice@t", 4)
    two = _of(events, "dial-ring-twice@t-00000000;2")
    assert [e["DialStatus"] for e in two if e.name == "DialState"] == ["RINGING", "RINGING"]
    assert sum(e.name == "VarSet" and e["Variable"] == "RINGTIME" and e["Value"] != ""
               for e in two) == 2  # fmt: skip
    one = _of(events, "dial-ring-twice@t-00000000;1")
    assert [e["ChannelStateDesc"] for e in one if e.name == "Newstate"] == ["Ringing"]
    originate_states = [e for e in events if e.name == "DialState" and "Channel" not in e]
    assert len(originate_states) == 1


async def test_ringing_is_read_before_the_answer() -> None:
    events = await _call("Local/dial-ring-answer@t", 4)
    two = _of(events, "dial-ring-answer@t-00000000;2")
    dial = [(e.name, e.get("DialStatus")) for e in two if e.name.startswith("Dial")]
    assert dial == [("DialBegin", None), ("DialState", "RINGING"), ("DialEnd", "ANSWER")]
    orig = [(e.name, e.get("DialStatus")) for e in events
            if e.name.startswith("Dial") and "Channel" not in e]  # fmt: skip
    assert orig == [("DialBegin", None), ("DialState", "RINGING"), ("DialEnd", "ANSWER")]


async def test_originate_dial_reports_every_ringing() -> None:
    # ;2 rings twice and never answers: the Originate's dial reports both, then gives up.
    events = await _call("Local/ring-twice@t", 2, Timeout=300)
    assert [e["DialStatus"] for e in events if e.name == "DialState"] == ["RINGING", "RINGING"]
    assert [e.name for e in _of(events, ";1") if e.name == "Newstate"] == ["Newstate"]


async def test_originate_timeout_ends_without_dial_end() -> None:
    events = await _call("Local/ring@ami-test", 2, default_dialplan(), Timeout=300)
    names = [e.name for e in events if e.name.startswith("Dial")]
    assert names == ["DialBegin", "DialState"]
    causes = {e["Channel"][-2:]: e["Cause"] for e in events if e.name == "Hangup"}
    assert causes == {";1": "19", ";2": "19"}
    [resp] = [e for e in events if e.name == "OriginateResponse"]
    assert (resp["Response"], resp["Reason"]) == ("Failure", "3")


async def test_chanlocalstatus_only_from_a_second_half_that_dialled() -> None:
    busy = await _call("Local/dial-busy@ami-test", 4, default_dialplan())
    one = _of(busy, "dial-busy@ami-test-00000000;1")
    assert [(e["Variable"], e["Value"]) for e in one if e.name == "VarSet"] == [
        ("CHANLOCALSTATUS", "BUSY")]  # fmt: skip
    plain = await _call("Local/hangup@ami-test", 2, default_dialplan())
    assert not [e for e in plain if e.name == "VarSet" and e["Variable"] == "CHANLOCALSTATUS"]
