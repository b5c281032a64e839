"""AMI over HTTP against a fake ``/rawman`` on loopback: the paths a real server rarely takes."""

from __future__ import annotations

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
    Event,
    ReconnectPolicy,
)
from ami_client._private import http_transport
from ami_client._private.http_transport import http_transport_factory

from .fakehttp import SECRET, FakeRawman, Reply, Request, message, serve_rawman

pytestmark = pytest.mark.anyio

FAST = ReconnectPolicy(initial_delay=0.05, max_delay=0.1, jitter=0.0)


def connect(server: FakeRawman, **kwargs: Any) -> ami_client.AMIClient:
    kwargs.setdefault("keepalive", None)
    kwargs.setdefault("connect_timeout", 5)
    return ami_client.connect(server.url, username="admin", secret=SECRET, **kwargs)


async def wait_until(predicate: Any, seconds: float = 5.0) -> None:
    with anyio.fail_after(seconds):
        while not predicate():  # noqa: ASYNC110 - polls the fake server's records
            await anyio.sleep(0.01)


async def test_login_ping_logoff_carry_the_session_cookie() -> None:
    async with serve_rawman() as server:
        with anyio.fail_after(10):
            async with connect(server, events=False) as ami:
                assert repr(ami).startswith("<AMIClient admin@127.0.0.1:")
                pong = await ami.send(Action("Ping"))
                assert pong["Ping"] == "Pong"
            assert ami.state is ConnectionState.CLOSED
        login, ping, logoff = server.requests
        assert [login.action, ping.action, logoff.action] == ["login", "ping", "logoff"]
        assert {r.method for r in server.requests} == {"POST"}
        assert {r.target for r in server.requests} == {"/rawman"}
        assert login.cookie is None
        assert ping.cookie is not None
        assert ping.cookie == logoff.cookie
        assert login.get("Secret") == SECRET
        assert login.get("Events") == "off"


async def test_bad_secret_is_an_authentication_error() -> None:
    async with serve_rawman() as server:
        with anyio.fail_after(10), pytest.raises(AuthenticationError, match="failed"):
            async with ami_client.connect(server.url, username="admin", secret="nope"):
                pytest.fail("logged in with a wrong secret")


async def test_values_arrive_intact() -> None:
    tricky = "a+b&c=d%20 é\tz; mansession_id=x"
    async with serve_rawman() as server:
        with anyio.fail_after(10):
            async with connect(server, events=False) as ami:
                await ami.send(Action("UserEvent", UserEvent="T", Value=tricky, Other=""))
        (sent,) = [r for r in server.requests if r.action == "userevent"]
        assert sent.get("Value") == tricky
        assert sent.get("Other") == ""


async def test_events_come_through_the_long_poll_without_its_own_messages() -> None:
    async with serve_rawman() as server:
        with anyio.fail_after(10):
            async with connect(server) as ami, ami.subscribe(Event) as everything:
                await wait_until(lambda: "waitevent" in server.actions())
                await ami.send(Action("UserEvent", UserEvent="One"))
                server.queue_event(("Event", "Newchannel"), ("Channel", "Local/x"))
                names = []
                async for event in everything:
                    names.append(event.name)
                    if len(names) == 2:
                        break
        # Neither WaitEvent's response nor its WaitEventComplete reaches the application.
        assert names == ["UserEvent", "Newchannel"]
        assert ami.statistics().late_responses == 0


async def test_events_off_means_no_polling() -> None:
    # Asterisk 22's WaitEvent switches a session's events back on, so it must not be sent.
    async with serve_rawman() as server:
        with anyio.fail_after(10):
            async with connect(server, events=False) as ami:
                await ami.send(Action("Ping"))
                await anyio.sleep(0.2)
                assert "waitevent" not in server.actions()
                await ami.events_mask(True)
                await wait_until(lambda: "waitevent" in server.actions())


async def test_lost_session_is_connection_lost_then_relogin() -> None:
    async with serve_rawman() as server:
        with anyio.fail_after(10):
            async with connect(server, reconnect=FAST) as ami, ami.watch_state() as states:
                await wait_until(lambda: "waitevent" in server.actions())
                server.forget_sessions()  # httptimeout passed, or Asterisk restarted
                seen = []
                async for state in states:
                    seen.append(state)
                    if state is ConnectionState.CONNECTED and len(seen) > 1:
                        break
                assert ConnectionState.RECONNECTING in seen
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
                assert ami.statistics().reconnects == 1
        assert server.actions().count("login") == 2


