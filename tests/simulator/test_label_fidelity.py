"""Priority labels, on the simulator as on the real Asterisk 22: ``Goto`` to a label of the same
extension and of another one, a ``Goto`` to a label that is not there, and ``Originate`` and
``Redirect`` with ``Priority: <label>``, in the test server's ``ami-test`` context (``labels``,
``label-target``, ``label-missing``; tests/asterisk/server.py and ``default_dialplan()``).

What is compared is what a client sees: the responses, and per half of the Local channel its
Newexten steps (context/exten:priority application), UserEvents and Hangup. The expectations
are what Asterisk 22.10.1 showed; the Asterisk-free tests pin them on the simulator, the
``asterisk`` ones run each scenario on both and compare.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest

from ami_client.protocol import Event, Response
from ami_client.testing import Simulator
from tests.asterisk.server import AsteriskServer
from tests.simulator.compare import only_call
from tests.simulator.driver import Driver, on_asterisk

pytestmark = pytest.mark.anyio

# (Response, Message) of each action, then per half (";1", ";2") of the call what it did.
Story = tuple[list[tuple[str, str]], dict[str, list[str]]]
Scenario = Callable[[Driver], Awaitable[Story]]


def _answer(r: Response) -> tuple[str, str]:
    return r.status, r.get("Message", "")


def _steps(events: list[Event]) -> dict[str, list[str]]:
    """Per half: ``Newexten context/exten:priority App``, ``UserEvent <Step>@<priority>``,
    ``Hangup``; and the OriginateResponse under ``originate``."""
    out: dict[str, list[str]] = {}
    for e in events:
        if e.name == "OriginateResponse":
            out.setdefault("originate", []).append(f"{e['Response']} {e['Reason']}")
            continue
        half = e.get("Channel", "")[-2:]
        if e.name == "Newexten":
            step = f"Newexten {e['Context']}/{e['Extension']}:{e['Priority']} {e['Application']}"
        elif e.name == "UserEvent":
            step = f"UserEvent {e['Step']}@{e['Priority']}"
        elif e.name == "Hangup":
            step = "Hangup"
        else:
            continue
        out.setdefault(half, []).append(step)
    return out


async def _call_story(d: Driver, prefix: str, answers: list[tuple[str, str]]) -> Story:
    """Read until both halves of the call ``prefix...`` hung up; its story."""
    aids = {m.action_id for m in d.received if isinstance(m, Response) and m.action_id}

    def call() -> list[Event]:
        return [m for m in only_call(d.received, prefix, aids) if isinstance(m, Event)]

    with anyio.fail_after(15):
        while sum(1 for e in call() if e.name == "Hangup") < 2:
            await d.next()
    await d.settle()
    await d.logoff()
    return answers, _steps(call())


def goto(exten: str) -> Scenario:
    """``Local/<exten>@ami-test`` against a ``Wait(5)``: the ``;2`` half runs ``exten``."""

    async def scenario(d: Driver) -> Story:
        await d.login()
        r = await d.call("Originate", Channel=f"Local/{exten}@ami-test", Application="Wait",
                         Data="5", Async="true")  # fmt: skip
        return await _call_story(d, f"Local/{exten}@ami-test-", [_answer(r)])

    return scenario


async def originate_at_label(d: Driver) -> Story:
    """``Priority: landing``: the ``;1`` half starts label-target at priority 3 (after two
    Originates with an unknown label, and one with the wrong case, refused)."""
    await d.login()
    answers = []
    for priority in ("nowhere", "Landing", "landing"):
        r = await d.call("Originate", Channel="Local/wait@ami-test", Context="ami-test",
                         Exten="label-target", Priority=priority, Async="true")  # fmt: skip
        answers.append(_answer(r))
    return await _call_story(d, "Local/wait@ami-test-", answers)


async def redirect_to_label(d: Driver) -> Story:
    """The ``;2`` half of ``Local/wait``, waiting in ``Wait(30)``, is redirected to
    label-target's "landing" (after a Redirect to a label that is not there)."""
    await d.login()
    r = await d.call("Originate", Channel="Local/wait@ami-test", Application="Wait",
                     Data="30", Async="true")  # fmt: skip
    answers = [_answer(r)]
    with anyio.fail_after(10):
        waiting = await d.until(
            lambda m: isinstance(m, Event) and m.name == "Newexten"
            and m["Channel"].startswith("Local/wait@ami-test-")
            and m["Channel"].endswith(";2") and m["Application"] == "Wait"
        )  # fmt: skip
    for priority in ("nowhere", "landing"):
        r = await d.call("Redirect", Channel=waiting["Channel"], Context="ami-test",
                         Exten="label-target", Priority=priority)  # fmt: skip
        answers.append(_answer(r))
    return await _call_story(d, "Local/wait@ami-test-", answers)


