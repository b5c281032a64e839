"""The tracker's async layer: seeding failures and retries, lost events, closing.

Most tests drive a :class:`Tracker` through an in-memory event stream and a ``send`` that
answers the seeding actions the way Asterisk 22 does (the list items and the completion event
travel in the event stream, with the action's ActionID): every interleaving is then exact. The
ones about a real client use the simulator over loopback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

import ami_client
from ami_client import Action, ClientClosed, ConnectionLost, PermissionDenied
from ami_client._private.simulator.auth import User
from ami_client._private.tracking import tracker as tracker_module
from ami_client.events import from_message
from ami_client.protocol import Event, Response
from ami_client.testing import Simulator
from ami_client.tracking import EVENTS_LOST, ChannelChange, Reducer, Tracker, Violation

pytestmark = pytest.mark.anyio

SECRET = "ami-admin-secret"


def event(name: str, *fields: tuple[str, str]) -> Any:
    return from_message(Event([("Event", name), *fields]))


def channel(uid: str) -> tuple[tuple[str, str], ...]:
    """The channel snapshot fields of a channel ``uid`` in its own call."""
    return (
        ("Channel", f"PJSIP/{uid}"),
        ("ChannelState", "6"),
        ("ChannelStateDesc", "Up"),
        ("Uniqueid", uid),
        ("Linkedid", uid),
    )


def refused(action_id: str) -> PermissionDenied:
    return PermissionDenied(
        Response([("Response", "Error"), ("ActionID", action_id), ("Message", "Permission denied")])
    )


class FakeAmi:
    """An event stream plus the ``send`` of a client, answering BridgeList (no bridges) and
    CoreShowChannels (the channels in :attr:`listed`) in the stream, as Asterisk 22 does."""

    def __init__(self) -> None:
        self.tx, self.rx = anyio.create_memory_object_stream[Any](10_000)
        self.sent: list[Action] = []
        self.listed: list[str] = []
        #: What the next sends raise instead of answering (consumed in order).
        self.errors: list[BaseException] = []
        #: Items put into the stream amid the next CoreShowChannels list (before its end).
        self.amid_list: list[Any] = []

    def push(self, item: Any) -> None:
        self.tx.send_nowait(item)

    def end(self) -> None:
        self.tx.close()

    def names(self) -> list[str]:
        return [a.name for a in self.sent]

    async def send(self, action: Action) -> None:
        self.sent.append(action)
        await anyio.lowlevel.checkpoint()
        if self.errors:
            raise self.errors.pop(0)
        aid = ("ActionID", action.action_id or "")
        if action.name == "BridgeList":
            self.push(event("BridgeListComplete", aid, ("ListItems", "0")))
            return
        for uid in self.listed:
            self.push(event("CoreShowChannel", aid, *channel(uid)))
        for item in self.amid_list:
            self.push(item)
        self.amid_list = []
        self.push(event("CoreShowChannelsComplete", aid, ("ListItems", str(len(self.listed)))))


@pytest.fixture
def ami() -> Iterator[FakeAmi]:
    fake = FakeAmi()
    yield fake
    fake.tx.close()
    fake.rx.close()


async def until(predicate: Any) -> None:
    while not predicate():  # noqa: ASYNC110 - polls the fake's records
        await anyio.sleep(0.001)


async def wait_syncs(tracker: Tracker, n: int) -> None:
    await tracker.wait_until(lambda s: tracker.statistics().syncs >= n)


# -- the first seeding -------------------------------------------------------------------------


async def test_entry_fails_with_permission_denied_for_a_user_who_may_not_list() -> None:
    # A user whose write= lacks CoreShowChannels' classes (system, reporting) is refused
    # (Asterisk 22: restricted_permission_denied.ami). Entering must say so, not hang.
    user = User(username="caller", secret="pw", read="all", write="call")
    async with Simulator(users=[user]) as sim:
        host, port = await sim.listen()
        async with ami_client.connect(host, port, username="caller", secret="pw") as ami:
            with anyio.fail_after(5), pytest.raises(PermissionDenied) as caught:
                async with ami_client.track(ami):
                    pytest.fail("tracking without a seeding")
            assert (caught.value.response.action_id or "").startswith("tracker-")
            assert (caught.value.response.action_id or "").endswith("-channels")
            # The client is untouched, and the tracker's subscription is gone.
            assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
            assert ami.statistics().subscriptions == ()


async def test_seeding_retries_while_the_connection_is_down(
    ami: FakeAmi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracker_module, "_SYNC_RETRY_DELAY", 0.01)
    ami.listed = ["c1"]
    ami.errors = [ConnectionLost("reconnecting"), ConnectionLost("reconnecting")]
    with anyio.fail_after(5):
        async with Tracker(ami.rx, ami.send) as tracker:
            assert list(tracker.channels) == ["c1"]
            assert tracker.statistics().syncs == 1
            assert not tracker.statistics().violations
    assert ami.names() == ["BridgeList", "BridgeList", "BridgeList", "CoreShowChannels"]
    # Each attempt is a new seeding with ActionIDs of its own: a late list of a failed
    # attempt cannot be taken for the current one.
    assert len({a.action_id for a in ami.sent}) == 4


async def test_entry_fails_when_the_connection_stays_down(
    ami: FakeAmi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracker_module, "_SYNC_RETRY_DELAY", 0.001)
    monkeypatch.setattr(tracker_module, "_SYNC_ATTEMPTS", 3)
    ami.errors = [ConnectionLost(f"down {i}") for i in range(3)]
    violations: list[Violation] = []
    tracker = Tracker(ami.rx, ami.send, on_violation=violations.append)
    with anyio.fail_after(5), pytest.raises(ConnectionLost, match="down 2"):
        async with tracker:
            pytest.fail("tracking without a seeding")
    assert ami.names() == ["BridgeList"] * 3
    assert [v.kind for v in violations] == ["sync-failed"]
    assert "could not seed: down 2" in violations[0].message
    # Entering cleaned up: the tracker is closed and says so.
    with anyio.fail_after(5), pytest.raises(ClientClosed, match="closed"):
        await tracker.wait_until(lambda s: False)


# -- seeding again -----------------------------------------------------------------------------


async def test_refused_reseed_is_reported_and_tracking_goes_on(ami: FakeAmi) -> None:
    ami.listed = ["c1"]
    violations: list[Violation] = []
    with anyio.fail_after(5):
        async with Tracker(ami.rx, ami.send, on_violation=violations.append) as tracker:
            # A new session (a reconnect), where the seeding is refused: e.g. manager.conf
            # was reloaded with a narrower write= meanwhile.
            ami.errors = [refused("x")]
            ami.push(event("FullyBooted", ("Status", "Fully Booted")))
            await tracker.wait_until(lambda s: bool(tracker.statistics().violations))
            assert [v.kind for v in violations] == ["sync-failed"]
            assert "Permission denied" in violations[0].message
            # No seeding is under way any more: events are judged again (and the seeding's
            # bookkeeping does not grow with every channel from now on).
            assert not tracker.reducer.syncing
            ami.push(event("Hangup", ("Uniqueid", "ghost"), ("Cause", "16")))
            ami.push(event("Newchannel", *channel("c2")))
            await tracker.wait_until(lambda s: "c2" in s.channels)
            assert [v.kind for v in violations] == ["sync-failed", "unknown-channel"]
            assert sorted(tracker.channels) == ["c1", "c2"]  # the stale state was kept
            assert tracker.statistics().syncs == 1


async def test_events_lost_during_a_seeding_seed_again_after_it(ami: FakeAmi) -> None:
    ami.listed = ["c1"]
    # The first list is taken, then events are lost before it completes: among them, c1's
    # Hangup. The list alone cannot be trusted, so a second seeding follows it.
    ami.amid_list = [EVENTS_LOST]
    violations: list[Violation] = []
    with anyio.fail_after(5):
        async with Tracker(ami.rx, ami.send, on_violation=violations.append) as tracker:
            ami.listed = []
            await wait_syncs(tracker, 2)
            assert tracker.channels == {}
    assert ami.names() == ["BridgeList", "CoreShowChannels"] * 2
    assert [v.kind for v in violations] == ["events-lost"]


async def test_client_closed_during_a_reseed_is_not_a_failure(ami: FakeAmi) -> None:
    violations: list[Violation] = []
    with anyio.fail_after(5):
        async with Tracker(ami.rx, ami.send, on_violation=violations.append) as tracker:
            ami.errors = [ClientClosed("the client was closed")]
            ami.push(event("FullyBooted", ("Status", "Fully Booted")))
            await until(lambda: len(ami.sent) == 3)
            ami.end()  # the client's subscription ends too
            with pytest.raises(ClientClosed, match="the event stream ended"):
                await tracker.wait_until(lambda s: False)
    assert violations == []


# -- the event stream --------------------------------------------------------------------------


async def test_overflowing_subscription_reports_the_loss_and_reseeds() -> None:
    # A tracker that cannot keep up loses the oldest events (Overflow.DROP_OLDEST): the loss
    # is reported and the state is seeded again from the server, so it ends up right.
    burst = b"".join(
        b"Event: Burst\r\nPrivilege: system,all\r\nSequence: %d\r\n\r\n" % i for i in range(200)
    )
    async with Simulator(time_scale=0.05) as sim:
        host, port = await sim.listen()
        async with (
            ami_client.connect(host, port, username="admin", secret=SECRET) as ami,
            ami_client.track(ami, buffer=8) as tracker,
            tracker.changes() as changes,
        ):
            with anyio.fail_after(10):
                # A channel the server does not have (its Hangup, say, was among the lost).
                sim.inject_event([("Event", "Newchannel"), ("Privilege", "call,all"),
                                  *channel("ghost")])  # fmt: skip
                await tracker.wait_channel("ghost")
                sim.send_garbage(burst)  # one write: the reader queues it all at once
                await wait_syncs(tracker, 2)
            stats = tracker.statistics()
            assert stats.violations == {"events-lost": 1}
            assert stats.syncs == 2
            assert ami.statistics().subscriptions[0].dropped > 0
            gone = []
            while (change := changes.receive_nowait()) is not None:
                if isinstance(change, ChannelChange) and change.old and not change.new:
                    gone.append((change.old.unique_id, change.reason))
            assert gone == [("ghost", "stale")]


@pytest.mark.parametrize("mask", [True, ["call"]])
async def test_reconnect_reseeds_once_whatever_the_events_mask(mask: Any) -> None:
    # Channels that end while the link is down must go from the tracker once it is back.
    # FullyBooted, Asterisk's sign of a new session, is a `system` class event: a session with
    # events=["call"] (or a user whose read= lacks system) never gets it, and the tracker
    # kept the ended channels for good. The client now tells the tracker about a reconnect.
    async with Simulator(time_scale=0.05) as sim:
        host, port = await sim.listen()
        policy = ami_client.ReconnectPolicy(initial_delay=0.05, jitter=0)
        async with (
            ami_client.connect(
                host, port, username="admin", secret=SECRET, events=mask, reconnect=policy
            ) as ami,
            ami_client.track(ami) as tracker,
            ami_client.connect(
                host, port, username="filtered", secret="ami-filtered-secret"
            ) as other,
        ):
            with anyio.fail_after(10):
                await ami.originate(
                    Action("Originate", Channel="Local/wait@ami-test", Context="ami-test",
                           Exten="wait", Priority="1")
                )  # fmt: skip
                await tracker.wait_until(lambda s: len(s.channels) == 2)
                admin = sim.users.pop("admin")  # the client cannot log in again for now
                sim.cut_connections(next(s for s in sim.sessions if s.username == "admin"))
                await other.send(Action("Command", Command="channel request hangup all"))
                while (await other.collect(Action("CoreShowChannels"))).items:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
                sim.users["admin"] = admin
                await tracker.wait_until(lambda s: not s.channels)
                assert tracker.statistics().violations == {}
                await anyio.sleep(0.2)  # a second seeding would have started by now
            assert tracker.statistics().syncs == 2
            assert len(sim.actions("CoreShowChannels")) == 2 + 1  # (+1: the other client's)


async def test_lost_connection_ends_waits_with_connection_lost() -> None:
    async with Simulator(time_scale=0.05) as sim:
        host, port = await sim.listen()
        async with (
            ami_client.connect(host, port, username="admin", secret=SECRET) as ami,
            ami_client.track(ami) as tracker,
        ):
            with anyio.fail_after(10):
                sim.cut_connections()  # no reconnect policy: the link is lost for good
                with pytest.raises(ConnectionLost):
                    await tracker.wait_hangup("never-there")
                with pytest.raises(ConnectionLost):  # and again: every wait ends at once
                    await tracker.wait_until(lambda s: False)


async def test_failing_source_ends_the_tracker_with_its_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def source() -> Any:
        yield event("Newchannel", *channel("c1"))
        raise OSError("capture file unreadable")

    with anyio.fail_after(5):
        async with Tracker(source()) as tracker:
            with pytest.raises(ClientClosed, match=r"stopped: OSError\('capture file unread"):
                await tracker.wait_until(lambda s: False)
            assert list(tracker.channels) == ["c1"]  # what came before is kept
    assert "tracker event source failed" in caplog.text


async def test_internal_error_is_reported_and_tracking_goes_on(
    ami: FakeAmi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Faulty(Reducer):
        def feed(self, event: Any) -> Any:
            if event.message.get("Event") == "Boom":
                raise KeyError("a bug")
            return super().feed(event)

    violations: list[Violation] = []
    tracker = Tracker(ami.rx)
    tracker.reducer = Faulty(on_violation=violations.append)
    boom = event("Boom")
    with anyio.fail_after(5):
        async with tracker:
            ami.push(boom)
            ami.push(event("Newchannel", *channel("c1")))
            await tracker.wait_until(lambda s: "c1" in s.channels)
    assert [(v.kind, v.event) for v in violations] == [("internal-error", boom)]
    assert "tracker failed on" in caplog.text
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


# -- waiting and closing -----------------------------------------------------------------------


async def test_wait_hangup_gets_its_own_channel_when_another_hangs_up_first(ami: FakeAmi) -> None:
    ami.listed = ["a", "b"]
    with anyio.fail_after(5):
        async with Tracker(ami.rx, ami.send) as tracker:
            assert sorted(tracker.calls) == ["a", "b"]
            assert tracker.calls["a"].channels == (tracker.channels["a"],)
            got: list[Any] = []

            async def wait_a() -> None:
                got.append(await tracker.wait_hangup("a"))

            async with anyio.create_task_group() as tg:
                tg.start_soon(wait_a)
                await anyio.wait_all_tasks_blocked()
                ami.push(event("Hangup", ("Uniqueid", "b"), ("Cause", "17")))
                ami.push(event("Hangup", ("Uniqueid", "a"), ("Cause", "16")))
    assert [(c.unique_id, c.hangup_cause, c.ended) for c in got] == [("a", 16, True)]


async def test_a_closed_tracker_refuses_waits_and_closes_once(ami: FakeAmi) -> None:
    ami.listed = ["c1"]
    with anyio.fail_after(5):
        async with Tracker(ami.rx, ami.send) as tracker:
            pass
        with pytest.raises(ClientClosed, match="the tracker is closed"):
            await tracker.wait_hangup("c1")
        await tracker.__aexit__(None, None, None)  # closing again changes nothing
        with pytest.raises(ClientClosed, match="the tracker is closed"):
            await tracker.wait_until(lambda s: False)
    assert list(tracker.channels) == ["c1"]  # the last state stays readable
    tracker.resync()  # a closed tracker seeds no more
    assert ami.names() == ["BridgeList", "CoreShowChannels"]


def test_events_lost_marker_reads_as_its_name() -> None:
    # Sources put it in their streams; logs and reprs of those should say what it is.
    assert repr(EVENTS_LOST) == "EVENTS_LOST"
    assert repr([EVENTS_LOST]) == "[EVENTS_LOST]"
