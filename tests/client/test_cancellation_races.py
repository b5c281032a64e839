"""A sender cancelled in the very step its answer arrives, or its link dies (asyncio).

On asyncio, cancelling a task cancels the future it awaits at once, but the task itself runs
later: in between, the reader may still find that future in its tables. These tests build
that instant on purpose, with a scripted transport (the ``transport_factory`` seam) whose
bytes and failures the test hands over synchronously, and show that the client neither
crashes (setting a result on a cancelled future raises InvalidStateError) nor loses track.
"""

from __future__ import annotations

import logging

import anyio
import pytest

import ami_client
from ami_client import Action, ConnectionLost, ConnectionState, Message, ReconnectPolicy

from .scripted import ScriptedTransport, answer_id, connected, sent

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["asyncio"])]


async def test_an_answer_arriving_as_its_sender_is_cancelled_is_dropped_safely(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ami_client")
    transport = ScriptedTransport()
    with anyio.fail_after(5):
        async with await connected(transport) as ami:
            outcome: list[str] = []
            scope = anyio.CancelScope()

            async def add_filter() -> None:
                with scope:
                    await ami.add_filter("Event: Hangup")  # a waiter in the correlator
                    outcome.append("answered")
                outcome.append("cancelled" if scope.cancelled_caught else "?")

            async with anyio.create_task_group() as tg:
                tg.start_soon(add_filter)
                action = await sent(transport, "Filter")
                # One synchronous step: the sender is cancelled, then its answer is read.
                scope.cancel()
                assert transport.receiver is not None
                transport.receiver(b"Response: Success\r\nActionID: %s\r\n\r\n" % answer_id(action))
            assert outcome == ["cancelled"]
            # Nothing is left waiting, the answer was matched (not a late one), the link lives.
            stats = ami.statistics()
            assert (stats.pending_actions, stats.late_responses) == (0, 0)
            assert ami.state is ConnectionState.CONNECTED
            transport.push(b"Response: Success\r\nActionID: p-1\r\nPing: Pong\r\n\r\n")
            # (push only wakes the reader: it reads the answer after send() registered it)
            ping = Action("Ping", ActionID="p-1")
            with anyio.fail_after(1):
                assert (await ami.send(ping))["Ping"] == "Pong"
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_link_dying_as_a_sender_is_cancelled_fails_the_rest_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ami_client")
    transport = ScriptedTransport()
    with anyio.fail_after(5):
        ami = await connected(transport)
        async with ami:
            outcome: dict[str, str] = {}
            scope = anyio.CancelScope()

            async def ping(name: str, scope: anyio.CancelScope) -> None:
                with scope:
                    try:
                        await ami.send(Action("Ping", ActionID=name))  # bare futures
                    except ConnectionLost:
                        outcome[name] = "ConnectionLost"
                        return
                outcome[name] = "cancelled" if scope.cancelled_caught else "answered"

            async with anyio.create_task_group() as tg:
                tg.start_soon(ping, "one", scope)
                tg.start_soon(ping, "two", anyio.CancelScope())
                await sent(transport, "Ping")
                while len([a for a in transport.actions if a["Action"] == "Ping"]) < 2:  # noqa: ASYNC110
                    await anyio.sleep(0.001)
                # One synchronous step: the link fails (the reader runs first), then one
                # sender is cancelled before the reader fails what is in flight.
                transport.fail(ConnectionLost("link reset"))
                scope.cancel()
            assert outcome == {"one": "cancelled", "two": "ConnectionLost"}
            assert ami.state is ConnectionState.CLOSED
            with pytest.raises(ConnectionLost, match="link reset"):
                await ami.send(Action("Ping"))
        # No internal error: the reader failed the link as any other loss.
        assert not [r for r in caplog.records if "internal error" in r.getMessage()]


async def test_bytes_that_arrive_after_the_link_failed_are_ignored() -> None:
    # The write side failed; until the reader task is stopped, the transport may still hand
    # over bytes. Nothing is waited for on that link any more: they are not parsed (garbage
    # raises nothing), not counted as late answers, and not handed to subscribers.
    transport = ScriptedTransport()
    with anyio.fail_after(5):
        async with await connected(transport) as ami, ami.subscribe() as events:
            transport.send_error = ConnectionLost("write failed: broken pipe")
            with pytest.raises(ConnectionLost, match="broken pipe"):
                await ami.send(Action("Ping", ActionID="p-1"))
            # (This task runs before the supervisor stops the reader: its receiver is still
            # attached.)
            assert transport.receiver is not None
            answer = b"Response: Success\r\nActionID: p-1\r\n\r\n"
            transport.receiver(answer + b"Event: Hangup\r\n\r\n\x00garbage\r\n\r\n")
            stats = ami.statistics()
            assert (stats.late_responses, stats.events_received) == (0, 0)
            assert ami.state is ConnectionState.CLOSED
            assert events.statistics().delivered == 0
            with pytest.raises(ConnectionLost, match="broken pipe"):  # the end, nothing before
                await events.receive()


async def test_a_link_dying_right_after_answering_a_re_applied_setting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # After a reconnect the client re-applies Events, then Filter. The new link answers
    # Events and dies in the same step, before the re-applying task resumes: the Filter must
    # not be queued on the dead link (a typed error, logged), and the next link gets both.
    caplog.set_level(logging.WARNING, logger="ami_client.client")
    transports: list[ScriptedTransport] = []

    def succeed(transport: ScriptedTransport, action: Message) -> None:
        if action["Action"] == "Drop":
            transport.fail(ConnectionLost("dropped"))
        else:
            transport.push(b"Response: Success\r\nActionID: %s\r\n\r\n" % answer_id(action))

    def answer_then_die(transport: ScriptedTransport, action: Message) -> None:
        assert transport.receiver is not None
        transport.receiver(b"Response: Success\r\nActionID: %s\r\n\r\n" % answer_id(action))
        raise ConnectionLost("reset right after answering")

    async def factory() -> ScriptedTransport:
        transport = ScriptedTransport()
        transport.on_action = answer_then_die if len(transports) == 1 else succeed
        transports.append(transport)
        return transport

    client = ami_client.connect(
        username="admin",
        secret="x",
        keepalive=None,
        reconnect=ReconnectPolicy(initial_delay=0.01, max_delay=0.01),
        transport_factory=factory,
    )
    with anyio.fail_after(5):
        async with client as ami, ami.watch_state() as states:
            await ami.events_mask(["call"])
            await ami.add_filter("Event: Hangup")
            with pytest.raises(ConnectionLost, match="dropped"):
                await ami.send(Action("Drop"))
            async for state in states:
                if state is ConnectionState.CONNECTED:
                    break
            assert ami.statistics().reconnects == 1
    names = [[a["Action"] for a in t.actions] for t in transports]
    assert names[1] == ["Login", "Events"]  # no Filter on the dead link
    assert names[2][:3] == ["Login", "Events", "Filter"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("could not re-apply" in m and "Filter" in m for m in messages), messages
