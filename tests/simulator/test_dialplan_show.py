"""The CLI's ``dialplan show exten@context`` (through the ``Command`` action), on the simulator as
on the real Asterisk 22: labelled priorities show their label (``   [retry]``), a dialled
extension that a pattern matches shows the pattern, and the columns are Asterisk's
(``show_dialplan_helper``: ``"  %-17s %-45s [%s]"``, so a name longer than the first column
pushes the rest along by one space). What differs is only the registrar at the end of each line
(``[extensions.conf:<line>]`` on Asterisk, ``[simulator]`` here): it is left out of the
comparison. The expectations are what Asterisk 22.10.1 showed.
"""

from __future__ import annotations

import re

import anyio
import pytest

from ami_client.testing import serve
from tests.asterisk.server import AsteriskServer
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio

# The registrar column: where the priority was defined, which only Asterisk knows.
_REGISTRAR = re.compile(r" \[[^\]]*\]$")

EXTENSIONS = ["labels", "label-target", "label-missing", "wait", "wait-5", "hangup"]


async def _listings(d: Driver) -> dict[str, list[str]]:
    """Per extension of ``ami-test``, the Output lines of ``dialplan show`` (registrar left out)."""
    await d.login(Events="off")
    out = {}
    for exten in EXTENSIONS:
        r = await d.call("Command", Command=f"dialplan show {exten}@ami-test")
        assert (r.status, r["Message"]) == ("Success", "Command output follows")
        out[exten] = [_REGISTRAR.sub(" [R]", line) for line in r.get_all("Output")]
    await d.logoff()
    return out


async def _simulated() -> dict[str, list[str]]:
    async with serve() as sim:
        with anyio.fail_after(10):
            return await _listings(await Driver.tcp(*sim.address))


def _listing(*lines: str, priorities: int) -> list[str]:
    return [
        "[ Context 'ami-test' created by 'pbx_config' ]",
        *lines,
        "",
        f"-= 1 extension ({priorities} priorities) in 1 context. =-",
    ]


async def test_dialplan_show_prints_labels_as_asterisk() -> None:
    listings = await _simulated()
    assert listings["labels"] == _listing(
        "  'labels' =>       1. Answer()                                   [R]",
        "                    2. Goto(retry)                                [R]",
        "                    3. UserEvent(AmiLabel,Step: skipped)          [R]",
        "     [retry]        4. UserEvent(AmiLabel,Step: retry)            [R]",
        "                    5. Goto(label-target,landing)                 [R]",
        "                    6. Hangup()                                   [R]",
        priorities=6,
    )
    # A name of 17 characters fills the first column; one longer pushes the rest along.
    assert listings["label-target"][1:4] == [
        "  'label-target' => 1. Answer()                                   [R]",
        "                    2. UserEvent(AmiLabel,Step: target-start)     [R]",
        "     [landing]      3. UserEvent(AmiLabel,Step: landing)          [R]",
    ]
    assert listings["label-missing"][1] == (
        "  'label-missing' => 1. Answer()                                   [R]"
    )
    # A dialled extension shows the pattern that matched it.
    assert listings["wait-5"] == _listing(
        "  '_wait-.' =>      1. Answer()                                   [R]",
        "                    2. Wait(${EXTEN:5})                           [R]",
        "                    3. Hangup()                                   [R]",
        priorities=3,
    )


async def test_dialplan_show_names_the_simulator_as_registrar() -> None:
    async with serve() as sim:
        d = await Driver.tcp(*sim.address)
        with anyio.fail_after(10):
            await d.login(Events="off")
            r = await d.call("Command", Command="dialplan show hangup@ami-test")
            await d.logoff()
    assert r.get_all("Output")[1:3] == [
        "  'hangup' =>       1. Answer()                                   [simulator]",
        "                    2. Hangup(16)                                 [simulator]",
    ]


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_dialplan_show_matches_asterisk(asterisk: AsteriskServer) -> None:
    simulated = await _simulated()
    with anyio.fail_after(20):
        real = await _listings(await Driver.tcp(asterisk.host, asterisk.ami_port))
    assert simulated == real
