"""Class authorizations: the simulator grants and delivers like the real Asterisk 22.

An action needs one of its classes in the user's ``write`` set; an event reaches a session when
all its classes are in the user's ``read`` set and in the session's ``Events`` mask, which the
``Events`` action sets with Asterisk's ``strings_to_mask`` rules (quirks included). Each check
runs on the simulator; the ``asterisk`` tests run the same on the real server and compare.
"""

from __future__ import annotations

import uuid

import anyio
import pytest

from ami_client.testing import Simulator, User
from tests.asterisk.server import USERS, AsteriskServer
from tests.simulator.driver import Driver
from tests.simulator.scenarios import (
    call_event_names,
    finish_call,
    originate_dial_short,
    simulated,
    simulated_and_real,
)

pytestmark = pytest.mark.anyio

# EventMask -> (Events answer or error Message, whether a UserEvent (class user) then arrives)
MASKS: list[tuple[str, tuple[str, bool]]] = [
    ("on", ("On", True)),
    ("off", ("Off", False)),
    ("", ("Invalid event mask", True)),  # refused: the mask stays as it was (all)
    ("yes", ("On", True)),
    ("1", ("On", False)),  # digits are a bit mask: 1 is system only
    ("64", ("On", True)),  # 1 << 6: user
    ("2", ("On", False)),  # call
    ("16384", ("On", False)),  # a bit without a class name
    ("user", ("On", True)),
    ("User", ("Off", False)),  # class names are case-sensitive
    ("call,user", ("On", True)),
    ("call, user", ("On", False)),  # " user" is no class: call only
    ("us,call", ("On", True)),  # a segment before a comma matches as a prefix
    ("users,call", ("On", False)),
    ("u,", ("On", True)),  # "u" matches user (and nothing else starting with u)
    ("none", ("Off", False)),
    ("-1", ("Off", False)),
    ("system,all", ("On", True)),
]


async def _mask_probe(d: Driver, mask: str) -> tuple[str, bool]:
    await d.login()
    r = await d.call("Events", EventMask=mask)
    run = uuid.uuid4().hex
    await d.call("UserEvent", UserEvent="MaskProbe", Run=run)
    await d.call("Ping")  # the session has every earlier event before this response
    await d.call("Logoff")
    await d.aclose()
    got = any(e.get("Run") == run for e in d.events("UserEvent"))
    return r.get("Events") or r.get("Message") or "", got


async def _sim_mask(mask: str) -> tuple[str, bool]:
    async with Simulator() as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        return await _mask_probe(d, mask)


@pytest.mark.parametrize(("mask", "expected"), MASKS)
async def test_events_mask_like_asterisk(mask: str, expected: tuple[str, bool]) -> None:
    with anyio.fail_after(5):
        assert await _sim_mask(mask) == expected


# What the restricted user (read call,reporting; write reporting) may send.
RESTRICTED_ACTIONS: list[tuple[str, dict[str, object]]] = [
    ("Ping", {}),
    ("Originate", {"Channel": "Local/wait@ami-test", "Application": "Wait", "Data": "1"}),
    ("Command", {"Command": "core show version"}),
    ("Getvar", {"Variable": "AMI_SIM_UNSET"}),
    ("Setvar", {"Variable": "AMI_SIM_RESTRICTED", "Value": "1"}),
    ("Hangup", {"Channel": "nope"}),
    ("Redirect", {"Channel": "nope", "Context": "ami-test", "Exten": "wait", "Priority": 1}),
    ("UserEvent", {"UserEvent": "FromRestricted"}),
    ("Filter", {"Operation": "Add", "Filter": "x"}),
    ("Bridge", {"Channel1": "a", "Channel2": "b"}),
    ("BlindTransfer", {"Channel": "a", "Context": "ami-test", "Exten": "wait"}),
    ("Status", {"Channel": "nope"}),
    ("BridgeInfo", {"BridgeUniqueid": "x"}),
    ("Events", {"EventMask": "off"}),
]