async def test_lost_session_without_reconnect_fails_the_next_action() -> None:
    async with serve_rawman() as server:
        with anyio.fail_after(10):
            async with connect(server, events=False) as ami:
                await ami.send(Action("Ping"))
                server.forget_sessions()
                with pytest.raises(ConnectionLost, match="HTTP session ended"):
                    await ami.send(Action("Ping"))
                assert ami.state is ConnectionState.CLOSED


async def test_http_404_at_login_names_the_setting() -> None:
    async def not_found(request: Request, server: FakeRawman) -> Reply:
        return Reply(b"<html>404</html>", status=404)

    async with serve_rawman() as server:
        server.override = not_found
        with anyio.fail_after(10), pytest.raises(AMIConnectionError, match=r"404.*webenabled"):
            async with connect(server):
                pytest.fail("connected to a server without /rawman")


async def test_connection_refused_at_connect() -> None:
    async with serve_rawman() as server:
        url = server.url
    with anyio.fail_after(10), pytest.raises(AMIConnectionError, match="cannot connect"):
        async with ami_client.connect(url, username="admin", secret=SECRET):
            pytest.fail("connected to a closed port")


@pytest.mark.parametrize("failure", ["hang_up", "status_500", "no_response", "too_big"])
async def test_broken_answers_end_the_link(failure: str) -> None:
    async def broken(request: Request, server: FakeRawman) -> Reply | None:
        if request.action != "ping":
            return None
        cookie = request.cookie
        if failure == "hang_up":
            return Reply(hang_up=True)
        if failure == "status_500":
            return Reply(b"oops", status=500, cookie=cookie)
        if failure == "no_response":  # a body without an answer would leave the action hanging
            return Reply(message(("Event", "Stray")), cookie=cookie)
        return Reply(message(("Response", "Success"), ("X", "y" * 5000)), cookie=cookie)

    async with serve_rawman() as server:
        server.override = broken
        factory = http_transport_factory(server.url, max_response_size=1000)
        with anyio.fail_after(10):
            async with ami_client.connect(
                username="admin", secret=SECRET, keepalive=None, transport_factory=factory
            ) as ami:
                with pytest.raises(ConnectionLost) as caught:
                    await ami.send(Action("Ping"))
                assert ami.state is ConnectionState.CLOSED
        reason = repr(caught.value) + repr(caught.value.__cause__)
        expected = {
            "hang_up": "closed the connection",
            "status_500": "HTTP 500",
            "no_response": "was answered by",
            "too_big": "max_response_size",
        }[failure]
        assert expected in reason


async def test_a_poll_that_never_answers_ends_the_link(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_transport, "POLL_GRACE", 0.3)

    async def stuck(request: Request, server: FakeRawman) -> Reply | None:
        if request.action == "waitevent":
            await anyio.sleep_forever()
        return None

    async with serve_rawman() as server:
        server.override = stuck
        factory = http_transport_factory(server.url, poll_timeout=1)
        with anyio.fail_after(10):
            async with (
                ami_client.connect(
                    username="admin", secret=SECRET, keepalive=None, transport_factory=factory
                ) as ami,
                ami.subscribe() as events,
            ):
                with pytest.raises(ConnectionLost, match=r"WaitEvent within 1\.3 s"):
                    async for _ in events:
                        pass


async def test_actions_in_flight_are_bounded_and_all_answered() -> None:
    active = peak = 0

    async def slow(request: Request, server: FakeRawman) -> Reply | None:
        nonlocal active, peak
        if request.action != "ping":
            return None
        active += 1
        peak = max(peak, active)
        await anyio.sleep(0.05)
        active -= 1
        return None

    async with serve_rawman() as server:
        server.override = slow
        factory = http_transport_factory(server.url, max_connections=2)
        answers: list[str] = []
        with anyio.fail_after(10):
            async with ami_client.connect(
                username="admin", secret=SECRET, keepalive=None, transport_factory=factory
            ) as ami:

                async def ping() -> None:
                    answers.append((await ami.send(Action("Ping")))["Ping"])

                async with anyio.create_task_group() as tg:
                    for _ in range(7):
                        tg.start_soon(ping)
        assert answers == ["Pong"] * 7
        assert peak == 2