QUEUED = ("Success", "Originate successfully queued")
ANSWERED = "Success 4"  # OriginateResponse Response and Reason (4: answered)

SCENARIOS: dict[str, tuple[Scenario, Story]] = {
    # Goto(retry) in the same extension, then Goto(label-target,landing) in another one.
    "goto-labels": (goto("labels"), ([QUEUED], {
        ";1": ["Newexten ami-test/labels:1 AppDial2", "Hangup"],
        ";2": [
            "Newexten ami-test/labels:1 Answer",
            "Newexten ami-test/labels:2 Goto",
            "Newexten ami-test/labels:4 UserEvent",
            "UserEvent retry@4",
            "Newexten ami-test/labels:5 Goto",
            "Newexten ami-test/label-target:3 UserEvent",
            "UserEvent landing@3",
            "Newexten ami-test/label-target:4 Wait",
            "Newexten ami-test/label-target:5 Hangup",
            "Hangup",
        ],
        "originate": [ANSWERED],
    })),
    # Goto(nowhere): Goto fails, the channel hangs up (nothing after it runs).
    "goto-missing-label": (goto("label-missing"), ([QUEUED], {
        ";1": ["Newexten ami-test/label-missing:1 AppDial2", "Hangup"],
        ";2": [
            "Newexten ami-test/label-missing:1 Answer",
            "Newexten ami-test/label-missing:2 Goto",
            "Hangup",
        ],
        "originate": [ANSWERED],
    })),
    "originate-at-label": (originate_at_label, (
        [("Error", "Invalid priority"), ("Error", "Invalid priority"), QUEUED],
        {
            ";1": [
                "Newexten ami-test/wait:1 AppDial2",
                "Newexten ami-test/label-target:3 UserEvent",
                "UserEvent landing@3",
                "Newexten ami-test/label-target:4 Wait",
                "Newexten ami-test/label-target:5 Hangup",
                "Hangup",
            ],
            ";2": ["Newexten ami-test/wait:1 Answer", "Newexten ami-test/wait:2 Wait", "Hangup"],
            "originate": [ANSWERED],
        },
    )),
    "redirect-to-label": (redirect_to_label, (
        [QUEUED, ("Error", "Priority is invalid"), ("Success", "Redirect successful")],
        {
            ";1": ["Newexten ami-test/wait:1 AppDial2", "Hangup"],
            ";2": [
                "Newexten ami-test/wait:1 Answer",
                "Newexten ami-test/wait:2 Wait",
                "Newexten ami-test/label-target:3 UserEvent",
                "UserEvent landing@3",
                "Newexten ami-test/label-target:4 Wait",
                "Newexten ami-test/label-target:5 Hangup",
                "Hangup",
            ],
            "originate": [ANSWERED],
        },
    )),
}  # fmt: skip


async def _simulated(scenario: Scenario) -> Story:
    async with Simulator(time_scale=0.05) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(20):
            return await scenario(d)


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_labels_on_the_simulator(name: str) -> None:
    scenario, expected = SCENARIOS[name]
    assert await _simulated(scenario) == expected


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_labels_match_asterisk(asterisk: AsteriskServer, name: str) -> None:
    scenario, expected = SCENARIOS[name]
    simulated = await _simulated(scenario)
    real = await on_asterisk(asterisk, scenario, expected.__eq__)
    assert real == expected
    assert simulated == real