async def _restricted_answers(d: Driver) -> list[tuple[str, str, str]]:
    await d.login("restricted", USERS["restricted"])
    out = []
    for name, fields in RESTRICTED_ACTIONS:
        r = await d.call(name, **fields)
        out.append((name, r.status, r.get("Message", "")))
    await d.call("Logoff")
    await d.aclose()
    return out


async def test_restricted_write_classes() -> None:
    async with Simulator() as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(5):
            answers = await _restricted_answers(d)
    denied = [name for name, _, message in answers if message == "Permission denied"]
    # Everything but the reporting-class and class-less actions.
    assert denied == ["Originate", "Command", "Setvar", "Hangup", "Redirect", "UserEvent",
                      "Filter", "Bridge", "BlindTransfer"]  # fmt: skip
    assert sim.pbx.global_vars.get("AMI_SIM_RESTRICTED") is None  # nothing was done


async def _restricted_sees(restricted: Driver, admin: Driver) -> tuple[dict[str, list[str]], bool]:
    """The events of an admin's call and UserEvent that reach the restricted user."""
    await restricted.login("restricted", USERS["restricted"])
    await admin.login()
    run = uuid.uuid4().hex
    await admin.call("UserEvent", UserEvent="ForEveryone", Run=run)
    await originate_dial_short(admin)
    await finish_call(admin, restricted)
    calls = call_event_names(restricted)
    got_user_event = any(e.get("Run") == run for e in restricted.events("UserEvent"))
    return calls, got_user_event


async def test_restricted_read_classes() -> None:
    calls, got_user_event = await simulated(_restricted_sees)
    assert not got_user_event  # class user is not in call,reporting
    seen = {name for names in calls.values() for name in names}
    assert {"Newchannel", "DialBegin", "DialEnd", "Hangup"} <= seen
    assert not seen & {"Newexten", "VarSet"}  # class dialplan


def test_user_classes_are_validated() -> None:
    user = User(username="u", secret="s", read="Call, none,,reporting", write="none")
    assert user.read == {"call", "reporting"}
    assert user.write == frozenset()
    with pytest.raises(ValueError, match="unknown AMI class 'calls'"):
        User(username="u", secret="s", read="call,calls")


async def test_event_without_privilege_reaches_every_class() -> None:
    # An injected event without Privilege has no class (category 0 in Asterisk): every
    # logged-in session gets it; with one, only those allowed to read that class.
    async with Simulator() as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        await d.login("restricted", USERS["restricted"])
        sim.inject_event({"Event": "Classless", "N": "1"})
        sim.inject_event({"Event": "SystemOnly", "Privilege": "system,all"})
        sim.inject_event({"Event": "Reporting", "Privilege": "call,reporting,all"})
        await d.call("Ping")
        assert [e.name for e in d.events()] == ["Classless", "Reporting"]
        await d.aclose()


# ---- against the real Asterisk 22 --------------------------------------------------------


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_permissions_match_asterisk(asterisk: AsteriskServer) -> None:
    async def real() -> Driver:
        return await Driver.tcp(asterisk.host, asterisk.ami_port)

    problems = []
    for mask, _ in MASKS:
        with anyio.fail_after(10):
            got, simulated = await _mask_probe(await real(), mask), await _sim_mask(mask)
        if got != simulated:
            problems.append(f"EventMask {mask!r}: real {got}, simulator {simulated}")
    async with Simulator() as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(10):
            simulated_answers = await _restricted_answers(d)
    with anyio.fail_after(10):
        real_answers = await _restricted_answers(await real())
    for a, b in zip(real_answers, simulated_answers, strict=True):
        if a != b:
            problems.append(f"restricted: real {a}, simulator {b}")
    assert problems == []


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_restricted_events_match_asterisk(asterisk: AsteriskServer) -> None:
    simulated, real = await simulated_and_real(_restricted_sees, asterisk)
    assert real == simulated
