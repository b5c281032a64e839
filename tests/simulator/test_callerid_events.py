"""Caller ID events of a Dial: sent only when the caller ID or connected line changes."""

from __future__ import annotations

import anyio
import pytest

from ami_client.testing import Simulator
from tests.simulator.compare import only_call, per_channel
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio


async def _dialled_pair(**originate: object) -> dict[str, list[str]]:
    """Event names per channel of the Local pair that dial-short's Dial creates."""
    async with Simulator(time_scale=0.02) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        await d.login()
        await d.call("Originate", Channel="Local/dial-short@ami-test", Context="ami-test",
                     Exten="wait-3", Priority=1, Async="true", **originate)  # fmt: skip
        with anyio.fail_after(10):
            while len(d.events("Hangup")) < 4:
                await d.next()
        await d.aclose()
    calls = per_channel(only_call(d.received, "Local/dial-short@ami-test-", set()))
    return {k: [n for n, _ in v] for k, v in calls.items() if k.startswith("Local/wait-2")}


async def test_caller_without_caller_id() -> None:
    # As Asterisk 22 (test_permissions_fidelity.test_restricted_events_match_asterisk): the
    # outgoing ;1 gets a caller ID (the caller's extension) but keeps its empty connected line,
    # the ;2 gets a connected line but keeps its empty caller ID.
    pair = await _dialled_pair()
    assert "NewCallerid" in pair["Local/wait-2@ami-test;1"]
    assert "NewConnectedLine" not in pair["Local/wait-2@ami-test;1"]
    assert "NewConnectedLine" in pair["Local/wait-2@ami-test;2"]
    assert "NewCallerid" not in pair["Local/wait-2@ami-test;2"]


async def test_caller_with_caller_id() -> None:
    # (test_fidelity.dial_short, which sets a CallerID, checks this one against Asterisk.)
    pair = await _dialled_pair(CallerID="AMI Test <5551234>")
    for chan in ("Local/wait-2@ami-test;1", "Local/wait-2@ami-test;2"):
        assert {"NewCallerid", "NewConnectedLine"} <= set(pair[chan])
