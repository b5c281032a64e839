"""What a surprising AMI server does to the client, over real loopback sockets: answers that
match nothing or come twice, lists and Originates that break their own rules, awkward bytes,
and bytes the parser refuses arriving behind good ones. Each caller gets its answer or a typed
error at once, other actions in flight are unaffected unless the link is broken, and nothing
the server sent correctly is lost."""

from __future__ import annotations

import anyio
import pytest

import ami_client
from ami_client import (
    Action,
    ConnectionLost,
    ConnectionState,
    LimitExceeded,
    Message,
    RemoteProtocolError,
    Response,
)
from ami_client.protocol import serialize_message

from .fakeserver import BANNER, Peer, connect_to, event, fake_server, response

pytestmark = pytest.mark.anyio

# Limits small enough to break with a few bytes, and a message that breaks each.
SMALL = ami_client.Limits(max_line_length=200, max_message_size=1_000, max_fields=20)
TOO_BIG: dict[str, bytes] = {
    "max_fields": serialize_message(event("Big", *[(f"K{n}", "v") for n in range(30)])),
    "max_line_length": serialize_message(event("Big", ("Long", "x" * 300))),
    "max_message_size": serialize_message(event("Big", *[(f"K{n}", "y" * 100) for n in range(12)])),
}


def wire(*messages: Message) -> bytes:
    return b"".join(serialize_message(m) for m in messages)


# -- bytes the parser refuses, behind good ones in the same read ----------------------------


@pytest.mark.parametrize("limit", sorted(TOO_BIG))
async def test_a_bad_message_behind_good_ones_fails_the_link_at_once(limit: str) -> None:
    # One write: the answer to the first Ping, an event, then a message over a limit; then the
    # server waits. The good messages are handed out, then the link fails at once: the second
    # Ping must not wait for bytes that may never come.
    async def handler(peer: Peer) -> None:
        await peer.login()
        first = await peer.read_action()
        await peer.read_action()  # the second Ping, never answered
        good = wire(response(first, ("Ping", "Pong")), event("UserEvent", ("UserEvent", "ok")))
        await peer.stream.send(good + TOO_BIG[limit])
        await anyio.sleep_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with connect_to(port, limits=SMALL) as ami, ami.subscribe("UserEvent") as events:
                outcomes: dict[str, object] = {}

                async def ping(name: str) -> None:
                    try:
                        outcomes[name] = await ami.send(Action("Ping", ActionID=name))
                    except ConnectionLost as error:
                        outcomes[name] = error

                async with anyio.create_task_group() as tg:
                    tg.start_soon(ping, "first")
                    while ami.statistics().pending_actions < 1:  # noqa: ASYNC110
                        await anyio.sleep(0.001)
                    tg.start_soon(ping, "second")
                first, second = outcomes["first"], outcomes["second"]
                assert isinstance(first, Response)
                assert first["Ping"] == "Pong"
                assert isinstance(second, ConnectionLost)
                assert isinstance(second.__cause__, LimitExceeded)
                assert second.__cause__.limit == limit
                assert (await events.receive())["UserEvent"] == "ok"
                assert ami.state is ConnectionState.CLOSED


async def test_a_bad_line_behind_the_greeting_is_a_remote_protocol_error_at_once() -> None:
    async def handler(peer: Peer) -> None:
        await peer.stream.send(BANNER + TOO_BIG["max_line_length"])
        await anyio.sleep_forever()

    async with fake_server(handler) as (port, _):
        # Not a ConnectTimeout after connect_timeout: the error the parser found.
        with anyio.fail_after(5), pytest.raises(LimitExceeded, match="max_line_length") as caught:
            async with connect_to(port, limits=SMALL, connect_timeout=60):
                pytest.fail("connected to a server that sent a line over the limit")
        assert isinstance(caught.value, RemoteProtocolError)


async def test_a_bad_message_behind_the_login_answer_fails_the_link_at_once() -> None:
    async def handler(peer: Peer) -> None:
        await peer.stream.send(BANNER)
        login = await peer.read_action()
        answer = response(login, ("Message", "Authentication accepted"))
        booted = event("FullyBooted", ("Status", "Fully Booted"))
        await peer.stream.send(wire(answer, booted) + TOO_BIG["max_fields"])
        await anyio.sleep_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with connect_to(port, limits=SMALL, connect_timeout=60) as ami:
                with pytest.raises(ConnectionLost) as caught:
                    await ami.send(Action("Ping"))
                assert isinstance(caught.value.__cause__, LimitExceeded)
                assert ami.statistics().events_received == 1  # FullyBooted, before the error


# -- an async Originate answered twice --------------------------------------------------------


@pytest.mark.parametrize("response_first", [True, False])
async def test_of_two_originate_responses_the_first_is_the_result(response_first: bool) -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        originate = await peer.read_action()
        aid = ("ActionID", originate.action_id or "")
        ack = response(originate, ("Message", "Originate successfully queued"))
        answered = event("OriginateResponse", aid, ("Response", "Success"), ("Reason", "4"))
        busy = event("OriginateResponse", aid, ("Response", "Failure"), ("Reason", "5"))
        await peer.send(*((ack, answered, busy) if response_first else (answered, busy, ack)))
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with connect_to(port) as ami, ami.subscribe("OriginateResponse") as events:
                originate = Action("Originate", Channel="Local/1@x", Application="Wait")
                result = await ami.originate(originate)
                assert (result.success, result.reason) == (True, 4)
                await ami.send(Action("Ping"))
                # Both reached the subscriber: nothing the server sent is lost.
                assert [(await events.receive())["Reason"] for _ in range(2)] == ["4", "5"]
                assert ami.statistics().pending_actions == 0


# -- a greeting sent again ------------------------------------------------------------------


async def test_a_greeting_sent_twice_before_the_login_answer_still_logs_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.stream.send(BANNER + BANNER)
        await peer.login()  # (greets a third time, then answers the Login)
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        # Not a ConnectTimeout: the login's answer sits behind the repeated greeting.
        with anyio.fail_after(5):
            async with connect_to(port, connect_timeout=60) as ami:
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
    assert any("greeted again" in r.getMessage() for r in caplog.records)


async def test_a_greeting_sent_again_mid_session_loses_no_answer_nor_event() -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        ping = await peer.read_action()
        first = wire(event("UserEvent", ("UserEvent", "1")))
        # Bytes that are not UTF-8 in a value: their exact bytes survive too.
        second = b"Event: UserEvent\r\nUserEvent: 2\r\nName: caf\xe9\r\n\r\n"
        answer = wire(response(ping, ("Ping", "Pong")), event("UserEvent", ("UserEvent", "3")))
        # In one write: an event; the greeting, then an event; the greeting, then the answer.
        await peer.stream.send(first + BANNER + second + BANNER + answer)
        await peer.serve_forever()

    async with fake_server(handler) as (port, _):
        with anyio.fail_after(5):
            async with connect_to(port) as ami, ami.subscribe("UserEvent") as events:
                assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
                got = [await events.receive() for _ in range(3)]
                assert [e["UserEvent"] for e in got] == ["1", "2", "3"]
                assert got[1].message.get_raw("Name") == b"caf\xe9"
                assert got[1].message.fields[0] == ("Event", "UserEvent")
                assert ami.statistics().events_received == 3
