"""A batch offered at once (``Subscription._offer_all``, what the reader does with a read's
events) leaves every subscription exactly as offering the events one by one would."""

from __future__ import annotations

import itertools
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ami_client import Action, Event, Overflow, Response, SubscriptionOverflow, events
from ami_client._private.subscription import _MAX_BUDGET, Subscription, compile_filters
from ami_client.protocol import serialize_message

from .fakeserver import Peer, connect_to, event, fake_server


def read(sub: Subscription[int]) -> object:
    try:
        return sub.receive_nowait()
    except SubscriptionOverflow as error:
        return type(error)


def state(sub: Subscription[int]) -> tuple[object, ...]:
    error = sub._error
    return (
        list(sub._buffer),
        sub._delivered,
        sub._dropped,
        sub._closed,
        type(error) if error is not None else None,
        sub.statistics(),
    )


@given(
    max_buffer=st.integers(1, 12),
    overflow=st.sampled_from(list(Overflow)),
    batches=st.lists(st.integers(0, 30), max_size=6),
    reads=st.lists(st.integers(0, 12), max_size=6),
)
def test_a_batch_is_the_same_as_one_by_one(
    max_buffer: int, overflow: Overflow, batches: list[int], reads: list[int]
) -> None:
    one = Subscription[int](compile_filters(()), max_buffer=max_buffer, overflow=overflow)
    many = Subscription[int](compile_filters(()), max_buffer=max_buffer, overflow=overflow)
    counter = 0
    for n, size in enumerate(batches):
        events = list(range(counter, counter + size))
        counter += size
        for item in events:
            one._offer(item)
        many._offer_all(events)
        assert state(many) == state(one)
        # The subscriber reads some in between.
        for _ in range(reads[n] if n < len(reads) else 0):
            assert read(one) == read(many)
    if overflow is Overflow.FAIL and one._closed:
        assert isinstance(many._error, SubscriptionOverflow)


def _next(sub: Subscription[Any]) -> Any:
    """The next buffered item, which the test knows is there."""
    item = sub.receive_nowait()
    assert item is not None
    return item


@pytest.mark.anyio
async def test_a_factory_that_raises_delivers_that_event_generic_to_every_subscriber() -> None:
    class Typed:
        def __init__(self, message: Event) -> None:
            if message.name == "Bad":
                raise ValueError("cannot type this one")
            self.name = message.name

    async def handler(peer: Peer) -> None:
        await peer.login()
        for _ in range(2):
            action = await peer.read_action()
            await peer.send(event("Good"), event("Bad"), event("Good"))
            await peer.reply(action)
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with (
                connect_to(port, event_factory=Typed) as ami,
                ami.subscribe() as everything,  # the batched path
            ):
                await ami.send(Action("Ping"))
                got = [_next(everything) for _ in range(3)]
                assert [type(e) for e in got] == [Typed, Event, Typed]
                assert [e.name for e in got] == ["Good", "Bad", "Good"]
                async with ami.subscribe("Bad", "Good") as named:  # the per-event path
                    await ami.send(Action("Ping"))
                    got = [_next(named) for _ in range(3)]
                    assert [type(e) for e in got] == [Typed, Event, Typed]
                # The reader carried on: the connection still answers.
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


@pytest.mark.anyio
async def test_a_subscriber_that_keeps_up_holds_about_one_read_of_events() -> None:
    # The reader must not run ahead of a subscriber that reads as fast as events come: a
    # subscriber drains what one read gave it before it yields, so its buffer holds about one
    # read's events, not a growing backlog (a backlog of thousands of live events made every
    # event slower to handle: the whole working set fell out of the CPU caches).
    one = serialize_message(event("VarSet", ("Channel", "PJSIP/alice-00000001"), ("Value", "x")))
    per_read = 65536 // len(one) + 1
    count = 40 * per_read

    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        await peer.reply(action)
        await peer.stream.send(one * count)
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(20):
            async with (
                connect_to(port) as ami,
                ami.subscribe(buffer=count + 1) as events,
            ):
                await ami.send(Action("Ping"))
                most = seen = 0
                async for _ in events:
                    most = max(most, len(events._buffer))
                    seen += 1
                    if seen == count:
                        break
    assert seen == count
    assert most <= 3 * per_read, (most, per_read)


