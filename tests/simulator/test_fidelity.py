"""Fidelity: the same scenarios against the real Asterisk 22 and against the simulator.

Compares, per channel, the sequences of event types and the field names of each event
(values such as Uniqueids and timestamps aside), and the status and Message of responses.
Remaining differences are listed in docs/testing.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import pytest

from ami_client.protocol import Event, Message, Response
from ami_client.testing import Simulator
from tests.asterisk.server import AsteriskServer
from tests.simulator.compare import diff, only_call, per_channel
from tests.simulator.driver import Driver

pytestmark = [pytest.mark.asterisk, pytest.mark.anyio]

Scenario = Callable[[Driver], Awaitable[None]]
_T = TypeVar("_T")


@pytest.fixture
def anyio_backend() -> str:
    # One backend is enough here: the real server is the slow part, and both backends are
    # covered by every other simulator test.
    return "asyncio"


def _is_event(name: str) -> Callable[[Message], bool]:
    def pred(m: Message) -> bool:
        return isinstance(m, Event) and m.name == name

    return pred


async def _until_hangups(d: Driver, count: int) -> None:
    with anyio.fail_after(15):
        while len(d.events("Hangup")) < count:
            await d.next()
    # Let late events of the same call arrive (BridgeDestroy, VarSet...).
    await d.settle()


async def dial_short(d: Driver) -> None:
    await d.call("Originate", Channel="Local/dial-short@ami-test", Context="ami-test",
                 Exten="wait-3", Priority=1, CallerID="AMI Test <5551234>",
                 Variable="AMI_TEST_VAR=from-originate", Timeout=10000, Async="true")  # fmt: skip
    await _until_hangups(d, 4)


async def hangup_app(d: Driver) -> None:
    await d.call("Originate", Channel="Local/hangup@ami-test", Application="Wait", Data="1",
                 Async="true")  # fmt: skip
    await _until_hangups(d, 2)


async def busy_sync(d: Driver) -> None:
    await d.call("Originate", Channel="Local/busy@ami-test", Context="ami-test", Exten="wait",
                 Priority=1)  # fmt: skip
    await _until_hangups(d, 2)


async def no_such_exten(d: Driver) -> None:
    await d.call("Originate", Channel="Local/nope@ami-test", Context="ami-test", Exten="wait",
                 Priority=1, Async="true")  # fmt: skip
    await _until_hangups(d, 2)


async def dial_busy(d: Driver) -> None:
    # The Originate's dial of ;1 ends (NOANSWER) before ;1's Hangup, when ;2's own Dial got
    # BUSY and ;2 hung up: the dial holds ;1 until it has written its DialEnd.
    await d.call("Originate", Channel="Local/dial-busy@ami-test", Application="Wait", Data="1",
                 Async="true")  # fmt: skip
    await _until_hangups(d, 4)


async def dial_noanswer(d: Driver) -> None:
    # ;2 dials Local/ring, whose Ringing() reaches both dialling sides: DialState RINGING
    # for ;2's Dial (after RINGTIME, RINGTIME_MS) and for the Originate's dial of ;1.
    await d.call("Originate", Channel="Local/dial-noanswer@ami-test", Application="Wait",
                 Data="1", Async="true")  # fmt: skip
    await _until_hangups(d, 4)


async def ring_originate(d: Driver) -> None:
    # The Originate's own dial hears ;2's Ringing(), then gives up (Timeout).
    await d.call("Originate", Channel="Local/ring@ami-test", Application="Wait", Data="1",
                 Timeout=1500, Async="true")  # fmt: skip
    await _until_hangups(d, 2)


def hangup_action(**cause: str) -> Scenario:
    """The Hangup action (with ``cause``) on the ``;2`` of ``Local/wait`` while it runs
    ``Wait(30)`` in the dialplan (its ``;1`` runs the Originate's Application)."""

    async def scenario(d: Driver) -> None:
        aid = await d.send("Originate", Channel="Local/wait@ami-test", Application="Wait",
                           Data="30", Async="true")  # fmt: skip
        with anyio.fail_after(10):
            answered = await d.until(
                lambda m: isinstance(m, Event) and m.name == "OriginateResponse"
                and m.action_id == aid
            )  # fmt: skip
            two = answered["Channel"][:-2] + ";2"
            while not any(e["Channel"] == two and e["Application"] == "Wait"
                          for e in d.events("Newexten")):  # fmt: skip
                await d.next()
        await d.call("Hangup", Channel=two, **cause)
        await _until_hangups(d, 2)

    return scenario


SCENARIOS: dict[str, tuple[Scenario, str]] = {
    # name: (scenario, name prefix of the call's first channel)
    "dial_short": (dial_short, "Local/dial-short@ami-test-"),
    "hangup_app": (hangup_app, "Local/hangup@ami-test-"),
    "busy_sync": (busy_sync, "Local/busy@ami-test-"),
    "no_such_exten": (no_such_exten, "Local/nope@ami-test-"),
    "dial_busy": (dial_busy, "Local/dial-busy@ami-test-"),
    "dial_noanswer": (dial_noanswer, "Local/dial-noanswer@ami-test-"),
    "ring_originate": (ring_originate, "Local/ring@ami-test-"),
    "hangup_dialplan": (hangup_action(), "Local/wait@ami-test-"),
    "hangup_dialplan_cause": (hangup_action(Cause="17"), "Local/wait@ami-test-"),
}


async def run(d: Driver, scenario: Scenario) -> list[Message]:
    await d.login()
    await scenario(d)
    await d.logoff()
    return d.received


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_event_sequences_match(asterisk: AsteriskServer, name: str) -> None:
    scenario, prefix = SCENARIOS[name]
    async with Simulator(time_scale=0.05) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(30):
            simulated = per_channel(only_call(await run(d, scenario), prefix, {"t-2"}))
    # Asterisk is multi-threaded and shared with other test sessions (whose teardown may
    # "channel request hangup all", which adds SoftHangupRequests to every call): a disturbed
    # run is retried before it counts as a difference.
    for attempt in range(5):
        if attempt:
            await anyio.sleep(1)
        with anyio.fail_after(60):
            got = await run(await Driver.tcp(asterisk.host, asterisk.ami_port), scenario)
        problems = diff(per_channel(only_call(got, prefix, {"t-2"})), simulated)
        if not problems:
            break
    assert problems == [], "\n".join(problems)


async def _simulated_and_real(
    asterisk: AsteriskServer, scenario: Scenario, story: Callable[[list[Message]], _T]
) -> tuple[_T, _T]:
    """``story`` of what ``scenario`` sent on the simulator and on the real server (a disturbed
    real run is retried: see test_event_sequences_match)."""
    async with Simulator(time_scale=0.05) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(30):
            simulated = story(await run(d, scenario))
    for attempt in range(5):
        if attempt:
            await anyio.sleep(1)
        with anyio.fail_after(60):
            real = story(await run(await Driver.tcp(asterisk.host, asterisk.ami_port), scenario))
        if real == simulated:
            break
    return simulated, real


async def test_dial_ends_before_hangups_match(asterisk: AsteriskServer) -> None:
    # Each channel's DialBegin, DialEnd and Hangup, in order: the dial's end comes before the
    # Hangup of the channel it dialled (other events of this call still differ a little:
    # docs/testing.md).
    def story(messages: list[Message]) -> dict[str, list[str]]:
        calls = per_channel(only_call(messages, "Local/dial-busy@ami-test-", {"t-2"}))
        kept = {"DialBegin", "DialEnd", "Hangup"}
        return {key: [n for n, _ in events if n in kept] for key, events in calls.items()}

    simulated, real = await _simulated_and_real(asterisk, dial_busy, story)
    assert simulated["Local/dial-busy@ami-test;1"] == ["DialBegin", "DialEnd", "Hangup"]
    assert real == simulated


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        # No Cause: the channel's hangup cause stays 0; SoftHangupRequest's Cause is a soft
        # hangup flag (AST_SOFTHANGUP_APPUNLOAD, 16, as the dialplan ends), whatever Cause the
        # action gave.
        ({}, {";2": [("SoftHangupRequest", "16"), ("Hangup", "0")],
              ";1": [("HangupRequest", "0"), ("Hangup", "0")]}),
        ({"Cause": "17"}, {";2": [("SoftHangupRequest", "16"), ("Hangup", "17")],
                           ";1": [("HangupRequest", "17"), ("Hangup", "17")]}),
    ],
    ids=["no-cause", "cause-17"],
)  # fmt: skip
async def test_hangup_action_causes_match(
    asterisk: AsteriskServer, cause: dict[str, str], expected: dict[str, list[tuple[str, str]]]
) -> None:
    # The Hangup action on a ;2 running dialplan: its SoftHangupRequest, then (its Local ;1)
    # HangupRequest, and the Hangups, with their Causes.
    def story(messages: list[Message]) -> dict[str, list[tuple[str, str]]]:
        out: dict[str, list[tuple[str, str]]] = {}
        for e in only_call(messages, "Local/wait@ami-test-", set()):
            if isinstance(e, Event) and e.name.endswith(("HangupRequest", "Hangup")):
                out.setdefault(e["Channel"][-2:], []).append((e.name, e["Cause"]))
        return out

    simulated, real = await _simulated_and_real(asterisk, hangup_action(**cause), story)
    assert simulated == expected
    assert real == simulated


