"""``Simulator.received_actions`` keeps the most recent actions only (a simulator left running as
a stand-in PBX must not grow without bound), and ``wait_for_action`` still sees every action,
without rescanning the whole history each time one arrives."""

from __future__ import annotations

import collections
from pathlib import Path

import anyio
import pytest

from ami_client.testing import ReceivedAction, Simulator
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio
TRANSCRIPTS = Path(__file__).parent.parent / "data" / "transcripts"


async def _admin(sim: Simulator) -> Driver:
    d = await Driver.tcp(*await sim.listen())
    await d.login()
    return d


async def _pings(d: Driver, count: int) -> list[str]:
    """Send ``count`` Pings in one write and wait for every Pong; their ActionIDs."""
    ids = [f"p-{i}" for i in range(count)]
    await d.stream.send(b"".join(b"Action: Ping\r\nActionID: %s\r\n\r\n" % i.encode() for i in ids))
    with anyio.fail_after(10):
        await d.until(lambda m: m.action_id == ids[-1])
    return ids


def test_default_bound_and_unbounded() -> None:
    assert Simulator().received_actions.maxlen == 10_000
    assert Simulator(max_received_actions=None).received_actions.maxlen is None
    with pytest.raises(ValueError, match="max_received_actions"):
        Simulator(max_received_actions=-1)


async def test_wait_for_action_needs_a_count() -> None:
    async with Simulator() as sim:
        with pytest.raises(ValueError, match="count"):
            await sim.wait_for_action("Ping", 0)


async def test_only_the_newest_actions_are_kept() -> None:
    async with Simulator(max_received_actions=50) as sim:
        d = await _admin(sim)
        ids = await _pings(d, 120)
        assert isinstance(sim.received_actions, collections.deque)
        assert len(sim.received_actions) == 50
        # The Login and the first 71 Pings are gone; the newest 50, oldest first, are kept.
        assert [a.message.action_id for a in sim.received_actions] == ids[-50:]
        assert all(isinstance(a, ReceivedAction) for a in sim.received_actions)
        assert sim.received_actions[-1].name == "Ping"
        assert len(sim.actions("Ping")) == 50
        assert sim.actions("Login") == []
        sim.received_actions.clear()
        assert (await d.call("Ping"))["Ping"] == "Pong"
        assert [a.name for a in sim.received_actions] == ["Ping"]
        await d.logoff()


async def test_the_records_still_read_like_lists() -> None:
    # They were lists: assertions written against them (slices, `== []`) keep working.
    async with Simulator(max_received_actions=50) as sim:
        d = await _admin(sim)
        ids = await _pings(d, 10)
        last = sim.received_actions[-3:]
        assert isinstance(last, list)
        assert [a.message.action_id for a in last] == ids[-3:]
        assert sim.received_actions[1:3] == list(sim.received_actions)[1:3]
        assert sim.received_actions == list(sim.received_actions)
        assert sim.received_actions != []
        assert sim.protocol_errors == []
        assert not sim.protocol_errors != []  # noqa: SIM202 (the operator itself is tested)
        await d.logoff()


async def test_wait_for_action_counts_past_the_bound() -> None:
    # A wait counts every action that arrives while it waits, even those the bound dropped.
    async with Simulator(max_received_actions=5) as sim:
        d = await _admin(sim)
        got: list[str | None] = []

        async def wait() -> None:
            got.append((await sim.wait_for_action("ping", 30)).action_id)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:  # ends when the wait has returned
                tg.start_soon(wait)
                await anyio.wait_all_tasks_blocked()  # waiting before the first Ping
                ids = await _pings(d, 12)  # one write: handled without a pause in between
                for _ in range(18):
                    await d.call("Ping")
        assert got == ["t-19"]  # Login is t-1, then the 12 in one write, then t-2 ... t-19
        assert len(sim.received_actions) == 5
        assert ids[0] not in [a.message.action_id for a in sim.received_actions]
        # Already there (within the bound): found without waiting.
        with anyio.fail_after(1):
            assert (await sim.wait_for_action("Ping", 1)).action_id == "t-15"
        await d.logoff()


async def test_wait_for_action_does_not_rescan_the_history(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Simulator() as sim:
        d = await _admin(sim)
        await _pings(d, 500)
        reads = 0
        original = ReceivedAction.name

        def counted(self: ReceivedAction) -> str:
            nonlocal reads
            reads += 1
            return original.fget(self)  # type: ignore[no-any-return, attr-defined]

        monkeypatch.setattr(ReceivedAction, "name", property(counted))

        async def wait() -> None:
            await sim.wait_for_action("Ping", 520)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait)
                await anyio.wait_all_tasks_blocked()
                for _ in range(20):
                    await d.call("Ping")  # each one wakes the waiter
        # One pass over the 501 kept actions, then only the new ones: not 20 passes.
        assert reads < 2 * 521
        monkeypatch.undo()
        await d.logoff()


async def test_wait_for_action_sees_a_replayed_connection() -> None:
    async with Simulator() as sim:
        sim.replay_next_connection(TRANSCRIPTS / "login_ping_logoff.ami")
        found: list[str] = []

        async def wait() -> None:
            found.append((await sim.wait_for_action("Logoff"))["Action"])

        d = await Driver.tcp(*await sim.listen())
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:  # ends when the wait has returned
                tg.start_soon(wait)
                await d.call("Login", Username="admin", Secret="x")
                await d.call("Ping")
                await d.send("Logoff")
                while await d.next() is not None:  # the replay ends the connection
                    pass
        await d.aclose()
        assert found == ["Logoff"]