async def test_close_during_a_poll_is_prompt() -> None:
    async with serve_rawman() as server:
        with anyio.fail_after(5):
            async with connect(server) as ami:
                await wait_until(lambda: server.active > 0)  # the WaitEvent is waiting
            assert ami.state is ConnectionState.CLOSED
        assert server.actions()[-1] == "logoff"


async def test_cancelled_action_leaves_the_link_usable() -> None:
    async def slow_first_ping(request: Request, server: FakeRawman) -> Reply | None:
        if request.action == "ping" and request.get("Slow") == "yes":
            await anyio.sleep(0.3)
        return None

    async with serve_rawman() as server:
        server.override = slow_first_ping
        with anyio.fail_after(10):
            async with connect(server, events=False) as ami:
                with anyio.move_on_after(0.05) as scope:
                    await ami.send(Action("Ping", Slow="yes"))
                assert scope.cancelled_caught
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
                # The cancelled action's answer still comes, and is dropped as late.
                await wait_until(lambda: ami.statistics().late_responses == 1)


async def test_events_queued_while_off_are_not_delivered_when_turned_on() -> None:
    # Over TCP Asterisk skips a session's events while they are off; over HTTP they wait in
    # its queue (nothing polls), and the first poll after `Events: on` used to hand them over.
    async with serve_rawman() as server:
        with anyio.fail_after(10):
            async with connect(server, events=False) as ami, ami.subscribe("UserEvent") as events:
                await ami.send(Action("UserEvent", UserEvent="WhileOff"))
                server.queue_event(("Event", "UserEvent"), ("UserEvent", "AlsoWhileOff"))
                await ami.events_mask(True)
                await ami.send(Action("UserEvent", UserEvent="AfterOn"))
                got = await events.receive()
        assert got["UserEvent"] == "AfterOn"
        # One WaitEvent that waits for nothing, just before the Events action.
        events_at = server.actions().index("events")
        drain = server.requests[events_at - 1]
        assert (drain.action, drain.get("Timeout")) == ("waitevent", "0")


async def test_a_poll_that_waits_out_its_timeout_does_not_end_the_link() -> None:
    # An idle PBX: the poll waits its whole Timeout and brings nothing. The pause kept after
    # an empty poll was computed as a negative sleep then, which anyio refuses (ValueError):
    # the link ended at the first idle poll.
    async with serve_rawman() as server:
        factory = http_transport_factory(server.url, poll_timeout=1)
        with anyio.fail_after(10):
            async with ami_client.connect(
                username="admin", secret=SECRET, keepalive=None, transport_factory=factory
            ) as ami:
                await wait_until(lambda: server.actions().count("waitevent") >= 3, 5)
                assert ami.state is ConnectionState.CONNECTED
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"


async def _send_a_late_poll(server: FakeRawman, ami: Any, events: Any) -> None:
    """Have the client's next poll read by the server 0.3 s late, and return once it is on
    its way (the one before it answered with an event ``Before``)."""
    late = [0.3]

    async def slow_poll(request: Request, server: FakeRawman) -> Reply | None:
        if request.action == "waitevent" and request.get("Timeout") != "0" and late:
            await anyio.sleep(late.pop())
        return None  # then as usual

    await wait_until(lambda: "waitevent" in server.actions())
    server.override = slow_poll
    await ami.send(Action("UserEvent", UserEvent="Before"))
    assert (await events.receive())["UserEvent"] == "Before"
    await wait_until(lambda: not late)


async def test_a_poll_that_reaches_the_server_late_does_not_turn_events_back_on() -> None:
    # Asterisk's WaitEvent turns a session's events back on when they are off. The poll in
    # flight as `Events: off` is sent travels on its own connection: here the server reads it
    # 0.3 s late, after the Events action. It used to turn events on again for good, and the
    # events from after the switch kept coming (against the real Asterisk: 1 run in 3).
    async with serve_rawman() as server:
        with anyio.fail_after(10):
            async with connect(server) as ami, ami.subscribe("UserEvent") as events:
                await _send_a_late_poll(server, ami, events)
                polls = server.actions().count("waitevent")
                await ami.events_mask(False)
                # Polls were sent to take over from the late one (Timeout 0), and the Events
                # action went only once it had been answered.
                assert server.actions().count("waitevent") > polls
                await ami.send(Action("UserEvent", UserEvent="WhileOff"))
                await anyio.sleep(0.5)
                await ami.events_mask(True)
                await ami.send(Action("UserEvent", UserEvent="AfterOn"))
                got = await events.receive()
                assert ami.state is ConnectionState.CONNECTED
        assert got["UserEvent"] == "AfterOn"


