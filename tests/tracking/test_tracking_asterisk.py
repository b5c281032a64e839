"""The tracker against the real Asterisk 22: scenarios with checkpoints, and a reconnect."""

from __future__ import annotations

import contextlib

import anyio
import pytest

import ami_client
from ami_client import Action
from tests.asterisk.server import AsteriskServer

from .harness import SCENARIOS, session

pytestmark = [pytest.mark.anyio, pytest.mark.asterisk]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_scenario(name: str, asterisk: AsteriskServer) -> None:
    user, secret = asterisk.admin
    with anyio.fail_after(90):
        async with session(asterisk.host, asterisk.ami_port, user, secret) as run:
            await SCENARIOS[name](run)
            assert not run.tracker.reducer.violations
            assert run.checkpoints[-1]["label"] == "end"
            assert not run.mine()


async def test_reconnect_reseeds(asterisk: AsteriskServer) -> None:
    """Calls up; the tracker's link is cut; calls change meanwhile; after the reconnect the
    tracker matches the server again."""
    user, secret = asterisk.admin
    with anyio.fail_after(90):
        async with session(asterisk.host, asterisk.ami_port, user, secret, reconnect=True) as run:
            for _ in range(2):
                await run.originate("Local/dial-local@ami-test")
            await run.tracker.wait_until(
                lambda s: sum(1 for c in run.mine(s).values() if c.bridge_id) == 4
            )
            await run.checkpoint("before")
            syncs = run.tracker.statistics().syncs
            mine = run.mine()
            await run.proxy.cut(refuse=True)
            # While the tracker is blind: one call ends, a new one starts.
            victim = next(
                c for c in mine.values() if c.name.endswith(";1") and "dial-local" in c.name
            )
            await run.hangup(victim.name)
            result = await run.ctl.originate(
                Action("Originate", Channel="Local/wait@ami-test", Application="Wait", Data="60")
            )
            assert result.success
            new_uid = result.event.get("Uniqueid") if result.event is not None else None
            await anyio.sleep(0.3)
            assert victim.unique_id in run.tracker.channels  # still stale: we are blind
            run.proxy.allow()
            await run.tracker.wait_until(lambda s: run.tracker.statistics().syncs > syncs)
            state = run.tracker.state()
            assert victim.unique_id not in state.channels
            assert new_uid in state.channels
            await run.checkpoint("after-reconnect")
            for ch in state.channels.values():
                if (
                    ch.linked_id in run.linked_ids
                    or ch.unique_id == new_uid
                    or (new_uid and ch.linked_id == new_uid)
                ):
                    with contextlib.suppress(ami_client.ActionError):
                        await run.hangup(ch.name)
            run.linked_ids.add(new_uid or "")
            await run.ended()
            assert not run.tracker.reducer.violations
