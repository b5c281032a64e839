"""What the client logs when its link dies: one line per loss, at the level of what follows.

A service that alerts on WARNING and ERROR lines must see one line for one lost connection
(reconnecting: WARNING; lost for good: ERROR, with the attempts if a policy gave up), not the
same reason twice. The moment the link fails is logged at DEBUG.
"""

from __future__ import annotations

import logging

import anyio
import anyio.abc
import pytest

import ami_client
from ami_client import Action, ConnectionState, ReconnectPolicy

from .fakeserver import Peer, connect_to, fake_server

pytestmark = pytest.mark.anyio

FAST = ReconnectPolicy(initial_delay=0.01, max_delay=0.01, jitter=0.0)


def loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def first_link_drops(peer: Peer) -> None:
    """Log in; close at `Drop`; answer the rest (on every connection)."""
    await peer.login()
    while True:
        action = await peer.read_action()
        if action["Action"] == "Drop":
            return
        if action["Action"] == "Logoff":
            await peer.reply(action, status="Goodbye")
            return
        await peer.reply(action)


async def test_a_link_lost_for_good_is_one_error_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ami_client")
    async with fake_server(first_link_drops) as (port, _peers):
        with anyio.fail_after(5):
            async with connect_to(port) as ami:
                with pytest.raises(ami_client.ConnectionLost):
                    await ami.send(Action("Drop"))
                assert ami.state is ConnectionState.CLOSED
    [record] = loud(caplog)
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        f"connection to 127.0.0.1:{port} lost for good: the server closed the connection"
    )
    # The failure itself is there for whoever asks for DEBUG, with what it failed.
    failed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("link failed")]
    assert failed == ["link failed: the server closed the connection (1 actions in flight)"]


async def test_a_reconnected_link_is_one_warning_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ami_client")
    async with fake_server(first_link_drops) as (port, peers):
        with anyio.fail_after(5):
            async with connect_to(port, reconnect=FAST) as ami, ami.watch_state() as states:
                with pytest.raises(ami_client.ConnectionLost):
                    await ami.send(Action("Drop"))
                async for state in states:
                    if state is ConnectionState.CONNECTED:
                        break
                assert (await ami.send(Action("Ping"))).status == "Success"
        assert len(peers) == 2
    [record] = loud(caplog)
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        f"connection to 127.0.0.1:{port} lost: the server closed the connection"
    )
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert f"reconnected to 127.0.0.1:{port} after 1 attempt(s)" in infos


async def test_giving_up_reconnecting_is_one_error_line_naming_the_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ami_client")
    multi = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    [listener] = multi.listeners  # (one socket: 127.0.0.1 only)
    assert isinstance(listener, anyio.abc.SocketListener)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 (anyio, not Django)

    async def serve_once() -> None:
        # One connection; at its Drop the server closes it and stops listening for good.
        async with multi, await listener.accept() as stream:
            peer = Peer(stream)
            await peer.login()
            await peer.read_action()

    policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.01, jitter=0.0, max_attempts=2)
    async with anyio.create_task_group() as tg:
        tg.start_soon(serve_once)
        with anyio.fail_after(5):
            async with connect_to(port, reconnect=policy) as ami, ami.watch_state() as states:
                with pytest.raises(ami_client.ConnectionLost):
                    await ami.send(Action("Drop"))
                async for _state in states:
                    pass  # until CLOSED ends the stream
                assert ami.state is ConnectionState.CLOSED
    messages = [(r.levelname, r.getMessage()) for r in loud(caplog)]
    assert messages[0] == (
        "WARNING",
        f"connection to 127.0.0.1:{port} lost: the server closed the connection",
    )
    assert [level for level, _ in messages[1:3]] == ["WARNING", "WARNING"]
    assert messages[1][1].startswith(f"reconnect attempt 1 to 127.0.0.1:{port} failed: ")
    assert messages[2][1].startswith(f"reconnect attempt 2 to 127.0.0.1:{port} failed: ")
    assert messages[3:] == [
        (
            "ERROR",
            f"connection to 127.0.0.1:{port} lost for good: the server closed the connection"
            " (gave up after 2 reconnect attempts)",
        )
    ]


async def test_a_first_connect_that_fails_logs_nothing_above_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The caller gets the error from connect(): a log line would only repeat it.
    caplog.set_level(logging.DEBUG, logger="ami_client")

    async def refuse(peer: Peer) -> None:
        await peer.login(secret="not-the-one-the-client-has")

    async with fake_server(refuse) as (port, _peers):
        with anyio.fail_after(5), pytest.raises(ami_client.AuthenticationError):
            async with connect_to(port):
                pass
    assert loud(caplog) == []
    assert caplog.records  # (the attempt itself is logged, at INFO)
