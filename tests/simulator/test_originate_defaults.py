"""``Originate`` to the dialplan without ``Context``, ``Exten`` or ``Priority``, on the simulator as
on the real Asterisk 22.

With ``Async: true`` Asterisk queues it whatever is missing, and the answered ``;1`` runs where
it is for what was not given: in its own context (the Local channel's), at its own extension,
from its own priority (1). Starting where it already is, its first priority gets no Newexten
(Asterisk publishes one only when context, extension or priority change). An extension that is
not there soft-hangs it up (SoftHangupRequest 16, hangup cause 0) where it was sent. Without
``Async`` a priority is needed (``Originate with 'Exten' requires 'Context' and 'Priority'``),
and a priority needs ``Exten@Context`` to exist (``Extension does not exist.``).

Each call originates ``Local/wait@ami-test`` (its ``;2`` waits 30 s) and is ended by the
``Hangup`` action on the ``;1`` once it waits. What is compared is what a client sees: the
responses, the OriginateResponse, the ``;1``'s steps (and where it hung up), and the hangup
events of both halves with their causes (the ``;2``'s steps are left out: Asterisk's
``Answer()`` waits up to 500 ms for media that a Local channel never gets, so how far it comes
before the ``;1`` hangs up is a matter of timing). The expectations are what Asterisk 22.10.1
showed; the Asterisk-free tests pin them on the simulator (over TCP, on both backends), the
``asterisk`` ones run each scenario on both and compare.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest

from ami_client.protocol import Event, Message, Response
from ami_client.testing import serve
from tests.asterisk.server import AsteriskServer
from tests.simulator.compare import only_call
from tests.simulator.driver import Driver, on_asterisk

pytestmark = pytest.mark.anyio

# (Response, Message) of each action, then the OriginateResponse and each half's story.
Story = tuple[list[tuple[str, str]], dict[str, list[str]]]
Scenario = Callable[[Driver], Awaitable[Story]]

_PREFIX = "Local/wait@ami-test-"


def _answer(r: Response) -> tuple[str, str]:
    return r.status, r.get("Message", "")


def _where(e: Event) -> str:
    return f"{e['Context']}/{e['Exten']}:{e['Priority']}"


def _story(messages: list[Message]) -> dict[str, list[str]]:
    """``originate``: ``Response Reason Context=.. Exten=..``; ``;1``: its Newexten steps
    (``context/exten:priority App``), UserEvents, hangup events with their causes and where
    it hung up; ``;2``: its hangup events with their causes."""
    out: dict[str, list[str]] = {}
    aids = {m.action_id for m in messages if isinstance(m, Response) and m.action_id}
    for e in only_call(messages, _PREFIX, aids):
        if not isinstance(e, Event):
            continue
        if e.name == "OriginateResponse":
            out.setdefault("originate", []).append(
                f"{e['Response']} {e['Reason']} Context={e['Context']} Exten={e['Exten']}"
            )
            continue
        half = e.get("Channel", "")[-2:]
        if e.name == "Newexten" and half == ";1":
            step = f"Newexten {_where(e)} {e['Application']}"
        elif e.name == "UserEvent" and half == ";1":
            step = f"UserEvent {e['Step']}@{e['Priority']}"
        elif e.name.endswith("HangupRequest"):
            step = f"{e.name} {e['Cause']}"
        elif e.name == "Hangup":
            step = f"Hangup {_where(e)} {e['Cause']}" if half == ";1" else f"Hangup {e['Cause']}"
        else:
            continue
        out.setdefault(half, []).append(step)
    return out


def originate(**fields: str) -> Scenario:
    """An async Originate of ``Local/wait@ami-test`` with ``fields``; the ``;1`` is hung up
    (the Hangup action) once it runs ``Wait``, unless it hung up by itself."""

    async def scenario(d: Driver) -> Story:
        await d.login()
        r = await d.call("Originate", Channel="Local/wait@ami-test", Async="true", **fields)
        answers = [_answer(r)]
        with anyio.fail_after(10):
            seen = await d.until(
                lambda m: isinstance(m, Event) and m.get("Channel", "").startswith(_PREFIX)
                and m["Channel"].endswith(";1")
                and (m.name == "Hangup" or (m.name == "Newexten" and m["Application"] == "Wait"))
            )  # fmt: skip
        assert isinstance(seen, Event)
        if seen.name == "Newexten":
            answers.append(_answer(await d.call("Hangup", Channel=seen["Channel"])))
        await d.until_hung_up(_PREFIX, 2)
        await d.settle()
        await d.logoff()
        return answers, _story(d.received)

    return scenario


QUEUED = ("Success", "Originate successfully queued")
HUNG_UP = ("Success", "Channel Hungup")
DIAL = "Newexten ami-test/wait:1 AppDial2"  # the ;1 while the Originate dials it
# The ;1 hung up by the Hangup action while it runs dialplan, and its ;2 after it.
ENDED = ["SoftHangupRequest 16"]
SECOND = ["HangupRequest 0", "SoftHangupRequest 16", "Hangup 0"]
TARGET = [  # label-target from priority 1, up to its Wait
    "Newexten ami-test/label-target:1 Answer",
    "Newexten ami-test/label-target:2 UserEvent",
    "UserEvent target-start@2",
    "Newexten ami-test/label-target:3 UserEvent",
    "UserEvent landing@3",
    "Newexten ami-test/label-target:4 Wait",
]

SCENARIOS: dict[str, tuple[Scenario, Story]] = {
    # No Context: the ;1's own (ami-test).
    "no-context": (originate(Exten="label-target"), ([QUEUED, HUNG_UP], {
        "originate": ["Success 4 Context= Exten=label-target"],
        ";1": [DIAL, *TARGET, *ENDED, "Hangup ami-test/label-target:4 0"],
        ";2": SECOND,
    })),
    # Priority 0 is no priority: the ;1's own (1).
    "priority-0": (originate(Exten="label-target", Priority="0"), ([QUEUED, HUNG_UP], {
        "originate": ["Success 4 Context= Exten=label-target"],
        ";1": [DIAL, *TARGET, *ENDED, "Hangup ami-test/label-target:4 0"],
        ";2": SECOND,
    })),
    # No Exten: the ;1 runs its own extension (wait) from its own priority, where it is:
    # priority 1 (Answer) gets no Newexten.
    "no-exten": (originate(Context="ami-test"), ([QUEUED, HUNG_UP], {
        "originate": ["Success 4 Context=ami-test Exten="],
        ";1": [DIAL, "Newexten ami-test/wait:2 Wait", *ENDED, "Hangup ami-test/wait:2 0"],
        ";2": SECOND,
    })),
    "nothing": (originate(), ([QUEUED, HUNG_UP], {
        "originate": ["Success 4 Context= Exten="],
        ";1": [DIAL, "Newexten ami-test/wait:2 Wait", *ENDED, "Hangup ami-test/wait:2 0"],
        ";2": SECOND,
    })),
    # An extension that is not there: soft-hung up where it was sent.
    "missing-exten": (originate(Exten="nope"), ([QUEUED], {
        "originate": ["Success 4 Context= Exten=nope"],
        ";1": [DIAL, "SoftHangupRequest 16", "Hangup ami-test/nope:1 0"],
        ";2": SECOND,
    })),
    "missing-context": (originate(Context="nocontext"), ([QUEUED], {
        "originate": ["Success 4 Context=nocontext Exten="],
        ";1": [DIAL, "SoftHangupRequest 16", "Hangup nocontext/wait:1 0"],
        ";2": SECOND,
    })),
}  # fmt: skip


async def _on_the_simulator(scenario: Scenario) -> Story:
    # Real time: label-target's Wait(1) must still be running when the Hangup action comes.
    async with serve() as sim:
        with anyio.fail_after(20):
            return await scenario(await Driver.tcp(*sim.address))


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_originate_defaults_on_the_simulator(name: str) -> None:
    scenario, expected = SCENARIOS[name]
    assert await _on_the_simulator(scenario) == expected


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_originate_defaults_match_asterisk(asterisk: AsteriskServer, name: str) -> None:
    scenario, expected = SCENARIOS[name]
    simulated = await _on_the_simulator(scenario)
    real = await on_asterisk(asterisk, scenario, expected.__eq__)
    assert real == expected
    assert simulated == real


# Originates refused before any channel exists: without Async a priority is needed; a priority
# needs Exten@Context to exist (Async or not).
_NEEDS = "Originate with 'Exten' requires 'Context' and 'Priority'"
REFUSED: list[tuple[dict[str, str], str]] = [
    ({}, _NEEDS),
    ({"Exten": "label-target"}, _NEEDS),
    ({"Context": "ami-test", "Exten": "label-target"}, _NEEDS),
    ({"Context": "ami-test", "Exten": "label-target", "Priority": "0"}, _NEEDS),
    ({"Exten": "label-target", "Priority": "1"}, "Extension does not exist."),
    ({"Exten": "label-target", "Priority": "1", "Async": "true"}, "Extension does not exist."),
    ({"Context": "ami-test", "Priority": "1", "Async": "true"}, "Extension does not exist."),
    ({"Priority": "1", "Async": "true"}, "Extension does not exist."),
]


async def _refusals(d: Driver) -> list[tuple[str, str]]:
    await d.login(Events="off")
    out = [_answer(await d.call("Originate", Channel="Local/wait@ami-test", **fields))
           for fields, _ in REFUSED]  # fmt: skip
    await d.logoff()
    return out


async def test_originate_refusals_on_the_simulator() -> None:
    async with serve() as sim:
        with anyio.fail_after(10):
            got = await _refusals(await Driver.tcp(*sim.address))
    assert got == [("Error", message) for _, message in REFUSED]


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_originate_refusals_match_asterisk(asterisk: AsteriskServer) -> None:
    with anyio.fail_after(20):
        real = await _refusals(await Driver.tcp(asterisk.host, asterisk.ami_port))
    assert real == [("Error", message) for _, message in REFUSED]