# Originate and Redirect read a Priority as manager.c does: leading blanks skipped, a number
# (whatever follows its digits), else a label of Exten@Context (case-sensitive). Originate then
# wants that priority to exist (for an Application too); Redirect wants Context, Exten and
# Priority and checks them before the channel. The answers are Asterisk 22.10.1's.
_CHAN = "Local/wait@ami-test"
_TARGET = {"Context": "ami-test", "Exten": "label-target"}
RESPONSES: list[tuple[str, dict[str, str], str]] = [
    ("Originate", {**_TARGET, "Priority": "nowhere"}, "Invalid priority"),
    ("Originate", {**_TARGET, "Priority": "Landing"}, "Invalid priority"),
    ("Originate", {**_TARGET, "Priority": "landing "}, "Invalid priority"),
    ("Originate", {**_TARGET, "Priority": " landing"}, "Originate successfully queued"),
    ("Originate", {"Context": "ami-test", "Priority": "landing"}, "Invalid priority"),
    ("Originate", {"Exten": "label-target", "Priority": "landing"}, "Invalid priority"),
    ("Originate", {"Context": "ami-test", "Exten": "nope", "Priority": "landing"},
     "Invalid priority"),
    ("Originate", {"Context": "nocontext", "Exten": "label-target", "Priority": "landing"},
     "Invalid priority"),
    ("Originate", {"Application": "Wait", "Data": "1", "Priority": "nowhere"},
     "Invalid priority"),
    ("Originate", {"Application": "Wait", "Data": "1", **_TARGET, "Priority": "landing"},
     "Originate successfully queued"),
    ("Originate", {"Application": "Wait", "Data": "1", **_TARGET, "Priority": "9"},
     "Extension does not exist."),
    ("Originate", {"Application": "Wait", "Data": "1", "Priority": "1"},
     "Extension does not exist."),
    ("Originate", {**_TARGET, "Priority": "-1"}, "Extension does not exist."),
    ("Originate", {**_TARGET, "Priority": "9"}, "Extension does not exist."),
    ("Originate", {"Context": "ami-test", "Exten": "nope", "Priority": "1"},
     "Extension does not exist."),
    ("Originate", {**_TARGET, "Priority": "2x"}, "Originate successfully queued"),
    ("Originate", {**_TARGET, "Priority": "+2"}, "Originate successfully queued"),
    ("Originate", {**_TARGET, "Priority": "0"}, "Originate successfully queued"),
    ("Originate", {**_TARGET, "Priority": ""}, "Originate successfully queued"),
    ("Redirect", {**_TARGET, "Priority": "nowhere"}, "Priority is invalid"),
    ("Redirect", {**_TARGET, "Priority": "landing "}, "Priority is invalid"),
    ("Redirect", {**_TARGET, "Priority": " landing"}, "Channel does not exist: nope"),
    ("Redirect", {**_TARGET, "Priority": "landing"}, "Channel does not exist: nope"),
    ("Redirect", {"Context": "ami-test", "Exten": "nope", "Priority": "landing"},
     "Priority is invalid"),
    ("Redirect", {"Exten": "label-target", "Priority": "landing"}, "Context not specified"),
    ("Redirect", {"Context": "ami-test", "Priority": "landing"}, "Exten not specified"),
    ("Redirect", {**_TARGET, "Priority": ""}, "Priority not specified"),
    ("Redirect", _TARGET, "Priority not specified"),
    ("Redirect", {**_TARGET, "Priority": "0"}, "Priority is invalid"),
    ("Redirect", {**_TARGET, "Priority": "-1"}, "Priority is invalid"),
    ("Redirect", {**_TARGET, "Priority": "2x"}, "Channel does not exist: nope"),
    ("Redirect", {**_TARGET, "Priority": "9"}, "Channel does not exist: nope"),
]  # fmt: skip


async def _responses(d: Driver) -> list[str]:
    await d.login(Events="off")
    out = []
    for name, fields, _ in RESPONSES:
        target = {"Channel": _CHAN, "Async": "true"} if name == "Originate" else {"Channel": "nope"}
        r = await d.call(name, **target, **fields)
        out.append(r.get("Message", ""))
    await d.logoff()
    return out


async def test_priority_responses_on_the_simulator() -> None:
    async with Simulator(time_scale=0.05) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(20):
            assert await _responses(d) == [message for _, _, message in RESPONSES]


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_priority_responses_match_asterisk(asterisk: AsteriskServer) -> None:
    with anyio.fail_after(30):
        real = await _responses(await Driver.tcp(asterisk.host, asterisk.ami_port))
    assert real == [message for _, _, message in RESPONSES]
