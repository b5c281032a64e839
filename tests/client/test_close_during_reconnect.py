"""aclose() while a reconnect is re-applying the session's settings: the new link's socket
is closed too, not left open (the supervisor is cancelled before it closes that link)."""

from __future__ import annotations

import anyio
import pytest

from ami_client import Action, ReconnectPolicy

from .fakeserver import Peer, connect_to, fake_server

pytestmark = pytest.mark.anyio


async def test_aclose_during_reapply_closes_the_new_connection() -> None:
    reapplying = anyio.Event()
    second_closed = anyio.Event()

    async def handler(peer: Peer) -> None:
        await peer.login()
        if len(peers) == 1:
            action = await peer.read_action()  # the Events action: answered, then the link drops
            await peer.reply(action)
            await peer.stream.aclose()
            return
        await peer.read_action()  # the Events action re-applied: never answered
        reapplying.set()
        try:
            await peer.read_action()
        except EOFError:
            second_closed.set()

    async with fake_server(handler) as (port, peers):
        policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.01, max_attempts=3)
        async with connect_to(port, reconnect=policy) as ami:
            await ami.send(Action("Events", EventMask="call"))
            with anyio.fail_after(5):
                await reapplying.wait()
            await ami.aclose(logoff_timeout=0.5)
        with anyio.fail_after(2):
            await second_closed.wait()
