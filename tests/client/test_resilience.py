"""Reconnect, and a flood of events at a subscriber that never reads (loopback fakes)."""

from __future__ import annotations

import gc
import tracemalloc

import anyio
import pytest

from ami_client import Action, ConnectionLost, ConnectionState, ReconnectPolicy

from .fakeserver import Peer, connect_to, event, fake_server

pytestmark = pytest.mark.anyio

FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, jitter=0.5)


async def test_reconnect_relogs_reapplies_settings_keeps_subscriptions_never_resends() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        while True:
            action = await peer.read_action()
            name = action["Action"]
            if name == "Hold":  # the link dies with this action in flight
                await peer.stream.aclose()
                return
            if name == "Emit":
                await peer.send(event("UserEvent", ("UserEvent", action["N"])))
            if name == "Logoff":
                await peer.reply(action, status="Goodbye")
                return
            await peer.reply(action)

    async with fake_server(handler) as (port, peers):
        with anyio.fail_after(10):
            async with (
                connect_to(port, reconnect=FAST) as ami,
                ami.subscribe("UserEvent") as events,
                ami.watch_state() as states,
            ):
                await ami.events_mask(["call", "user"])
                await ami.add_filter("Event: UserEvent")
                await ami.send(Action("Emit", N="1"))
                with pytest.raises(ConnectionLost):
                    await ami.send(Action("Hold"))
                async for state in states:
                    if state is ConnectionState.CONNECTED and ami.statistics().reconnects:
                        break
                await ami.send(Action("Emit", N="2"))
                got = [(await events.receive())["UserEvent"] for _ in range(2)]
                assert got == ["1", "2"]
                assert ami.statistics().reconnects == 1
        first, second = peers[0].received, peers[1].received
        assert [m["Action"] for m in first] == ["Login", "Events", "Filter", "Emit", "Hold"]
        names = [m["Action"] for m in second]
        # Re-login, settings re-applied in order, and the Hold that was in flight NOT re-sent.
        assert names[:3] == ["Login", "Events", "Filter"]
        assert "Hold" not in names
        assert second[1]["EventMask"] == "call,user"
        assert second[2]["Filter"] == "Event: UserEvent"


async def test_sends_fail_fast_while_reconnecting_and_policy_gives_up() -> None:
    attempts = 0

    async def handler(peer: Peer) -> None:
        nonlocal attempts
        attempts += 1
        if attempts > 1:  # every reconnect is refused
            await peer.login(secret="another")
        await peer.login()
        await peer.read_action()
        await peer.stream.aclose()

    policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.02, max_attempts=3)
    async with fake_server(handler) as (port, _):
        with anyio.fail_after(10):
            async with connect_to(port, reconnect=policy) as ami:
                async with ami.subscribe() as events:
                    with pytest.raises(ConnectionLost):
                        await ami.send(Action("Ping"))
                    with pytest.raises(ConnectionLost):
                        await ami.send(Action("Ping"))  # fail fast, no waiting for the outage
                    with pytest.raises(ConnectionLost):
                        await events.receive()  # ends once the policy gave up
                assert ami.state is ConnectionState.CLOSED
        assert attempts == 4


def test_backoff_grows_and_is_jittered() -> None:
    policy = ReconnectPolicy(
        initial_delay=1, max_delay=8, multiplier=2, jitter=0.5, random=lambda: 1.0
    )
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    calm = ReconnectPolicy(initial_delay=1, max_delay=8, jitter=0.5, random=lambda: 0.0)
    assert [calm.delay(n) for n in range(5)] == [1, 2, 4, 8, 8]
    assert len(list(ReconnectPolicy(max_attempts=3).delays())) == 3
    with pytest.raises(ValueError, match="jitter"):
        ReconnectPolicy(jitter=2)


async def test_flood_at_a_subscriber_that_never_reads_stays_bounded() -> None:
    total = 100_000
    blob = b"".join(
        b"Event: Newexten\r\nChannel: PJSIP/1000-%08d\r\nExten: 1000\r\nAppData: \r\n\r\n" % i
        for i in range(total)
    )

    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        await peer.stream.send(blob)
        await peer.reply(action, ("Ping", "Pong"))
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(30):
            async with (
                connect_to(port) as ami,
                ami.subscribe(buffer=1000) as lazy,
            ):
                gc.collect()
                tracemalloc.start()
                try:
                    # Answered although 100,000 events came first and nobody reads them.
                    pong = await ami.send(Action("Ping"))
                    assert pong["Ping"] == "Pong"
                    gc.collect()
                    current, _peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
                stats = lazy.statistics()
                assert stats.buffered == 1000
                assert stats.dropped == total - 1000
                assert ami.statistics().events_received >= total
                # 1,000 small events kept, not 100,000 (those alone would take ~50 MB).
                assert current < 8 * 1024 * 1024, current
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


async def test_events_in_the_same_read_as_the_login_answer_reach_subscribers() -> None:
    """Asterisk sends FullyBooted right behind the login answer, often in the same TCP read.
    After a reconnect it is how a subscriber (the tracker) learns it missed events: it must
    not be swallowed by the login handshake."""
    connections = 0

    async def handler(peer: Peer) -> None:
        nonlocal connections
        connections += 1
        await peer.stream.send(b"Asterisk Call Manager/11.0.0\r\n")
        login = await peer.read_action()
        answer = f"Response: Success\r\nActionID: {login.action_id}\r\nMessage: Accepted\r\n\r\n"
        booted = f"Event: FullyBooted\r\nPrivilege: system,all\r\nSession: {connections}\r\n\r\n"
        await peer.stream.send((answer + booted).encode())  # one write: one read
        if connections == 1:
            await anyio.sleep(0.2)
            await peer.stream.aclose()  # the link dies; the client reconnects
            return
        await peer.serve_forever()

    policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.05)
    async with (
        fake_server(handler) as (port, _),
        connect_to(port, reconnect=policy) as ami,
        ami.subscribe("FullyBooted") as events,
    ):
        with anyio.fail_after(10):
            booted = await events.__anext__()
    assert booted["Session"] == "2"