@pytest.mark.anyio
async def test_a_subscriber_draining_a_long_backlog_still_lets_other_tasks_run() -> None:
    total = 30_000
    sub = Subscription[int](compile_filters(()), max_buffer=total, overflow=Overflow.FAIL)
    sub._offer_all(list(range(total)))
    ticks = 0
    ticks_seen: list[int] = []

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.lowlevel.checkpoint()
        async for item in sub:
            ticks_seen.append(ticks)
            if item == total - 1:
                break
        tg.cancel_scope.cancel()
    # Other tasks ran all through the drain, not only once it was over: the subscriber never
    # handled more than _MAX_BUDGET events in a row without yielding. (Trio runs the tasks of
    # one scheduling batch in random order, so the ticker may run just before one yield and
    # just after the next: two budgets can see the same tick.)
    runs = [len(list(run)) for _, run in itertools.groupby(ticks_seen)]
    assert max(runs) <= 2 * _MAX_BUDGET, runs
    assert len(runs) >= total // (2 * _MAX_BUDGET), runs


def unread(view: events.TypedEvent) -> bool:
    """Whether a typed view still holds its event's text unread."""
    return view._deferred is not None


@pytest.mark.anyio
async def test_typed_events_reach_every_kind_of_subscriber_unread_until_asked() -> None:
    # With the catalogue's factory the reader hands out events whose fields are read only
    # when a subscriber asks (see DeferredEvent): the batched path (no filter), the by-name
    # path and the predicate path all get such views, equal to the eager ones.
    sent = event(
        "Newchannel", ("Privilege", "call,all"), ("Channel", "PJSIP/a-1"), ("Uniqueid", "1")
    )

    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        await peer.reply(action)
        await peer.send(sent, event("Hangup", ("Channel", "PJSIP/a-1"), ("Cause", "16")))
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with (
                connect_to(port) as ami,
                ami.subscribe() as everything,
                ami.subscribe("Newchannel") as named,
                ami.subscribe(lambda e: e.get("Cause") == "16") as predicate,
            ):
                await ami.send(Action("Ping"))
                first = await everything.receive()
                second = await everything.receive()
                by_name = await named.receive()
                by_predicate = await predicate.receive()
    assert by_name is first  # one view per event, shared by the subscribers
    assert by_predicate is second
    assert isinstance(first, events.Newchannel)
    assert isinstance(second, events.Hangup)
    assert unread(first)
    assert (first.name, first.get("Channel")) == ("Newchannel", "PJSIP/a-1")
    assert unread(first)  # the name and one field did not read the rest
    assert first.channel.unique_id == "1"
    assert not unread(first)
    assert first == events.from_message(sent)
    assert first.message == sent
    assert second.cause == 16


@pytest.mark.anyio
async def test_events_a_pending_action_may_claim_are_read_at_once() -> None:
    # While an action waits, an event with an ActionID (in any casing) may be one of its
    # answers: the reader reads it then, and the list collects it. An event with no ActionID
    # in any casing cannot be, and stays unread.
    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        action_id = action.action_id or ""
        await peer.send(
            Response([("Response", "Success"), ("actionid", action_id), ("EventList", "start")]),
            event("CoreShowChannel", ("actionID", action_id), ("Channel", "PJSIP/a-1")),
            event("Newchannel", ("Channel", "PJSIP/b-2")),
            event("Newchannel", ("Channel", "PJSIP/c-3"), ("ACTIONID", "someone-else")),
            event(
                "CoreShowChannelsComplete",
                ("ActionID", action_id),
                ("EventList", "Complete"),
                ("ListItems", "1"),
            ),
        )
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with (
                connect_to(port) as ami,
                ami.subscribe("Newchannel", "CoreShowChannel") as named,
            ):
                result = await ami.collect(Action("CoreShowChannels"))
                item = await named.receive()
                plain = await named.receive()
                other_id = await named.receive()
    assert [i.get("Channel") for i in result.items] == ["PJSIP/a-1"]
    assert isinstance(item, events.CoreShowChannel)
    assert not unread(item)  # read at once: it has an ActionID and an action was waiting
    assert isinstance(plain, events.Newchannel)
    assert unread(plain)  # no ActionID in any casing: it cannot answer anything
    assert plain.get("Channel") == "PJSIP/b-2"
    assert not unread(other_id)  # an ActionID, not the list's: read, then delivered
    assert other_id.get("Channel") == "PJSIP/c-3"
