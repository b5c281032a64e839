"""Back-pressure on every way of sending, not only ``send()``: a server that stops reading makes
settings (Events, Filter), ``originate()`` and ``stream()`` wait before their bytes are queued,
so memory stays bounded; when it reads again they all go out and are answered; when the link
dies instead, every waiting sender gets a typed error at once (never a hang)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

import ami_client
from ami_client import Action, AMIConnectionError
from ami_client._private.client import _WRITE_HIGH_WATER

from .fakeserver import SECRET, Peer, event, fake_server, response

pytestmark = pytest.mark.anyio

# One action of about 100 KB (100 fields of 1,000 bytes: within Asterisk's line limit).
BIG_FIELDS = {f"Var{i:03d}": "x" * 1000 for i in range(100)}
BIG_COUNT = 60  # ~6 MB: far more than loopback's socket buffers and our high-water mark


async def answer(peer: Peer) -> None:
    """Answer what the slow senders send, as Asterisk would; anything else plainly."""
    while True:
        action = await peer.read_action()
        name = action["Action"]
        aid = ("ActionID", action.action_id or "")
        if name == "Originate":
            await peer.reply(action, ("Message", "Originate successfully queued"))
            await peer.send(event("OriginateResponse", aid, ("Response", "Success")))
        elif name == "CoreShowChannels":
            await peer.send(
                response(action, ("EventList", "start")),
                event("CoreShowChannel", aid, ("Channel", "PJSIP/1")),
                event("CoreShowChannelsComplete", aid, ("EventList", "Complete")),
            )
        elif name == "Logoff":
            await peer.reply(action, status="Goodbye")
            return
        else:
            await peer.reply(action)


async def stalled(ami: ami_client.AMIClient, tg: Any, failures: list[BaseException]) -> int:
    """Start BIG_COUNT big sends and wait until they stall behind the full buffers; returns
    the number of actions in flight then."""

    async def big(n: int) -> None:
        try:
            await ami.send(Action("UserEvent", UserEvent=f"big{n}", **BIG_FIELDS))
        except AMIConnectionError as error:
            failures.append(error)

    for n in range(BIG_COUNT):
        tg.start_soon(big, n)
    while ami.statistics().write_buffer <= _WRITE_HIGH_WATER:  # noqa: ASYNC110
        await anyio.sleep(0.01)
    await anyio.sleep(0.05)  # every big sender is now queued or waiting to queue
    return ami.statistics().pending_actions


def slow_senders(ami: ami_client.AMIClient) -> dict[str, Callable[[], Awaitable[object]]]:
    async def streamed() -> object:
        async with ami.stream(Action("CoreShowChannels")) as items:
            return [item["Channel"] async for item in items]

    return {
        "Filter": lambda: ami.add_filter("Event: Hangup"),
        "Events": lambda: ami.events_mask(["call"]),
        "Originate": lambda: ami.originate(Action("Originate", Channel="Local/1@ami-test")),
        "CoreShowChannels": streamed,
    }


async def test_settings_originate_and_streams_wait_for_a_server_that_stops_reading() -> None:
    resume = anyio.Event()

    async def handler(peer: Peer) -> None:
        await peer.login()
        await resume.wait()  # not reading: the kernel's buffers fill, then ours
        await answer(peer)

    async with fake_server(handler) as (port, peers):
        with anyio.fail_after(30):
            async with ami_client.connect(
                "127.0.0.1", port, username="admin", secret=SECRET, keepalive=None
            ) as ami:
                results: dict[str, object] = {}
                failures: list[BaseException] = []
                async with anyio.create_task_group() as tg:
                    in_flight = await stalled(ami, tg, failures)
                    for name, call in slow_senders(ami).items():

                        async def run(name: str = name, call: Any = call) -> None:
                            results[name] = await call()

                        tg.start_soon(run)
                    await anyio.sleep(0.1)
                    # They wait *before* queueing: nothing more in flight, the buffer bounded.
                    assert results == {}
                    assert ami.statistics().pending_actions == in_flight
                    bound = 2 * (_WRITE_HIGH_WATER + 110_000) + 64 * 1024 + 110_000
                    assert ami.statistics().write_buffer <= bound
                    resume.set()
                assert failures == []
                assert results["CoreShowChannels"] == ["PJSIP/1"]
                assert results["Originate"].success  # type: ignore[attr-defined]
                assert not results["Filter"].is_error  # type: ignore[attr-defined]
                assert ami.statistics().pending_actions == 0
        sent = [m["Action"] for m in peers[0].received]
        assert sent.count("UserEvent") == BIG_COUNT
        for name in ("Filter", "Events", "Originate", "CoreShowChannels"):
            assert sent.count(name) == 1


async def test_the_link_dying_while_senders_wait_to_queue_fails_them_all_typed() -> None:
    drop = anyio.Event()

    async def handler(peer: Peer) -> None:
        await peer.login()
        await drop.wait()
        await anyio.aclose_forcefully(peer.stream)  # unread bytes: the client sees a reset

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(30):
            async with ami_client.connect(
                "127.0.0.1", port, username="admin", secret=SECRET, keepalive=None
            ) as ami:
                failures: list[BaseException] = []
                async with anyio.create_task_group() as tg:
                    await stalled(ami, tg, failures)
                    for call in slow_senders(ami).values():

                        async def run(call: Any = call) -> None:
                            try:
                                await call()
                            except AMIConnectionError as error:
                                failures.append(error)

                        tg.start_soon(run)
                    await anyio.sleep(0.1)
                    assert failures == []
                    drop.set()
                # Every sender -- queued, or waiting to queue -- failed, typed, and none hung.
                assert len(failures) == BIG_COUNT + 4
                assert all(isinstance(f, ami_client.ConnectionLost) for f in failures)
                assert ami.statistics().pending_actions == 0
                assert ami.statistics().write_buffer == 0
