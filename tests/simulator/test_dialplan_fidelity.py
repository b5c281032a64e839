"""Dialplan applications of the test server's ``ami-test`` context (Set with CALLERID and an
inherited variable, UserEvent with headers): the same events from the simulator as from the
real Asterisk 22, compared like test_fidelity.py does."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from ami_client.protocol import Event
from ami_client.testing import Simulator
from tests.asterisk.server import AsteriskServer
from tests.simulator.compare import diff, only_call, per_channel
from tests.simulator.driver import Driver, on_asterisk

pytestmark = pytest.mark.anyio


async def _run(d: Driver, exten: str) -> list[Event]:
    await d.login()
    # The originated ;1 waits longer than the extension runs (Wait(1), then Hangup()), so the
    # extension's side always ends the call (with equal waits the end is a race).
    await d.call("Originate", Channel=f"Local/{exten}@ami-test", Application="Wait", Data="5",
                 Async="true")  # fmt: skip
    with anyio.fail_after(15):
        while sum(1 for e in only_call(d.received, f"Local/{exten}@ami-test-", {"t-2"})
                  if isinstance(e, Event) and e.name == "Hangup") < 2:  # fmt: skip
            await d.next()
    await d.settle()
    await d.logoff()
    return [m for m in only_call(d.received, f"Local/{exten}@ami-test-", {"t-2"})
            if isinstance(m, Event)]  # fmt: skip


async def _simulated(exten: str) -> list[Event]:
    async with Simulator(time_scale=0.05) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(20):
            return await _run(d, exten)


async def test_setvar_extension() -> None:
    events = await _simulated("setvar")
    two = [e for e in events if e.get("Channel", "").endswith(";2")]
    sets = [(e["Variable"], e["Value"]) for e in two if e.name == "VarSet"]
    # The "__" inheritance prefix is not part of the name Asterisk reports.
    assert ("AMI_TEST_VAR", "set-by-dialplan") in sets
    assert ("AMI_INHERITED", "yes") in sets
    cid = [e for e in two if e.name == "NewCallerid"]
    assert cid
    assert cid[-1]["CallerIDName"] == "AMI Test"
    [hangup] = [e for e in two if e.name == "Hangup"]
    assert hangup["ChanVariable"] == "AMI_TEST_VAR=set-by-dialplan"


async def test_userevent_extension() -> None:
    events = await _simulated("userevent")
    [ue] = [e for e in events if e.name == "UserEvent"]
    assert ue["UserEvent"] == "AmiTest"
    assert ue["Source"] == "dialplan"
    assert ue["Channel"].endswith(";2")
    # The snapshot's Channel, then the "Channel: ${CHANNEL}" header of the application.
    assert ue.get_all("Channel") == [ue["Channel"], ue["Channel"]]
    assert [k for k, _ in ue.fields][-3:] == ["UserEvent", "Source", "Channel"]


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("exten", ["setvar", "userevent"])
async def test_dialplan_apps_match_asterisk(asterisk: AsteriskServer, exten: str) -> None:
    simulated = per_channel(await _simulated(exten))

    async def run(d: Driver) -> Any:
        return per_channel(await _run(d, exten))

    real = await on_asterisk(asterisk, run, lambda r: not diff(r, simulated))
    problems = diff(real, simulated)
    assert problems == [], "\n".join(problems)


async def test_originated_application_is_hung_up_without_a_pbx() -> None:
    # The ;1 runs the Originate's Wait outside any dialplan: when ;2 hangs up, Asterisk 22
    # queues the hangup (HangupRequest) and nothing else; no CHANLOCALSTATUS VarSet and no
    # SoftHangupRequest as for a ;1 running dialplan (test_dialplan_apps_match_asterisk).
    events = await _simulated("userevent")
    one = [e.name for e in events if e.get("Channel", "").endswith(";1")]
    assert one[-2:] == ["HangupRequest", "Hangup"]
    assert "VarSet" not in one
    assert "SoftHangupRequest" not in one