async def test_events_from_before_the_switch_off_are_kept_in_order() -> None:
    # The polls sent to take over from the one in flight (see the test above) take the events
    # queued before the switch: they are handed on, in order, not dropped.
    async with serve_rawman() as server:
        with anyio.fail_after(10):
            async with connect(server) as ami, ami.subscribe("UserEvent") as events:
                await _send_a_late_poll(server, ami, events)
                for n in range(3):  # queued while the late poll is on its way
                    server.queue_event(("Event", "UserEvent"), ("UserEvent", f"Queued{n}"))
                await ami.events_mask(False)
                got = [(await events.receive())["UserEvent"] for _ in range(3)]
        assert got == ["Queued0", "Queued1", "Queued2"]


async def test_events_queued_while_off_beyond_the_size_limit_do_not_end_the_link() -> None:
    # Asterisk takes them off the session's queue before answering: a body too big to read
    # is as good as read, since all of it is dropped.
    async with serve_rawman() as server:
        factory = http_transport_factory(server.url, max_response_size=2000)
        with anyio.fail_after(10):
            async with (
                ami_client.connect(
                    username="admin",
                    secret=SECRET,
                    keepalive=None,
                    events=False,
                    transport_factory=factory,
                ) as ami,
                ami.subscribe("UserEvent") as events,
            ):
                for n in range(100):
                    server.queue_event(("Event", "UserEvent"), ("UserEvent", f"WhileOff{n}"))
                await ami.events_mask(True)
                await ami.send(Action("UserEvent", UserEvent="AfterOn"))
                got = await events.receive()
                assert ami.state is ConnectionState.CONNECTED
        assert got["UserEvent"] == "AfterOn"


async def test_login_without_a_session_cookie_is_refused_at_connect() -> None:
    # A proxy that drops Set-Cookie: every request after the login would be a new session to
    # Asterisk, and the first action used to fail as if the session had expired.
    async def no_cookie(request: Request, server: FakeRawman) -> Reply | None:
        if request.action != "login":
            return None
        session = server.new_session()
        session.authenticated = True
        aid = ("ActionID", request.get("ActionID") or "")
        return Reply(message(("Response", "Success"), aid, ("Message", "Authentication accepted")))

    async with serve_rawman() as server:
        server.override = no_cookie
        with (
            anyio.fail_after(10),
            pytest.raises(AMIConnectionError, match="set no mansession_id cookie") as caught,
        ):
            async with connect(server):
                pytest.fail("logged in without a session cookie")
        assert not isinstance(caught.value, ConnectionLost)
        assert server.actions() == ["login"]


@pytest.mark.parametrize("answer", ["at-once", "abandoned"])
async def test_a_poll_answered_at_once_does_not_spin(answer: str) -> None:
    # Asterisk caps a WaitEvent at the session's remaining lifetime minus 10 s: with
    # httptimeout <= 10 it answers at once, events or not; and it answers an empty body to a
    # poll another WaitEvent of the session took over. Re-polling at once, a request each
    # time, used to spin at a thousand requests a second.
    async def at_once(request: Request, server: FakeRawman) -> Reply | None:
        if request.action != "waitevent":
            return None
        if answer == "abandoned":
            return Reply(b"", cookie=request.cookie)
        session = server.sessions[request.cookie or ""]
        events, session.events = session.events, []
        aid = ("ActionID", request.get("ActionID") or "")
        body = message(("Response", "Success"), aid, ("Message", "Waiting for Event completed."))
        body += b"".join(events) + message(("Event", "WaitEventComplete"), aid)
        return Reply(body, cookie=session.cookie)

    async with serve_rawman() as server:
        server.override = at_once
        with anyio.fail_after(10):
            async with connect(server) as ami, ami.subscribe("UserEvent") as events:
                await anyio.sleep(1)
                polls = server.actions().count("waitevent")
                assert 1 <= polls <= 1 / http_transport.IDLE_POLL_GAP + 2
                if answer == "at-once":  # events still come, in the next poll
                    await ami.send(Action("UserEvent", UserEvent="Soon"))
                    with anyio.fail_after(1):
                        assert (await events.receive())["UserEvent"] == "Soon"
