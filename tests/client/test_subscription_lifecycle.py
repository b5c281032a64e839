"""Subscriptions over their whole life: predicates alone, a predicate that raises, the client
closing or dying under them, closing one early, and filters that make no sense."""

from __future__ import annotations

import anyio
import pytest

import ami_client
from ami_client import (
    Action,
    ClientClosed,
    ConnectionLost,
    Event,
    SubscriptionOverflow,
    events,
)
from ami_client._private.subscription import Subscription, compile_filters

from .fakeserver import SECRET, Peer, event, fake_server, standard

pytestmark = pytest.mark.anyio


def client(port: int, **kwargs: object) -> ami_client.AMIClient:
    options: dict[str, object] = {"username": "admin", "secret": SECRET, "keepalive": None}
    options.update(kwargs)
    return ami_client.connect("127.0.0.1", port, **options)  # type: ignore[arg-type]


def emitting(*sent: Event) -> object:
    """A server that sends ``sent`` each time it gets the action ``Emit``."""

    async def handler(peer: Peer) -> None:
        await peer.login()
        while True:
            action = await peer.read_action()
            if action["Action"] == "Emit":
                await peer.send(*sent)
            if action["Action"] == "Logoff":
                await peer.reply(action, status="Goodbye")
                return
            await peer.reply(action, ("Ping", "Pong"))

    return handler


HANGUPS = [
    event("Hangup", ("Channel", f"PJSIP/{n}"), ("Uniqueid", str(n)), ("Cause", "16"))
    for n in range(4)
]


async def test_a_subscription_by_predicate_alone_gets_typed_events() -> None:
    async with fake_server(emitting(*HANGUPS)) as (port, _):  # type: ignore[arg-type]
        with anyio.fail_after(5):
            async with (
                client(port) as ami,
                ami.subscribe(lambda e: e["Channel"] in ("PJSIP/1", "PJSIP/3")) as odd,
            ):
                await ami.send(Action("Emit"))
                got = [await odd.receive(), await odd.receive()]
                assert [e["Channel"] for e in got] == ["PJSIP/1", "PJSIP/3"]
                assert all(isinstance(e, events.Hangup) for e in got)
                assert got[0].cause == 16
                assert odd.receive_nowait() is None


async def test_a_predicate_that_raises_ends_only_its_own_subscription() -> None:
    def broken(e: object) -> bool:
        raise KeyError("a bug in the user's predicate")

    async with fake_server(emitting(*HANGUPS)) as (port, _):  # type: ignore[arg-type]
        with anyio.fail_after(5):
            async with (
                client(port) as ami,
                ami.subscribe(broken) as failing,
                ami.subscribe("Hangup") as others,
            ):
                await ami.send(Action("Emit"))
                with pytest.raises(KeyError, match="a bug in the user's predicate"):
                    await failing.receive()
                assert failing.statistics().failed
                # The reader, the other subscriber and the connection carry on.
                assert [(await others.receive())["Uniqueid"] for _ in range(4)] == list("0123")
                await ami.send(Action("Emit"))
                assert (await others.receive())["Uniqueid"] == "0"
                with pytest.raises(KeyError):  # still the same error, not a new one
                    failing.receive_nowait()


async def test_an_overflowed_subscription_keeps_its_error_when_the_client_closes() -> None:
    calls = 0

    def wants(e: object) -> bool:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise RuntimeError("must not replace the overflow")
        return True

    async with fake_server(emitting(*HANGUPS)) as (port, _):  # type: ignore[arg-type]
        with anyio.fail_after(5):
            async with client(port) as ami, ami.subscribe(wants, buffer=1, overflow="fail") as sub:
                await ami.send(Action("Emit"))  # the 2nd overflows, the 3rd makes it raise
                await ami.aclose()
                with pytest.raises(SubscriptionOverflow, match="fell 1 events behind"):
                    await sub.receive()
                assert sub.statistics().dropped == 1


async def test_subscriptions_open_when_the_client_closes_end_after_their_events() -> None:
    async with fake_server(emitting(*HANGUPS)) as (port, _):  # type: ignore[arg-type]
        with anyio.fail_after(5):
            ami = client(port)
            async with ami, ami.subscribe("Hangup") as sub:
                await ami.send(Action("Emit"))
                await ami.send(Action("Ping"))  # the four events are in by now
                await ami.aclose()
                # What was buffered is still handed out; then iteration simply ends...
                assert [e["Uniqueid"] async for e in sub] == list("0123")
                # ...and receive() says why nothing more will come.
                with pytest.raises(ClientClosed):
                    await sub.receive()
                assert sub.receive_nowait() is None


