"""Keeping a session alive: the keepalive over many rounds, a dead link closed by the client
itself, and Events/Filter settings re-applied after a reconnect even when that goes wrong."""

from __future__ import annotations

import logging

import anyio
import pytest

import ami_client
from ami_client import Action, ConnectionState, Keepalive, KeepaliveTimeout, ReconnectPolicy

from .fakeserver import SECRET, Peer, connect_to, fake_server, standard

pytestmark = pytest.mark.anyio

FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.02, jitter=0.5)


async def test_the_keepalive_pings_again_and_again_while_answered() -> None:
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            async with ami_client.connect(
                "127.0.0.1",
                port,
                username="admin",
                secret=SECRET,
                keepalive=Keepalive(interval=0.01, timeout=2),
            ) as ami:
                while sum(m["Action"] == "Ping" for m in peers[0].received) < 5:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
                assert ami.state is ConnectionState.CONNECTED
                assert ami.statistics().pending_actions <= 1  # one Ping at a time, at most
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


async def test_a_dead_link_is_closed_by_the_client_before_the_caller_closes_it() -> None:
    # No reconnect policy: once the keepalive finds the link dead, the client closes the
    # socket itself (the server sees the end) rather than hold it until aclose().
    server_saw_the_end = anyio.Event()

    async def handler(peer: Peer) -> None:
        await peer.login()
        try:
            while True:
                await peer.read_action()  # never answered
        finally:
            server_saw_the_end.set()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with ami_client.connect(
                "127.0.0.1",
                port,
                username="admin",
                secret=SECRET,
                keepalive=Keepalive(interval=0.01, timeout=0.05),
            ) as ami:
                await server_saw_the_end.wait()
                assert ami.state is ConnectionState.CLOSED
                with pytest.raises(KeepaliveTimeout, match="no answer to a keepalive Ping"):
                    await ami.send(Action("Ping"))


async def test_settings_re_applied_after_reconnecting_survive_a_link_that_dies_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ami_client.client")
    connections = 0

    async def handler(peer: Peer) -> None:
        nonlocal connections
        connections += 1
        number = connections
        await peer.login()
        while True:
            action = await peer.read_action()
            name = action["Action"]
            if number == 1 and name == "Drop":
                return  # the first link dies
            if number == 2 and name == "Events":
                await peer.reply(action)
                return  # the second dies while the settings are being re-applied
            if number == 3 and name == "Events":
                # The third refuses the mask (say, a class this Asterisk does not know).
                await peer.reply(action, ("Message", "Invalid mask"), status="Error")
                continue
            if name == "Logoff":
                await peer.reply(action, status="Goodbye")
                return
            await peer.reply(action)

    async with fake_server(handler) as (port, peers):
        with anyio.fail_after(10):
            async with (
                connect_to(port, reconnect=FAST) as ami,
                ami.watch_state() as states,
            ):
                # The caller's own ActionID must not be re-used by the re-applied action.
                await ami.send(Action("Events", EventMask="call", ActionID="mine"))
                await ami.add_filter("Event: Hangup")
                with pytest.raises(ami_client.ConnectionLost):
                    await ami.send(Action("Drop"))
                seen = []
                async for state in states:
                    seen.append(state)
                    if state is ConnectionState.CONNECTED:
                        break
                # The second link never counted as connected: one reconnect, on the third.
                assert seen.count(ConnectionState.CONNECTED) == 1
                assert ami.statistics().reconnects == 1
                assert len(peers) == 3
                assert (await ami.send(Action("Ping"))).status == "Success"
        third = [(m["Action"], m.action_id) for m in peers[2].received]
        assert [name for name, _ in third[:3]] == ["Login", "Events", "Filter"]
        assert all(action_id != "mine" for _, action_id in third)
        assert peers[2].received[1]["EventMask"] == "call"
        assert peers[2].received[2]["Filter"] == "Event: Hangup"
        # The second link got Events (and perhaps Filter) before it died: nothing else.
        assert [m["Action"] for m in peers[1].received][:2] == ["Login", "Events"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("could not re-apply" in m and "Filter" in m for m in messages), messages
    assert any("re-applying" in m and "failed: Invalid mask" in m for m in messages), messages


@pytest.mark.parametrize("reconnect", [None, FAST], ids=["no-reconnect", "reconnect"])
async def test_a_logoff_sent_by_the_caller_ends_the_client_for_good(
    reconnect: ReconnectPolicy | None, caplog: pytest.LogCaptureFixture
) -> None:
    # The caller logged off: the server's close that follows is the end it asked for, not a
    # failure -- no reconnecting (even with a policy), no warning, subscriptions simply end.
    caplog.set_level(logging.WARNING, logger="ami_client.client")
    async with fake_server(standard) as (port, peers):
        with anyio.fail_after(5):
            async with (
                connect_to(port, reconnect=reconnect) as ami,
                ami.subscribe() as events,
                ami.watch_state() as states,
            ):
                goodbye = await ami.send(Action("Logoff"))
                assert goodbye.status == "Goodbye"
                assert [state async for state in states] == [ConnectionState.CLOSED]
                assert [event async for event in events] == []
                with pytest.raises(ami_client.ClientClosed):
                    await ami.send(Action("Ping"))
                await anyio.sleep(0.05)  # (time enough for a reconnect attempt)
                assert len(peers) == 1
                assert ami.statistics().reconnects == 0
    assert [r.getMessage() for r in caplog.records] == []


async def test_a_setting_the_server_refused_is_not_re_applied_after_reconnecting() -> None:
    connections = 0

    async def handler(peer: Peer) -> None:
        nonlocal connections
        connections += 1
        await peer.login()
        while True:
            action = await peer.read_action()
            if action["Action"] == "Drop":
                return
            if action["Action"] == "Filter" and "bad" in action["Filter"]:
                await peer.reply(action, ("Message", "Invalid filter"), status="Error")
                continue
            if action["Action"] == "Logoff":
                await peer.reply(action, status="Goodbye")
                return
            await peer.reply(action)

    async with fake_server(handler) as (port, peers):
        with anyio.fail_after(10):
            async with (
                connect_to(port, reconnect=FAST) as ami,
                ami.watch_state() as states,
            ):
                refused = await ami.send(
                    Action("Filter", Operation="Add", Filter="Event: bad1"), raise_on_error=False
                )
                assert refused.is_error
                with pytest.raises(ami_client.ActionError, match="Invalid filter"):
                    await ami.add_filter("Event: bad2")
                await ami.add_filter("Event: Hangup")
                with pytest.raises(ami_client.ConnectionLost):
                    await ami.send(Action("Drop"))
                async for state in states:
                    if state is ConnectionState.CONNECTED:
                        break
                await ami.send(Action("Ping"))
        again = [m.get("Filter") for m in peers[1].received if m["Action"] == "Filter"]
        assert again == ["Event: Hangup"]
