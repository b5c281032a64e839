"""The async tracker on both anyio backends: against the simulator, and fed a transcript."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

import ami_client
from ami_client import Action
from ami_client.events import ChannelState, from_message
from ami_client.protocol import Event, Parser
from ami_client.testing import Simulator
from ami_client.tracking import EVENTS_LOST, CallChange, ChannelChange, Tracker

from .harness import SCENARIO_DIR

pytestmark = pytest.mark.anyio

SECRET = "ami-admin-secret"


async def test_live_call_queries_and_changes() -> None:
    async with Simulator(time_scale=0.05) as sim:
        host, port = await sim.listen()
        async with (
            ami_client.connect(host, port, username="admin", secret=SECRET) as ami,
            ami_client.track(ami, history=10) as tracker,
            tracker.changes() as changes,
        ):
            assert tracker.statistics().syncs == 1
            assert not tracker.channels
            with anyio.fail_after(10):
                result = await ami.originate(
                    Action(
                        "Originate",
                        Channel="Local/dial-local@ami-test",
                        Application="Wait",
                        Data="1",
                    )
                )
                uid = result.event.get("Uniqueid")
                assert uid
                up = await tracker.wait_channel(uid, ChannelState.UP)
                assert up.state is ChannelState.UP
                state = await tracker.wait_until(lambda s: len(s.bridges) == 1)
                bridge = next(iter(state.bridges.values()))
                assert len(bridge.members) == 2
                assert list(state.calls) == [up.linked_id]
                final = await tracker.wait_hangup(uid)
                assert final.ended
                assert final.hangup_cause is not None
                await tracker.wait_until(lambda s: not s.channels and not s.bridges)
                seen: list[Any] = []
                while (change := changes.receive_nowait()) is not None:
                    seen.append(change)
            assert CallChange(linked_id=up.linked_id or "", started=True) in seen
            assert CallChange(linked_id=up.linked_id or "", started=False) in seen
            assert uid in [c.unique_id for c in tracker.ended]
            assert not tracker.statistics().violations


async def test_reconnect_reseeds_from_the_server() -> None:
    async with Simulator(time_scale=0.05) as sim:
        host, port = await sim.listen()
        # Slow enough to reconnect only after the hangup below is over.
        policy = ami_client.ReconnectPolicy(initial_delay=0.5, max_delay=0.5, jitter=0)
        async with (
            ami_client.connect(
                host, port, username="admin", secret=SECRET, reconnect=policy
            ) as ami,
            ami_client.connect(host, port, username="admin", secret=SECRET) as ctl,
            ami_client.track(ami) as tracker,
            tracker.changes() as changes,
        ):
            with anyio.fail_after(10):
                await ctl.originate(
                    Action(
                        "Originate", Channel="Local/wait@ami-test", Application="Wait", Data="100"
                    )
                )
                await tracker.wait_until(lambda s: len(s.channels) == 2)
                syncs = tracker.statistics().syncs
                one = next(c for c in tracker.channels.values() if c.name.endswith(";1"))
                sim.cut_connections(sim.sessions[0])  # the tracked client's connection
                # While the tracker is blind, the call ends.
                await ctl.send(Action("Hangup", Channel=one.name))
                await tracker.wait_until(lambda s: tracker.statistics().syncs > syncs)
                await tracker.wait_until(lambda s: not s.channels)
            gone = []
            while (change := changes.receive_nowait()) is not None:
                if isinstance(change, ChannelChange) and change.new is None:
                    gone.append(change.reason)
            assert gone == ["stale", "stale"]  # the seeding, not events, found them gone
            assert not tracker.statistics().violations


async def _transcript(name: str) -> AsyncIterator[Any]:
    parser = Parser()
    parser.receive_data((SCENARIO_DIR / f"{name}.ami").read_bytes())
    for message in parser.next_events():
        if type(message) is Event:
            yield from_message(message)
            await anyio.lowlevel.checkpoint()
    yield EVENTS_LOST  # a source may say it lost events; a replay has nobody to ask


async def test_tracker_fed_from_a_transcript() -> None:
    violations: list[Any] = []
    async with Tracker(_transcript("dial_bridge"), on_violation=violations.append) as tracker:
        with anyio.fail_after(10), pytest.raises(ami_client.ClientClosed):
            await tracker.wait_until(lambda s: False)  # until the transcript ends
    assert tracker.statistics().events > 100
    assert [v.kind for v in violations] == ["events-lost"]


async def test_changes_asked_after_the_end_end_at_once() -> None:
    async with Tracker(_transcript("bridge_action")) as tracker, tracker.changes() as early:
        with anyio.fail_after(10), pytest.raises(ami_client.ClientClosed):
            await tracker.wait_until(lambda s: False)  # until the transcript ends
        with anyio.fail_after(10), pytest.raises(ami_client.ClientClosed):
            async for _ in early:  # everything it saw, then the end
                pass
    late = tracker.changes()
    seen = []
    with anyio.fail_after(5):
        async with late:
            with pytest.raises(ami_client.ClientClosed):
                seen.extend([change async for change in late])
    assert seen == []