RESPONSES: list[tuple[str, dict[str, object]]] = [
    ("Nonsense", {}),
    ("Ping", {}),
    ("Events", {}),
    ("Events", {"EventMask": "off"}),
    ("Events", {"EventMask": "call"}),
    ("Filter", {"Operation": "Add", "Filter": "bad("}),
    ("Filter", {"Operation": "Zap"}),
    ("Getvar", {}),
    ("Getvar", {"Channel": "nope", "Variable": "X"}),
    ("Setvar", {}),
    ("Setvar", {"Channel": "nope", "Variable": "X", "Value": "1"}),
    ("Setvar", {"Variable": "AMI_SIM_GLOBAL", "Value": "1"}),
    ("Getvar", {"Variable": "AMI_SIM_GLOBAL"}),
    ("Hangup", {}),
    ("Hangup", {"Channel": "nope"}),
    ("Redirect", {}),
    ("Redirect", {"Channel": "nope", "Context": "ami-test", "Exten": "wait", "Priority": "x"}),
    ("Redirect", {"Channel": "nope", "Context": "ami-test", "Exten": "wait", "Priority": 1}),
    ("Originate", {}),
    ("Originate", {"Channel": "Local/wait@ami-test"}),
    ("Originate", {"Channel": "Local/nope@ami-test", "Context": "ami-test", "Priority": "x"}),
    ("BridgeInfo", {}),
    ("BridgeInfo", {"BridgeUniqueid": "x"}),
    ("Bridge", {}),
    ("Bridge", {"Channel1": "a"}),
    ("Bridge", {"Channel1": "a", "Channel2": "b"}),
    ("BlindTransfer", {}),
    ("BlindTransfer", {"Channel": "a"}),
    ("BlindTransfer", {"Channel": "a", "Context": "ami-test", "Exten": "wait"}),
    ("UserEvent", {}),
    ("UserEvent", {"UserEvent": "Fidelity"}),
    ("Command", {}),
    ("Command", {"Command": "core show nonsense"}),
    ("Status", {}),
    ("Status", {"Channel": "nope"}),
    ("BridgeList", {}),
    ("CoreShowChannels", {}),
]


