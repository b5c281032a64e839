"""Cancellation through anyio cancel scopes: a cancelled send leaves nothing behind."""

from __future__ import annotations

import anyio
import pytest

import ami_client
from ami_client import Action

from .fakeserver import SECRET, Peer, fake_server

pytestmark = pytest.mark.anyio


async def test_cancelled_send_leaves_nothing_and_its_late_answer_is_discarded() -> None:
    release = anyio.Event()

    async def handler(peer: Peer) -> None:
        await peer.login()
        slow = await peer.read_action()
        await release.wait()  # answer the first action only after its sender gave up
        ping = await peer.read_action()
        # The late answer first, then the Ping's: the late one must not be taken for it.
        await peer.reply(slow, ("Slow", "late"))
        await peer.reply(ping, ("Ping", "Pong"))
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with ami_client.connect(
                "127.0.0.1", port, username="admin", secret=SECRET, keepalive=None
            ) as ami:
                with anyio.move_on_after(0.1) as scope:
                    await ami.send(Action("SlowThing"))
                assert scope.cancelled_caught
                stats = ami.statistics()
                assert stats.pending_actions == 0
                assert ami._link is not None
                assert not ami._link.waiters
                assert not ami._link.bare
                release.set()
                pong = await ami.send(Action("Ping"))
                assert pong["Ping"] == "Pong"
                assert "Slow" not in pong
                assert ami.statistics().late_responses == 1
                assert ami.state is ami_client.ConnectionState.CONNECTED


async def test_cancelling_many_concurrent_sends_keeps_the_others() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        held = []
        while True:
            action = await peer.read_action()
            if action["Action"] == "Hold":
                held.append(action)
                continue
            if action["Action"] == "Logoff":
                await peer.reply(action, status="Goodbye")
                return
            for h in held:  # late answers to everything cancelled so far
                await peer.reply(h)
            held.clear()
            await peer.reply(action, ("Ping", "Pong"))

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with ami_client.connect(
                "127.0.0.1", port, username="admin", secret=SECRET, keepalive=None
            ) as ami:
                async with anyio.create_task_group() as tg:
                    for _ in range(50):
                        tg.start_soon(ami.send, Action("Hold"))
                    await anyio.wait_all_tasks_blocked()
                    assert ami.statistics().pending_actions == 50
                    tg.cancel_scope.cancel()
                assert ami.statistics().pending_actions == 0
                pongs = []
                async with anyio.create_task_group() as tg:

                    async def ping() -> None:
                        pongs.append((await ami.send(Action("Ping")))["Ping"])

                    for _ in range(20):
                        tg.start_soon(ping)
                assert pongs == ["Pong"] * 20


async def test_cancelled_stream_forgets_the_rest_of_the_list() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        aid = ("ActionID", action.action_id or "")
        await peer.reply(action, ("EventList", "start"))
        await peer.send(ami_client.Event([("Event", "Item"), aid]))
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with ami_client.connect(
                "127.0.0.1", port, username="admin", secret=SECRET, keepalive=None
            ) as ami:
                with anyio.move_on_after(0.2):
                    async with ami.stream(Action("Lister")) as items:
                        async for _ in items:
                            pass
                assert ami.statistics().pending_actions == 0
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
