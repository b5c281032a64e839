"""AMI over HTTP when the server misbehaves or goes away: every failure is a typed error.

Broken HTTP comes from a raw loopback server writing exact bytes; broken AMI answers and a
vanished server from the fake ``/rawman`` (fakehttp.py). Nothing here may hang: each test runs
under a deadline.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import pytest

import ami_client
from ami_client import (
    Action,
    AMIConnectionError,
    ClientClosed,
    ConnectionLost,
    ConnectionState,
    LocalProtocolError,
)
from ami_client._private.http_request import HttpEndpoint, exchange, require_h11
from ami_client._private.http_transport import HttpTransport, http_transport_factory
from ami_client._private.serializer import serialize_action

from .fakehttp import SECRET, FakeRawman, Reply, Request, Session, message, serve_rawman

pytestmark = pytest.mark.anyio


# -- a server that writes exact bytes ------------------------------------------------------------


@asynccontextmanager
async def serve_bytes(answer: bytes, *, then_stall: bool = False) -> AsyncIterator[int]:
    """Answer every request on 127.0.0.1 with ``answer`` (raw bytes), then close.

    With ``then_stall`` the connection stays open after the answer, and silent.
    """

    async def one(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:  # the request's head; its small body follows it
                data += await stream.receive()
            await stream.send(answer)
            if then_stall:
                await anyio.sleep_forever()

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610
    async with listener, anyio.create_task_group() as tg:  # (serve() leaves it open)
        tg.start_soon(listener.serve, one)
        try:
            yield port
        finally:
            tg.cancel_scope.cancel()


async def post(port: int, **kwargs: Any) -> Any:
    endpoint = HttpEndpoint.from_url(f"http://127.0.0.1:{port}/")
    return await exchange(
        endpoint,
        b"Action=Ping",
        cookie=None,
        ssl_context=None,
        server_hostname=None,
        max_body=1 << 20,
        connected=True,
        **kwargs,
    )


def http_answer(*headers: bytes, body: bytes = b"Response: Success\r\n\r\n") -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body)
    return head + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",  # not HTTP at all
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",  # a bad header
        b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nResponse: Success\r\n",  # cut short
    ],
    ids=["not-http", "bad-length", "truncated-body"],
)
async def test_invalid_http_is_connection_lost(answer: bytes) -> None:
    async with serve_bytes(answer) as port:
        with anyio.fail_after(5), pytest.raises(ConnectionLost) as caught:
            await post(port)
    assert f"http://127.0.0.1:{port}/rawman answered invalid HTTP" in str(caught.value)
    assert caught.value.__cause__ is not None  # h11's own diagnosis is kept


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n",  # the head, then nothing
        b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nResponse: Success\r\n",  # mid-body
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nRespo\r\n",  # chunked
    ],
    ids=["after-head", "mid-body", "chunked"],
)
async def test_body_that_stalls_is_connection_lost(answer: bytes) -> None:
    async with serve_bytes(answer, then_stall=True) as port:
        started = anyio.current_time()
        with anyio.fail_after(5), pytest.raises(ConnectionLost) as caught:
            await post(port, body_timeout=0.3)
        took = anyio.current_time() - started
    assert f"http://127.0.0.1:{port}/rawman stopped sending its answer" in str(caught.value)
    assert "for 0.3 s" in str(caught.value)
    assert 0.3 <= took < 3


@pytest.mark.parametrize(
    ("headers", "cookie"),
    [
        # Another cookie first (a proxy's, a load balancer's): ours is still found.
        (
            (b"Set-Cookie: lb=node2; Path=/", b'Set-Cookie: mansession_id="5e55"; Max-Age=60'),
            "5e55",
        ),
        # An empty value is no session at all.
        ((b'Set-Cookie: mansession_id=""; Version=1',), None),
        ((b"Set-Cookie: lb=node2",), None),
    ],
    ids=["after-another-cookie", "empty", "only-another-cookie"],
)
async def test_session_cookie_among_others(headers: tuple[bytes, ...], cookie: str | None) -> None:
    async with serve_bytes(http_answer(*headers)) as port:
        with anyio.fail_after(5):
            reply = await post(port)
    assert (reply.status, reply.cookie, reply.body) == (200, cookie, b"Response: Success\r\n\r\n")


@pytest.mark.parametrize("prefix", ["ästerisk", "a\x7fb", "a\x00b", "a b"])
async def test_path_that_is_not_printable_ascii_is_refused_at_once(prefix: str) -> None:
    # It cannot be a request target (RFC 9112): refused where the URL is read, before any
    # connection, not as a ConnectionLost from the first request.
    async with serve_rawman() as server:
        with pytest.raises(ValueError, match="percent-encode"):
            ami_client.connect(f"{server.url}{prefix}/", username="admin", secret=SECRET)
        assert server.requests == []


async def test_session_cookie_goes_back_byte_for_byte() -> None:
    # A cookie of non-ASCII bytes (a proxy's rewrite, a server other than Asterisk) used to
    # fail every request after login with an untyped UnicodeEncodeError.
    async def login(request: Request, server: FakeRawman) -> Reply | None:
        if request.action != "login":
            return None
        session = Session("sé-5e55", authenticated=True)  # sent as UTF-8
        server.sessions[session.cookie] = session
        return Reply(
            message(("Response", "Success"), ("ActionID", request.get("ActionID") or "")),
            cookie=session.cookie,
        )

    async with serve_rawman() as server:
        server.override = login
        with anyio.fail_after(5):
            async with connect(server, events=False) as ami:
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
        assert [r.cookie for r in server.requests] == [None, "sé-5e55", "sé-5e55"]


async def test_missing_h11_is_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "h11", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'ami-client\[http\]'"):
        require_h11()
    with pytest.raises(ImportError, match="needs the h11 package"):
        http_transport_factory("http://127.0.0.1:8088/")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": True}, "max_connections"),
        ({"max_response_size": -1}, "max_response_size"),
        ({"max_response_size": 1.5}, "max_response_size"),
        ({"body_timeout": 0}, "body_timeout"),
        ({"body_timeout": True}, "body_timeout"),
        ({"body_timeout": float("nan")}, "body_timeout"),
        ({"body_timeout": 3601}, "body_timeout"),
    ],
)
def test_bad_numbers_are_refused(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must be "):
        http_transport_factory("http://127.0.0.1:8088/", **kwargs)


# -- broken AMI answers and a vanished server, through the client -----------------------------


def connect(server: FakeRawman, **kwargs: Any) -> ami_client.AMIClient:
    kwargs.setdefault("keepalive", None)
    kwargs.setdefault("connect_timeout", 5)
    return ami_client.connect(server.url, username="admin", secret=SECRET, **kwargs)


Override = Callable[[Request, FakeRawman], Awaitable[Reply | None]]


def on_poll(make: Callable[[Request], Reply]) -> Override:
    async def override(request: Request, server: FakeRawman) -> Reply | None:
        return make(request) if request.action == "waitevent" else None

    return override


def poll_id(request: Request) -> tuple[str, str]:
    return ("ActionID", request.get("ActionID") or "")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # A poll Asterisk refuses (the same session, so not an expired one).
        (
            lambda r: Reply(
                message(("Response", "Error"), poll_id(r), ("Message", "Permission denied")),
                cookie=r.cookie,
            ),
            "WaitEvent refused: Permission denied",
        ),
        # Its response without the WaitEventComplete that ends it.
        (
            lambda r: Reply(message(("Response", "Success"), poll_id(r)), cookie=r.cookie),
            "lacks its WaitEventComplete",
        ),
        # Blank lines where the response should be.
        (lambda r: Reply(b"\r\n\r\n", cookie=r.cookie), "expected one AMI message"),
    ],
    ids=["refused", "no-completion", "blank"],
)
async def test_broken_poll_answers_end_the_subscriptions(
    answer: Callable[[Request], Reply], expected: str
) -> None:
    async with serve_rawman() as server:
        server.override = on_poll(answer)
        with anyio.fail_after(5):
            async with connect(server) as ami, ami.subscribe() as events:
                with pytest.raises(ConnectionLost) as caught:
                    async for _ in events:
                        pass
                assert ami.state is ConnectionState.CLOSED
    assert expected in repr(caught.value) + repr(caught.value.__cause__)


async def test_blank_answer_to_an_action_fails_it() -> None:
    async def blank(request: Request, server: FakeRawman) -> Reply | None:
        return Reply(b"\r\n\r\n", cookie=request.cookie) if request.action == "ping" else None

    async with serve_rawman() as server:
        server.override = blank
        with anyio.fail_after(5):
            async with connect(server, events=False) as ami:
                with pytest.raises(ConnectionLost) as caught:
                    await ami.send(Action("Ping"))
    assert "RemoteProtocolError" in repr(caught.value) + repr(caught.value.__cause__)
    assert "expected one AMI message" in repr(caught.value) + repr(caught.value.__cause__)


async def test_answer_that_stalls_mid_body_fails_the_action_and_ends_the_session() -> None:
    async def stall(request: Request, server: FakeRawman) -> Reply | None:
        if request.action != "ping":
            return None
        body = message(("Response", "Success"), ("ActionID", request.get("ActionID") or ""))
        return Reply(body, cookie=request.cookie, stall_after=10)

    async with serve_rawman() as server:
        server.override = stall
        factory = http_transport_factory(server.url, body_timeout=0.3)
        with anyio.fail_after(5):
            async with connect(server, transport_factory=factory, events=False) as ami:
                with pytest.raises(ConnectionLost, match="stopped sending its answer"):
                    await ami.send(Action("Ping"))
                # As for a body cut short: the link is lost (a ReconnectPolicy logs in again).
                assert ami.state is ConnectionState.CLOSED


async def test_slow_head_has_no_body_deadline() -> None:
    # A synchronous Originate: Asterisk answers (head and body) only when the call is up.
    async def slow(request: Request, server: FakeRawman) -> Reply | None:
        if request.action == "ping":
            await anyio.sleep(0.8)
        return None

    async with serve_rawman() as server:
        server.override = slow
        factory = http_transport_factory(server.url, body_timeout=0.2)
        with anyio.fail_after(5):
            async with connect(server, transport_factory=factory, events=False) as ami:
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


async def test_server_gone_after_login_is_connection_lost() -> None:
    server = FakeRawman()
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    server.port = listener.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            serving, closed = anyio.CancelScope(), anyio.Event()

            async def serve() -> None:
                with serving:
                    await listener.serve(server.serve_one)
                await listener.aclose()  # the port refuses connections now
                closed.set()

            tg.start_soon(serve)
            async with connect(server, events=False) as ami:
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
                serving.cancel()
                await closed.wait()
                # Logged in, a refused connection means the link died (the reconnect
                # policy's cue), not that the server was never there.
                with pytest.raises(ConnectionLost, match="cannot connect"):
                    await ami.send(Action("Ping"))
                assert ami.state is ConnectionState.CLOSED


@pytest.mark.parametrize("mask", ["", None], ids=["empty-mask", "no-mask"])
async def test_events_action_without_a_mask_keeps_events_on(mask: str | None) -> None:
    # Asterisk 22 ignores an empty EventMask (manager.c, set_eventmask: strings_to_mask gives
    # -1): the session's events stay on, so the transport must keep polling.
    async with serve_rawman() as server:
        with anyio.fail_after(5):
            async with connect(server) as ami, ami.subscribe("UserEvent") as events:
                await ami.send(Action("Events", EventMask=mask))
                await ami.send(Action("UserEvent", UserEvent="still-here"))
                got = await events.receive()
    assert got["UserEvent"] == "still-here"


# -- the transport on its own: the seam a custom client drives ---------------------------------


async def open_transport(url: str, **kwargs: Any) -> HttpTransport:
    transport = await http_transport_factory(url, **kwargs)()
    assert isinstance(transport, HttpTransport)
    return transport


@asynccontextmanager
async def logged_in(server: FakeRawman, **kwargs: Any) -> AsyncIterator[HttpTransport]:
    transport = await open_transport(server.url, **kwargs)
    login = Action("Login", Username="admin", Secret=SECRET, Events="off")
    await transport.send(serialize_action(login, "login-1"))
    answer = await transport.receive()
    assert b"Authentication accepted" in answer
    try:
        yield transport
    finally:
        await transport.aclose()


async def test_transport_refuses_bytes_that_are_not_whole_actions() -> None:
    async with serve_rawman() as server:
        with anyio.fail_after(5):
            async with logged_in(server) as transport:
                with pytest.raises(LocalProtocolError, match="not an action"):
                    await transport.send(b"Event: Newchannel\r\n\r\n")
                with pytest.raises(LocalProtocolError, match="incomplete action"):
                    await transport.send(b"Action: Ping\r\nActionID: 2\r\n")
        assert server.actions() == ["login"]  # nothing of either was sent


async def test_transport_shows_its_session() -> None:
    async with serve_rawman() as server:
        transport = await open_transport(server.url)
        assert transport.session_id is None
        assert repr(transport) == f"<HttpTransport {server.url}rawman not logged in>"
        with anyio.fail_after(5):
            async with logged_in(server) as transport:
                assert transport.session_id in server.sessions
                assert repr(transport) == f"<HttpTransport {server.url}rawman logged in>"


async def test_transport_after_logoff_and_after_close() -> None:
    async with serve_rawman() as server:
        with anyio.fail_after(5):
            async with logged_in(server) as transport:
                await transport.send(serialize_action(Action("Logoff"), "bye-1"))
                assert b"Response: Goodbye" in await transport.receive()
                assert await transport.receive() == b""  # the end, as TCP's close
                with pytest.raises(ConnectionLost, match="HTTP session has ended"):
                    await transport.send(serialize_action(Action("Ping"), "p-1"))
                await transport.aclose()
                with pytest.raises(ClientClosed, match="HTTP transport is closed"):
                    await transport.send(serialize_action(Action("Ping"), "p-2"))
        assert server.actions() == ["login", "logoff"]


async def test_transport_runs_once_and_close_ends_the_run() -> None:
    async with serve_rawman() as server:
        with anyio.fail_after(5):
            async with logged_in(server) as transport:
                outcome: list[BaseException] = []

                async def run() -> None:
                    try:
                        await transport.run()
                    except Exception as exc:  # noqa: BLE001 - what run() ends with
                        outcome.append(exc)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(run)
                    await anyio.wait_all_tasks_blocked()
                    with pytest.raises(RuntimeError, match="only once"):
                        await transport.run()
                    await transport.aclose()
        assert len(outcome) == 1
        assert isinstance(outcome[0], ClientClosed)


async def test_transport_failure_is_raised_by_later_sends() -> None:
    async def hang_up(request: Request, server: FakeRawman) -> Reply | None:
        return Reply(hang_up=True) if request.action == "ping" else None

    async with serve_rawman() as server:
        server.override = hang_up
        with anyio.fail_after(5):
            async with logged_in(server) as transport:
                failures: list[BaseException] = []

                async def run() -> None:
                    try:
                        await transport.run()
                    except ConnectionLost as exc:  # how run() reports the link's failure
                        failures.append(exc)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(run)
                    await anyio.wait_all_tasks_blocked()  # running: sends go in background
                    await transport.send(serialize_action(Action("Ping"), "p-1"))
                assert "closed the connection" in str(failures[0])
                # The failure stays: later sends and receives report it, typed.
                with pytest.raises(ConnectionLost, match="closed the connection"):
                    await transport.send(serialize_action(Action("Ping"), "p-2"))
                with pytest.raises(ConnectionLost, match="closed the connection"):
                    await transport.receive()
        assert server.actions().count("ping") == 1


async def test_unreachable_server_before_login_is_not_connection_lost() -> None:
    async with serve_rawman() as server:
        url = server.url
    transport = await open_transport(url)
    with anyio.fail_after(5), pytest.raises(AMIConnectionError) as caught:
        await transport.send(serialize_action(Action("Login", Username="a", Secret="b"), "l"))
    # Never logged in: the server was not there, the link did not die.
    assert not isinstance(caught.value, ConnectionLost)


async def test_actions_queued_behind_a_failing_one_are_never_sent() -> None:
    async def first_fails(request: Request, server: FakeRawman) -> Reply | None:
        if request.action == "ping":
            await anyio.sleep(0.05)
            return Reply(hang_up=True)
        return None

    async with serve_rawman() as server:
        server.override = first_fails
        with anyio.fail_after(5):
            async with logged_in(server, max_connections=1) as transport:
                failures: list[BaseException] = []

                async def run() -> None:
                    try:
                        await transport.run()
                    except ConnectionLost as exc:
                        failures.append(exc)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(run)
                    await anyio.wait_all_tasks_blocked()
                    await transport.send(serialize_action(Action("Ping"), "p-1"))
                    # The only connection is taken: this one waits for it, and by then the
                    # link has failed -- it must not go out on a dead session.
                    with pytest.raises(ConnectionLost, match="closed the connection"):
                        await transport.send(serialize_action(Action("Ping"), "p-2"))
                assert len(failures) == 1
        assert [r.get("ActionID") for r in server.requests if r.action == "ping"] == ["p-1"]


async def test_answer_arriving_after_close_is_dropped() -> None:
    asked, arrived = anyio.Event(), anyio.Event()

    async def slow_login(request: Request, server: FakeRawman) -> Reply | None:
        if request.action == "login":
            asked.set()
            await anyio.sleep(0.05)
            arrived.set()
        return None

    async with serve_rawman() as server:
        server.override = slow_login
        transport = await open_transport(server.url)
        login = serialize_action(Action("Login", Username="admin", Secret=SECRET), "l-1")
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(transport.send, login)
                await asked.wait()
                await transport.aclose()  # while the login is on its way
            assert arrived.is_set()
            # Nothing is handed over after the close: the reader sees the end.
            assert await transport.receive() == b""
