"""Actions in flight, whichever table holds them.

On asyncio, ``send`` keeps an action as a bare future until its answer, and gives it a
correlator entry only when the answer is not a plain ``Response: Success`` (an EventList, an
error). On trio every action has its entry from the start. These tests hold on both backends:
counting, refusing a duplicate ActionID, cancelling and losing the link treat an action the same
wherever it is kept.
"""

from __future__ import annotations

import anyio
import pytest

import ami_client
from ami_client import (
    Action,
    ActionError,
    ConnectionLost,
    EventListResult,
    LocalProtocolError,
    Message,
    ReconnectPolicy,
)

from .fakeserver import Peer, connect_to, event, fake_server

pytestmark = pytest.mark.anyio

FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=5)


async def wait_until(predicate: object, seconds: float = 5.0) -> None:
    assert callable(predicate)
    with anyio.fail_after(seconds):
        while not predicate():  # noqa: ASYNC110 - polls the client's own records
            await anyio.sleep(0.005)


def list_items(ami: ami_client.AMIClient, action_id: str) -> int:
    """How many items the client collected so far for the list ``action_id`` (-1: none)."""
    link = ami._link
    entry = link.correlator.entries.get(action_id) if link is not None else None
    return -1 if entry is None or entry.items is None else len(entry.items)


async def answer_a_list_in_two_halves(peer: Peer, lister: Message, release: anyio.Event) -> None:
    """Start ``lister``'s EventList with one item; the second and the completion once
    ``release`` is set."""
    aid = ("ActionID", lister.action_id or "")
    await peer.reply(lister, ("EventList", "start"))
    await peer.send(event("Item", aid, ("N", "1")))
    await release.wait()
    await peer.send(event("Item", aid, ("N", "2")))
    await peer.send(event("ItemsComplete", aid, ("EventList", "Complete")))


def client(port: int, reconnect: ReconnectPolicy | None = None) -> ami_client.AMIClient:
    return connect_to(port, reconnect=reconnect)


async def test_a_plain_action_and_a_list_in_progress_are_both_in_flight() -> None:
    release = anyio.Event()

    async def handler(peer: Peer) -> None:
        await peer.login()
        hold = await peer.read_action()
        await answer_a_list_in_two_halves(peer, await peer.read_action(), release)
        await peer.reply(hold, ("Held", "yes"))
        await peer.serve_forever()

    results: dict[str, object] = {}

    async def send(name: str, action: Action) -> None:
        results[name] = await ami.send(action)

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami, anyio.create_task_group() as tg:
                tg.start_soon(send, "hold", Action("Hold", ActionID="hold"))
                await anyio.wait_all_tasks_blocked()
                tg.start_soon(send, "lister", Action("Lister", ActionID="lister"))
                await wait_until(lambda: list_items(ami, "lister") == 1)
                assert ami.statistics().pending_actions == 2
                # Neither ActionID can be taken while its action is in flight.
                for taken in ("hold", "lister"):
                    with pytest.raises(LocalProtocolError, match="already in flight"):
                        await ami.send(Action("Ping", ActionID=taken))
                release.set()
        assert ami.statistics().pending_actions == 0
        held = results["hold"]
        assert isinstance(held, ami_client.Response)
        assert held["Held"] == "yes"
        listed = results["lister"]
        assert isinstance(listed, EventListResult)
        assert [item["N"] for item in listed.items] == ["1", "2"]
        assert listed.complete is not None


async def test_an_error_answer_raises_and_leaves_nothing_in_flight() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        await peer.reply(action, ("Message", "No such thing"), status="Error")
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                with pytest.raises(ActionError, match="No such thing"):
                    await ami.send(Action("Bogus", ActionID="bogus"))
                assert ami.statistics().pending_actions == 0
                # The ActionID is free again.
                pong = await ami.send(Action("Ping", ActionID="bogus"))
                assert pong["Ping"] == "Pong"


async def test_a_send_cancelled_in_the_middle_of_its_list_forgets_the_rest() -> None:
    release = anyio.Event()

    async def handler(peer: Peer) -> None:
        await peer.login()
        await answer_a_list_in_two_halves(peer, await peer.read_action(), release)
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(ami.send, Action("Lister", ActionID="lister"))
                    await wait_until(lambda: list_items(ami, "lister") == 1)
                    tg.cancel_scope.cancel()
                assert ami.statistics().pending_actions == 0
                release.set()
                # The rest of the list is ignored; the connection and the ActionID are usable.
                pong = await ami.send(Action("Ping", ActionID="lister"))
                assert pong["Ping"] == "Pong"
                assert ami.statistics().pending_actions == 0


async def test_a_dead_link_fails_a_plain_action_and_a_list_alike_and_resends_neither() -> None:
    connections = 0

    async def handler(peer: Peer) -> None:
        nonlocal connections
        connections += 1
        await peer.login()
        if connections > 1:  # after the reconnect
            await peer.serve_forever()
            return
        await peer.read_action()  # Hold: never answered
        lister = await peer.read_action()
        await peer.reply(lister, ("EventList", "start"))
        await peer.send(event("Item", ("ActionID", lister.action_id or "")))
        await anyio.sleep(0.05)
        await peer.stream.aclose()

    failures: list[BaseException] = []

    async def send(action: Action) -> None:
        try:
            await ami.send(action)
        except ConnectionLost as exc:
            failures.append(exc)

    async with fake_server(handler) as (port, peers):
        with anyio.fail_after(5):
            async with client(port, reconnect=FAST) as ami:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(send, Action("Hold"))
                    await anyio.wait_all_tasks_blocked()
                    tg.start_soon(send, Action("Lister"))
                assert len(failures) == 2
                await wait_until(lambda: ami.state is ami_client.ConnectionState.CONNECTED)
                assert ami.statistics().pending_actions == 0
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
        assert [m["Action"] for m in peers[1].received] == ["Login", "Ping", "Logoff"]