async def test_subscribing_after_the_client_ended_ends_at_once() -> None:
    async def dies(peer: Peer) -> None:
        await peer.login()
        await peer.read_action()  # then the link dies

    async with fake_server(standard) as (port, _):
        with anyio.fail_after(5):
            ami = client(port)
            async with ami:
                pass
            async with ami.subscribe() as sub:
                assert [e async for e in sub] == []
    async with fake_server(dies) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(ConnectionLost):
                    await ami.send(Action("Ping"))
                async with ami.subscribe() as sub:
                    with pytest.raises(ConnectionLost, match="the server closed the connection"):
                        await sub.receive()


async def test_closing_a_subscription_early_stops_delivery_and_detaches_it() -> None:
    async with fake_server(emitting(*HANGUPS)) as (port, _):  # type: ignore[arg-type]
        with anyio.fail_after(5):
            async with client(port) as ami:
                async with ami.subscribe("Hangup") as sub:
                    await ami.send(Action("Emit"))
                    await ami.send(Action("Ping"))
                    assert sub.statistics().buffered == 4
                    sub.close()
                    assert len(ami.statistics().subscriptions) == 0
                    assert sub.statistics().buffered == 0  # dropped, as documented
                    assert [e async for e in sub] == []
                    await ami.send(Action("Emit"))
                    await ami.send(Action("Ping"))
                    assert sub.statistics().delivered == 4  # nothing more after close()
                # (leaving the block after close() is fine, and detaches nothing twice)
                assert len(ami.statistics().subscriptions) == 0


async def test_a_cache_of_event_names_stays_bounded_and_correct() -> None:
    # Event names come from the server: a flood of distinct ones must not grow memory
    # without bound, and a named subscription must still match after the cache is cleared.
    names = [event(f"Custom{n}") for n in range(4200)]
    wanted = event("Hangup", ("Uniqueid", "after-the-flood"))
    async with fake_server(emitting(*names, wanted)) as (port, _):  # type: ignore[arg-type]
        with anyio.fail_after(10):
            async with (
                client(port, event_factory=ami_client.generic_events) as ami,
                ami.subscribe("hangup", "Custom7") as sub,
            ):
                await ami.send(Action("Emit"))
                assert (await sub.receive()).name == "Custom7"
                assert (await sub.receive())["Uniqueid"] == "after-the-flood"
                assert len(ami._lower_names) <= 4097


def test_filters_that_make_no_sense_are_refused() -> None:
    with pytest.raises(ValueError, match="an event name filter cannot be empty"):
        compile_filters([""])
    with pytest.raises(TypeError, match="cannot filter events by 42"):
        compile_filters(["Hangup", 42])
    with pytest.raises(TypeError, match="int has no EVENT_NAME"):
        compile_filters([int])


def test_a_subscription_repr_says_what_it_takes_and_how_full_it_is() -> None:
    named: Subscription[Event] = Subscription(
        compile_filters(["Newchannel", "Hangup"]), max_buffer=3, overflow="fail"
    )
    named._offer(Event([("Event", "Hangup")]))
    assert repr(named) == (
        "<Subscription ['hangup', 'newchannel'] buffered=1/3 dropped=0 overflow=fail>"
    )
    every: Subscription[Event] = Subscription(
        compile_filters([]), max_buffer=1, overflow="drop_newest"
    )
    every._offer(Event([("Event", "A")]))
    every._offer(Event([("Event", "B")]))
    assert repr(every) == "<Subscription all events buffered=1/1 dropped=1 overflow=drop_newest>"


async def test_a_subscription_can_be_entered_only_once() -> None:
    async with fake_server(emitting(*HANGUPS)) as (port, _):  # type: ignore[arg-type]
        with anyio.fail_after(5):
            async with client(port) as ami:
                sub = ami.subscribe("Hangup")
                async with sub:
                    with pytest.raises(RuntimeError, match="can be entered only once"):
                        await sub.__aenter__()
                    # The refused second entry left the first one attached and working.
                    await ami.send(Action("Emit"))
                    assert (await sub.receive())["Uniqueid"] == "0"
                with pytest.raises(RuntimeError, match="subscribe\\(\\) again for another"):
                    async with sub:
                        pytest.fail("entered a used subscription")
                states = ami.watch_state()
                async with states:
                    with pytest.raises(RuntimeError, match="can be entered only once"):
                        await states.__aenter__()
                assert len(ami.statistics().subscriptions) == 0


async def test_a_bare_subscription_is_fed_by_hand() -> None:
    sub: Subscription[str] = Subscription(compile_filters([]), max_buffer=2, overflow="fail")
    async with sub:
        sub._offer("a")
        sub._end(None)
        assert [item async for item in sub] == ["a"]
