"""A server that misbehaves gets a typed error, never a hang; what it sends is never lost.

The login handshake's odd turns (no greeting, a Challenge refused or answered without a
challenge, the link closed half way, events before the answer), messages the client did not
ask for, and a transport that breaks in a way no library exception describes.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

import ami_client
from ami_client import (
    Action,
    AMIConnectionError,
    AuthenticationError,
    ConnectionLost,
    ConnectionState,
    RemoteProtocolError,
)
from ami_client._private.transport import StreamTransport

from .fakeserver import BANNER, SECRET, Peer, event, fake_server, response

pytestmark = pytest.mark.anyio


def client(port: int, **kwargs: object) -> ami_client.AMIClient:
    options: dict[str, object] = {"username": "admin", "secret": SECRET, "keepalive": None}
    options.update(kwargs)
    return ami_client.connect("127.0.0.1", port, **options)  # type: ignore[arg-type]


async def connect_fails(port: int, error: type[Exception], match: str, **kwargs: object) -> Any:
    ami = client(port, **kwargs)
    with anyio.fail_after(5), pytest.raises(error, match=match) as info:
        async with ami:
            pytest.fail("connected to a misbehaving server")
    assert ami.state is ConnectionState.CLOSED
    return info.value


# -- the login handshake ----------------------------------------------------------------------


async def test_a_first_line_that_is_not_the_greeting_is_a_remote_protocol_error() -> None:
    async def handler(peer: Peer) -> None:
        # An HTTP server on the AMI port, say.
        await peer.stream.send(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await anyio.sleep_forever()

    async with fake_server(handler) as (port, peers):
        await connect_fails(port, RemoteProtocolError, "greeting")
        # Nothing was sent to a server that did not greet as AMI: not even the user name.
        assert peers[0].received == []


async def test_a_server_that_closes_before_greeting_is_connection_lost() -> None:
    async def handler(peer: Peer) -> None:
        await peer.stream.aclose()

    async with fake_server(handler) as (port, _):
        await connect_fails(port, ConnectionLost, "before its greeting")


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_a_server_that_closes_during_login_is_connection_lost(auth: str) -> None:
    async def handler(peer: Peer) -> None:
        await peer.stream.send(BANNER)
        await peer.read_action()  # the Challenge or the Login, unanswered
        await peer.stream.aclose()

    what = "the MD5 challenge" if auth == "md5" else "login"
    async with fake_server(handler) as (port, _):
        await connect_fails(port, ConnectionLost, f"closed the connection during {what}", auth=auth)


@pytest.mark.parametrize(
    ("status", "fields", "match"),
    [
        # What Asterisk answers for an AuthType it does not know (manager.c action_challenge).
        ("Error", [("Message", "Must specify AuthType")], "refused the MD5 challenge: Must"),
        # A success without the challenge itself: nothing to hash, so no Login at all.
        ("Success", [], "refused the MD5 challenge"),
        ("Success", [("Challenge", "")], "refused the MD5 challenge"),
    ],
)
async def test_md5_challenge_refused_or_empty_is_an_authentication_error(
    status: str, fields: list[tuple[str, str]], match: str
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.stream.send(BANNER)
        challenge = await peer.read_action()
        await peer.reply(challenge, *fields, status=status)
        await peer.read_action()  # EOFError once the client gives up

    async with fake_server(handler) as (port, peers):
        await connect_fails(port, AuthenticationError, match, auth="md5")
        assert [m["Action"] for m in peers[0].received] == ["Challenge"]


async def test_messages_before_the_login_answer_are_dispatched_not_lost() -> None:
    async def handler(peer: Peer) -> None:
        await peer.stream.send(BANNER)
        login = await peer.read_action()
        # An event and a response for some other ActionID, then the answer to Login.
        await peer.send(
            event("UserEvent", ("UserEvent", "early")),
            response(ami_client.Message([("Action", "X"), ("ActionID", "stray")])),
            response(login, ("Message", "Authentication accepted")),
        )
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                stats = ami.statistics()
                assert stats.events_received == 1
                assert stats.late_responses == 1  # the stray response: for no action of ours
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


async def test_events_before_the_login_answer_reach_subscribers_after_a_reconnect() -> None:
    connections = 0

    async def handler(peer: Peer) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:
            await peer.login()
            await peer.read_action()  # the subscriber's signal: drop this link
            return
        await peer.stream.send(BANNER)
        login = await peer.read_action()
        await peer.send(
            event("UserEvent", ("UserEvent", "before-the-answer")),
            response(login, ("Message", "Authentication accepted")),
        )
        await peer.serve_forever()

    policy = ami_client.ReconnectPolicy(initial_delay=0.01, max_delay=0.01)
    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port, reconnect=policy) as ami, ami.subscribe("UserEvent") as events:
                with pytest.raises(ConnectionLost):
                    await ami.send(Action("Drop"))
                got = await events.receive()
                assert got["UserEvent"] == "before-the-answer"


# -- messages nobody asked for --------------------------------------------------------------


async def test_a_response_for_no_pending_action_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="ami_client.client")

    async def handler(peer: Peer) -> None:
        await peer.login()
        ping = await peer.read_action()
        stray = ami_client.Response([("Response", "Success"), ("ActionID", "nobody-42")])
        await peer.send(stray)
        await peer.reply(ping, ("Ping", "Pong"))
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami:
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
                assert ami.statistics().late_responses == 1
    logged = [r for r in caplog.records if "response for no pending action" in r.getMessage()]
    assert len(logged) == 1
    assert "nobody-42" in logged[0].getMessage()
    assert logged[0].levelno == logging.DEBUG


async def test_a_message_that_is_neither_response_nor_event_is_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ami_client.client")

    async def handler(peer: Peer) -> None:
        await peer.login()
        ping = await peer.read_action()
        shrug = f"Shrug: whatever\r\nActionID: {ping.action_id}\r\n\r\n"
        await peer.stream.send(shrug.encode())
        await peer.reply(ping, ("Ping", "Pong"))
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with client(port) as ami, ami.subscribe() as events:
                # Not taken for the Ping's answer (it carries its ActionID), not an event.
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
                assert ami.statistics().events_received == 0
                assert events.receive_nowait() is None
    logged = [r for r in caplog.records if "unexpected message from the server" in r.getMessage()]
    assert len(logged) == 1
    assert "Shrug" in logged[0].getMessage()


async def test_logoff_never_answered_still_closes_at_once() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        action = await peer.read_action()
        assert action["Action"] == "Logoff"
        await peer.stream.aclose()  # no Goodbye

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            ami = client(port)
            async with ami:
                pass
            assert ami.state is ConnectionState.CLOSED


# -- the client's own tasks ------------------------------------------------------------------


class _BrokenAfterLogin:
    """A custom transport (the transport_factory seam) whose receive raises a plain
    RuntimeError once logged in: a bug in a transport, not a network failure."""

    expects_banner = True

    def __init__(self, inner: StreamTransport) -> None:
        self.inner = inner
        self.reads = 0

    async def send(self, data: bytes) -> None:
        await self.inner.send(data)

    async def receive(self) -> bytes:
        self.reads += 1
        if self.reads > 2:  # the greeting, the login answer, then the bug
            await anyio.sleep(0.05)  # (a Ping is in flight by then)
            raise RuntimeError("transport bug")
        return await self.inner.receive()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_an_internal_error_in_a_task_is_logged_and_fails_the_link_typed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="ami_client.client")

    async def handler(peer: Peer) -> None:
        await peer.stream.send(BANNER)
        login = await peer.read_action()
        await peer.reply(login, ("Message", "Authentication accepted"))
        await anyio.sleep_forever()  # never answers the Ping

    async with fake_server(handler) as (port, _):
        transports: list[_BrokenAfterLogin] = []

        async def factory() -> _BrokenAfterLogin:
            stream = await anyio.connect_tcp("127.0.0.1", port)
            transports.append(_BrokenAfterLogin(StreamTransport(stream)))
            return transports[0]

        ami = ami_client.connect(
            username="admin", secret=SECRET, keepalive=None, transport_factory=factory
        )
        with anyio.fail_after(5):
            async with ami:
                with pytest.raises(ConnectionLost, match="RuntimeError") as info:
                    await ami.send(Action("Ping"))
                assert isinstance(info.value.__cause__, RuntimeError)
                assert ami.state is ConnectionState.CLOSED
                # Later calls say the same, typed, and do not wait.
                with pytest.raises(AMIConnectionError, match="transport bug"):
                    await ami.send(Action("Ping"))
    logged = [r for r in caplog.records if "internal error in the reader task" in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
