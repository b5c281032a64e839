"""Dialplan applications of the simulator beyond the test server's context: what each one
makes the channel do, seen in its events."""

from __future__ import annotations

import pytest

from ami_client.protocol import Event
from ami_client.testing import Dialplan, Simulator
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio


def _plan() -> Dialplan:
    plan = Dialplan()
    plan.add("t", "apps", [
        "Answer()", "NoOp(x)", "Verbose(1,hi)", "Log(NOTICE,hi)", "Progress()",
        "Set(CALLERID(num)=5550001)", "Set(CALLERID(name)=Tester)",
        "Set(FROM_GLOBAL=${SIM_GLOBAL})", "Wait(not-a-number)",
        "UserEvent(Apps,Key: v,,: nokey, Spaced :  x )",
        "Dial(SIP/nowhere,5)", "Goto(target,2)",
    ])  # fmt: skip
    plan.add("t", "target", ["Hangup()", "Set(REACHED=${EXTEN}@${CONTEXT})", "Goto(4)",
                             "Hangup()"])  # fmt: skip
    plan.add("t", "nowhere", ["Answer()", "Goto(t,nope,1)", "Set(AFTER=1)"])
    plan.add("t", "unknown", ["Answer()", "Playback(hello)", "Set(AFTER=1)"])
    plan.add("t", "label", ["Answer()", "Goto(target,start)", "Set(AFTER=1)"])
    plan.add("t", "busy-twice", ["Busy(0)", "Congestion(0)", "Hangup()"])
    plan.add("t", "dial-busy-twice", ["Dial(Local/busy-twice@t,5)", "Hangup()"])
    return plan


async def _call(exten: str) -> list[Event]:
    """Originate ``Local/<exten>@t`` (;1 waits) and collect the call's events until the
    originated pair has hung up."""
    async with Simulator(dialplan=_plan(), time_scale=0.01) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        await d.login()
        await d.call("Setvar", Variable="SIM_GLOBAL", Value="g1")
        await d.call("Originate", Channel=f"Local/{exten}@t", Application="Wait", Data="30",
                     Async="true")  # fmt: skip
        await d.until_hung_up(f"Local/{exten}@", 2)
        await d.call("Ping")
        await d.aclose()
    return d.events()


def _steps(events: list[Event], exten: str) -> list[str]:
    return [f"{e['Extension']}:{e['Priority']} {e['Application']}" for e in events
            if e.name == "Newexten" and e["Channel"].startswith(f"Local/{exten}@t-")
            and e["Channel"].endswith(";2")]  # fmt: skip


def _vars(events: list[Event]) -> dict[str, str]:
    return {e["Variable"]: e["Value"] for e in events if e.name == "VarSet"}


async def test_applications_in_order() -> None:
    events = await _call("apps")
    assert _steps(events, "apps") == [
        "apps:1 Answer", "apps:2 NoOp", "apps:3 Verbose", "apps:4 Log", "apps:5 Progress",
        "apps:6 Set", "apps:7 Set", "apps:8 Set", "apps:9 Wait", "apps:10 UserEvent",
        "apps:11 Dial", "apps:12 Goto",
        # Goto(target,2) lands on priority 2; Goto(4) stays in the extension.
        "target:2 Set", "target:3 Goto", "target:4 Hangup",
    ]  # fmt: skip
    variables = _vars(events)
    assert variables["FROM_GLOBAL"] == "g1"  # a global variable seen from the dialplan
    assert variables["REACHED"] == "target@t"
    # A Dial to a technology that does not exist: CHANUNAVAIL, and the dialplan goes on.
    assert variables["DIALSTATUS"] == "CHANUNAVAIL"
    cid = [e for e in events if e.name == "NewCallerid"][-2:]
    assert [(e["CallerIDNum"], e["CallerIDName"]) for e in cid] == [
        ("5550001", "<unknown>"),
        ("5550001", "Tester"),
    ]
    [ue] = [e for e in events if e.name == "UserEvent"]
    # Empty and key-less header arguments are left out; keys and values are trimmed.
    assert ue.fields[-3:] == (("UserEvent", "Apps"), ("Key", "v"), ("Spaced", "x"))


@pytest.mark.parametrize("exten", ["nowhere", "unknown", "label"])
async def test_dead_ends_hang_up(exten: str) -> None:
    # A Goto to a missing extension or to a label the target extension does not have, or an
    # application the simulator does not have: the channel hangs up there, nothing after it runs.
    events = await _call(exten)
    assert "AFTER" not in _vars(events)
    steps = _steps(events, exten)
    assert steps[-1].split()[1] in ("Goto", "Playback")
    hangups = [e for e in events if e.name == "Hangup" and e["Channel"].endswith(";2")]
    assert hangups


async def test_first_outcome_of_a_dialled_channel_counts() -> None:
    # Busy() then Congestion(): the dialling side sees BUSY, the first outcome.
    events = await _call("dial-busy-twice")
    ends = [e["DialStatus"] for e in events if e.name == "DialEnd"
            and e["DestChannel"].startswith("Local/busy-twice@t-")]  # fmt: skip
    assert ends == ["BUSY"]