async def _responses(d: Driver) -> list[tuple[str, ...]]:
    await d.login(Events="off")
    out = []
    for name, fields in RESPONSES:
        r = await d.call(name, **fields)
        out.append((name, *(k for k, _ in r.fields), r.status, r.get("Message", "")))
    await d.logoff()
    return out


async def test_responses_match(asterisk: AsteriskServer) -> None:
    with anyio.fail_after(60):
        real = await _responses(await Driver.tcp(asterisk.host, asterisk.ami_port))
        async with Simulator() as sim:
            d = Driver(sim.connect_memory())
            await d.read_banner()
            simulated = await _responses(d)
    assert simulated == real


async def test_lists_while_bridged_match(asterisk: AsteriskServer) -> None:
    async def scenario(d: Driver) -> list[tuple[str, ...]]:
        await d.login(Events="off")
        await d.call("Originate", Channel="Local/dial-local@ami-test", Context="ami-test",
                     Exten="wait", Priority=1)  # fmt: skip
        with anyio.fail_after(5):
            while True:
                r = await d.call("BridgeList")
                done = await d.until(
                    lambda m: isinstance(m, Event) and m.name == "BridgeListComplete"
                )
                items = [e for e in d.events("BridgeListItem") if e.action_id == r.action_id]
                # The bridge exists before both channels are in it: wait for the second
                # (under load the lists below once caught Asterisk between the two).
                if done["ListItems"] == "1" and items[0]["BridgeNumChannels"] == "2":
                    break
                await anyio.sleep(0.05)
        bid = items[0]["BridgeUniqueid"]
        shapes = []
        for name, fields, end in (
            ("CoreShowChannels", {}, "CoreShowChannelsComplete"),
            ("Status", {}, "StatusComplete"),
            ("BridgeInfo", {"BridgeUniqueid": bid}, "BridgeInfoComplete"),
        ):
            r = await d.call(name, **fields)
            await d.until(_is_event(end))
            for e in d.received:
                if isinstance(e, (Event, Response)) and e.action_id == r.action_id:
                    shapes.append(tuple(k for k, _ in e.fields))
        await d.call("Command", Command="channel request hangup all")
        await d.logoff()
        return sorted(shapes)

    with anyio.fail_after(60):
        real = await scenario(await Driver.tcp(asterisk.host, asterisk.ami_port))
        async with Simulator(time_scale=1.0) as sim:
            d = Driver(sim.connect_memory())
            await d.read_banner()
            simulated = await scenario(d)
    assert simulated == real
