"""The CLI's ``channel request hangup`` (through the ``Command`` action), on the simulator as on
the real Asterisk 22: the ``Output`` lines, and per half of a ``Local/wait`` call its hangup
events with their ``Cause``.

Asterisk's CLI soft-hangs the channel up with the flag ``AST_SOFTHANGUP_EXPLICIT`` and
publishes it as the cause of a SoftHangupRequest (32); a channel running dialplan then sends
the 16 of its dialplan's end; the channel's hangup cause is not set, so the Hangups show 0.
``all`` writes a line per channel (none: one empty ``Output``). The expectations below are what
Asterisk 22.10.1 showed; the Asterisk-free tests pin them on the simulator (over TCP, on both
backends), the ``asterisk`` ones run each scenario on both and compare.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import anyio
import pytest

from ami_client.protocol import Event, Message
from ami_client.testing import serve
from tests.asterisk.server import AsteriskServer
from tests.simulator.compare import only_call
from tests.simulator.driver import Driver, on_asterisk

pytestmark = pytest.mark.anyio

# The Output lines (call numbering removed), then per half its hangup events and Causes.
Story = tuple[list[str], dict[str, list[str]]]
Scenario = Callable[[Driver], Awaitable[Story]]

_PREFIX = "Local/wait@ami-test-"
_NUMBER = re.compile(r"-[0-9a-f]{8};")


def _hangups(messages: list[Message], *, racy: bool) -> dict[str, list[str]]:
    """Per half (``;1``, ``;2``): ``SoftHangupRequest <cause>``, ``HangupRequest <cause>``,
    ``Hangup <cause>``. With ``racy``, HangupRequests are left out: when both halves are
    asked at once, whether one's hangup reaches the other before its own is a race on
    Asterisk's threads."""
    out: dict[str, list[str]] = {}
    for e in only_call(messages, _PREFIX, set()):
        if not isinstance(e, Event) or not e.name.endswith(("HangupRequest", "Hangup")):
            continue
        if racy and e.name == "HangupRequest":
            continue
        out.setdefault(e["Channel"][-2:], []).append(f"{e.name} {e['Cause']}")
    return out


def hang_up(half: str) -> Scenario:
    """``channel request hangup`` of the ``half`` of ``Local/wait`` (``;2`` in ``Wait(30)`` of
    the dialplan, ``;1`` running the Originate's ``Wait`` application), or of ``all``."""

    async def scenario(d: Driver) -> Story:
        await d.login()
        await d.call("Originate", Channel="Local/wait@ami-test", Application="Wait", Data="30",
                     Async="true")  # fmt: skip
        with anyio.fail_after(10):
            waiting = await d.until(
                lambda m: isinstance(m, Event) and m.name == "Newexten"
                and m["Channel"].startswith(_PREFIX) and m["Channel"].endswith(";2")
                and m["Application"] == "Wait"
            )  # fmt: skip
        target = "all" if half == "all" else waiting["Channel"][:-2] + half
        r = await d.call("Command", Command=f"channel request hangup {target}")
        # (Only this call's lines: `all` names every channel of the server.)
        output = sorted(_NUMBER.sub("-X;", line) for line in r.get_all("Output")
                        if _PREFIX in line)  # fmt: skip
        await d.until_hung_up(_PREFIX, 2)
        await d.settle()
        await d.logoff()
        return output, _hangups(d.received, racy=half == "all")

    return scenario


SCENARIOS: dict[str, tuple[Scenario, Story]] = {
    # The ;2 runs dialplan: 32 from the CLI, then 16 as its dialplan ends; its hangup gives
    # its ;1 a HangupRequest with its (unset) cause.
    "dialplan-half": (hang_up(";2"), (
        ["Requested Hangup on channel 'Local/wait@ami-test-X;2'"],
        {";2": ["SoftHangupRequest 32", "SoftHangupRequest 16", "Hangup 0"],
         ";1": ["HangupRequest 0", "Hangup 0"]},
    )),
    # The ;1 runs the Originate's application, no dialplan: 32 only.
    "application-half": (hang_up(";1"), (
        ["Requested Hangup on channel 'Local/wait@ami-test-X;1'"],
        {";1": ["SoftHangupRequest 32", "Hangup 0"],
         ";2": ["HangupRequest 0", "SoftHangupRequest 16", "Hangup 0"]},
    )),
    "all": (hang_up("all"), (
        ["Requested Hangup on channel 'Local/wait@ami-test-X;1'",
         "Requested Hangup on channel 'Local/wait@ami-test-X;2'"],
        {";1": ["SoftHangupRequest 32", "Hangup 0"],
         ";2": ["SoftHangupRequest 32", "SoftHangupRequest 16", "Hangup 0"]},
    )),
}  # fmt: skip


async def _on_the_simulator(scenario: Scenario) -> Story:
    async with serve(time_scale=0.05) as sim:
        with anyio.fail_after(20):
            return await scenario(await Driver.tcp(*sim.address))


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_cli_hangup_on_the_simulator(name: str) -> None:
    scenario, expected = SCENARIOS[name]
    assert await _on_the_simulator(scenario) == expected


async def _no_channels(d: Driver) -> list[str]:
    """``channel request hangup all`` once no channel is left: its Output lines."""
    await d.login(Events="off")
    await d.call("Command", Command="channel request hangup all")
    with anyio.fail_after(10):
        while True:  # (a polled CLI command: no event says the last channel is gone)
            r = await d.call("Command", Command="core show channels count")
            if r["Output"] == "0 active channels":
                break
            await anyio.sleep(0.1)
    r = await d.call("Command", Command="channel request hangup all")
    await d.logoff()
    return r.get_all("Output")


async def test_cli_hangup_all_without_channels() -> None:
    async with serve(time_scale=0.05) as sim:
        with anyio.fail_after(10):
            assert await _no_channels(await Driver.tcp(*sim.address)) == [""]


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_cli_hangup_matches_asterisk(asterisk: AsteriskServer, name: str) -> None:
    scenario, expected = SCENARIOS[name]
    simulated = await _on_the_simulator(scenario)
    real = await on_asterisk(asterisk, scenario, expected.__eq__)
    assert real == expected
    assert simulated == real


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_cli_hangup_all_without_channels_matches_asterisk(asterisk: AsteriskServer) -> None:
    async with serve(time_scale=0.05) as sim:
        with anyio.fail_after(10):
            simulated = await _no_channels(await Driver.tcp(*sim.address))
    with anyio.fail_after(20):
        real = await _no_channels(await Driver.tcp(asterisk.host, asterisk.ami_port))
    assert real == [""]
    assert simulated == real
