"""The Hangup action with a ``/regex/`` channel: every channel whose name the POSIX regex finds
is hung up, answered as an EventList of ChannelHungup items (Asterisk 22's action_hangup).

What the real server sent, for the record (127.0.0.1, Asterisk 22.10.1)::

    Response: Success / EventList: start / Message: Channels hung up will follow
    Event: ChannelHungup / Channel: Local/wait@ami-test-00000001;2 / ActionID: h1
    Event: ChannelsHungupListComplete / EventList: Complete / ListItems: 2

and ``Regex format invalid, Channel param should be /regex/`` for ``/abc`` or ``/``,
``Regex compile failed on: /[unclosed/``, an empty list for a regex that finds nothing (it
is case-sensitive), and every channel for ``//``.
"""

from __future__ import annotations

import re

import anyio
import pytest

from ami_client.protocol import Event, Message, Response
from ami_client.testing import Simulator
from tests.asterisk.server import AsteriskServer
from tests.simulator.compare import only_call, per_channel
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio

PREFIX = "Local/wait@ami-test-"
Outcome = tuple[str, ...]


async def _list(d: Driver, channel: str, **fields: object) -> list[Outcome]:
    """Send Hangup; its response, then its list's items and completion (if a list)."""
    action_id = await d.send("Hangup", Channel=channel, **fields)
    out: list[Outcome] = []
    with anyio.fail_after(10):
        while True:
            msg = await d.until(lambda m: m.action_id == action_id)
            if isinstance(msg, Response):
                out.append((msg["Response"], msg.get("Message", ""), msg.get("EventList", "")))
                if msg.get("EventList") != "start":
                    return out
            else:
                assert isinstance(msg, Event)
                out.append((msg.name, re.sub(r"-[0-9a-f]{8};", "-X;", msg.get("Channel", "")),
                            msg.get("EventList", ""), msg.get("ListItems", "")))  # fmt: skip
                if msg.name == "ChannelsHungupListComplete":
                    return out


async def _scenario(d: Driver) -> tuple[list[Outcome], list[Message]]:
    await d.login()
    await d.call("Originate", Channel="Local/wait@ami-test", Application="Wait", Data="30",
                 Async="true")  # fmt: skip
    with anyio.fail_after(10):
        while not (two := [e["Channel"] for e in d.events("Newexten")
                           if e["Channel"].startswith(PREFIX) and e["Channel"].endswith(";2")
                           and e["Priority"] == "2"]):  # fmt: skip
            await d.next()
    one_call = two[0][: -len(";2")]  # this test's call only: the server may be shared
    outcomes = []
    outcomes += await _list(d, "/abc")
    outcomes += await _list(d, "/")
    outcomes += await _list(d, "/[unclosed/")
    outcomes += await _list(d, f"/^{one_call.upper()};2$/")  # case-sensitive: nothing
    outcomes += await _list(d, f"/^{one_call};2$/", Cause="17")
    with anyio.fail_after(15):
        while sum(e["Channel"].startswith(one_call) for e in d.events("Hangup")) < 2:
            await d.next()
    outcomes += await _list(d, f"/^{one_call};/")  # gone: an empty list
    await d.settle()
    await d.logoff()
    return outcomes, d.received


async def _simulated() -> tuple[list[Outcome], list[Message]]:
    async with Simulator(time_scale=0.05) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(30):
            return await _scenario(d)


EXPECTED = [
    ("Error", "Regex format invalid, Channel param should be /regex/", ""),
    ("Error", "Regex format invalid, Channel param should be /regex/", ""),
    ("Error", "Regex compile failed on: /[unclosed/", ""),
    ("Success", "Channels hung up will follow", "start"),
    ("ChannelsHungupListComplete", "", "Complete", "0"),
    ("Success", "Channels hung up will follow", "start"),
    ("ChannelHungup", "Local/wait@ami-test-X;2", "", ""),
    ("ChannelsHungupListComplete", "", "Complete", "1"),
    ("Success", "Channels hung up will follow", "start"),
    ("ChannelsHungupListComplete", "", "Complete", "0"),
]


def _call_names(messages: list[Message]) -> dict[str, list[str]]:
    return {
        channel: [name for name, _ in events]
        for channel, events in per_channel(only_call(messages, PREFIX, set())).items()
    }


async def test_hangup_by_regex() -> None:
    outcomes, received = await _simulated()
    assert outcomes == EXPECTED
    calls = _call_names(received)
    # The matched ;2 is asked to hang up with the given cause, and its ;1 follows.
    two = [e for e in only_call(received, PREFIX, set()) if isinstance(e, Event)
           and e.get("Channel", "").endswith(";2")]  # fmt: skip
    assert [e["Cause"] for e in two if e.name == "Hangup"] == ["17"]
    assert calls["Local/wait@ami-test;1"][-1] == "Hangup"


async def test_every_channel_for_an_empty_regex() -> None:
    async with Simulator(time_scale=0.05) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        await d.login()
        for _ in range(2):
            await d.call("Originate", Channel="Local/wait@ami-test", Application="Wait",
                         Data="30", Async="true")  # fmt: skip
        with anyio.fail_after(5):
            while len(sim.pbx.channels) < 4:
                await d.next()
        names = sorted(sim.pbx.channels)
        outcome = await _list(d, "//")
        assert outcome[0] == ("Success", "Channels hung up will follow", "start")
        assert outcome[-1] == ("ChannelsHungupListComplete", "", "Complete", "4")
        assert len(outcome) == 6
        with anyio.fail_after(5):
            while len(d.events("Hangup")) < 4:
                await d.next()
        assert sorted(e["Channel"] for e in d.events("Hangup")) == names
        assert not sim.pbx.channels
        await d.aclose()


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_hangup_by_regex_matches_asterisk(asterisk: AsteriskServer) -> None:
    sim_outcomes, sim_received = await _simulated()
    with anyio.fail_after(60):
        outcomes, received = await _scenario(await Driver.tcp(asterisk.host, asterisk.ami_port))
    assert outcomes == sim_outcomes == EXPECTED
    assert _call_names(received) == _call_names(sim_received)
