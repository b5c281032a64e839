"""The Simulator's own API: construction, lifetime errors, waiting helpers, scripting rules,
and what happens with a session's unparsable input or a message without ``Action``."""

from __future__ import annotations

import socket

import anyio
import anyio.lowlevel
import pytest

from ami_client.protocol import Event, LimitExceeded, Response
from ami_client.testing import Simulator, User
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio


async def _connect(sim: Simulator, login: bool = True) -> Driver:
    d = Driver(sim.connect_memory())
    await d.read_banner()
    if login:
        await d.login()
    return d


async def test_users_may_be_given_as_a_list() -> None:
    async with Simulator(users=[User(username="solo", secret="s3")]) as sim:
        assert list(sim.users) == ["solo"]
        d = await _connect(sim, login=False)
        assert (await d.login("solo", "s3"))["Message"] == "Authentication accepted"
        assert (await d.login("admin", "ami-admin-secret"))["Message"] == "Already authenticated"
        await d.aclose()
        d2 = await _connect(sim, login=False)
        with anyio.fail_after(5):
            assert (await d2.login())["Message"] == "Authentication failed"
        await d2.aclose()


async def test_users_may_be_given_as_a_mapping() -> None:
    solo = User(username="solo", secret="s3")
    async with Simulator(users={"solo": solo}) as sim:
        assert sim.users == {"solo": solo}


async def test_used_outside_its_block() -> None:
    sim = Simulator()
    with pytest.raises(RuntimeError, match="async with Simulator"):
        sim.connect_memory()
    with pytest.raises(RuntimeError, match="async with Simulator"):
        sim.spawn(anyio.lowlevel.checkpoint)
    async with sim:
        with pytest.raises(RuntimeError, match="not listening"):
            _ = sim.address
        host, port = await sim.listen()
        assert sim.address == (host, port) == ("127.0.0.1", port)


async def test_wait_helpers_wait() -> None:
    async with Simulator() as sim:
        checked = anyio.Event()

        async def client() -> None:
            await anyio.sleep(0.05)
            d = await _connect(sim)
            await d.call("Ping")
            await checked.wait()
            await d.aclose()

        async with anyio.create_task_group() as tg:
            tg.start_soon(client)
            with anyio.fail_after(5):
                ping = await sim.wait_for_action("ping")  # before the client connects
                await sim.wait_for_sessions(1)
                assert sim.sessions[0].username == "admin"
                assert "admin" in repr(sim.sessions[0])
            checked.set()
        assert ping["Action"] == "Ping"
        assert [a["Action"] for a in sim.actions()] == ["Login", "Ping"]


async def test_message_without_action() -> None:
    # Asterisk 22 answers "Missing action in request", and keeps the session.
    async with Simulator() as sim:
        d = await _connect(sim)
        await d.stream.send(b"ActionID: no-action\r\nFoo: bar\r\n\r\n")
        with anyio.fail_after(5):
            r = await d.until(lambda m: isinstance(m, Response))
        assert isinstance(r, Response)
        assert (r.status, r["Message"], r.action_id) == (
            "Error",
            "Missing action in request",
            "no-action",
        )
        assert (await d.call("Ping"))["Ping"] == "Pong"
        await d.aclose()


async def test_rules_apply_to_their_action_only() -> None:
    async with Simulator() as sim:
        d = await _connect(sim)
        sim.drop_next_response("Status")
        sim.fail_next_action("CoreShowChannels", "nope")
        assert (await d.call("Ping"))["Ping"] == "Pong"  # neither rule is for Ping
        assert (await d.call("CoreShowChannels"))["Message"] == "nope"
        assert (await d.call("CoreShowChannels"))["Message"] != "nope"  # used up
        await d.aclose()


async def test_inject_event_to_one_session() -> None:
    async with Simulator() as sim:
        a, b = await _connect(sim), await _connect(sim)
        ev = Event([("Event", "Scripted"), ("Privilege", "user,all"), ("N", "1")])
        assert sim.inject_event(ev, session=sim.sessions[1]) is ev
        await a.call("Ping")
        await b.call("Ping")
        assert [e.name for e in a.events() if e.name == "Scripted"] == []
        assert [e["N"] for e in b.events("Scripted")] == ["1"]
        await a.aclose()
        await b.aclose()


async def test_unparsable_input_ends_that_session_only() -> None:
    async with Simulator() as sim:
        d = await _connect(sim)
        other = await _connect(sim)
        sid = sim.sessions[0].id
        await d.stream.send(b"Action: Ping\r\nX: " + b"y" * 70_000 + b"\r\n\r\n")
        with anyio.fail_after(5):
            while await d.next() is not None:
                pass
        [(bad_sid, exc)] = sim.protocol_errors
        assert bad_sid == sid
        assert isinstance(exc, LimitExceeded)
        assert (await other.call("Ping"))["Ping"] == "Pong"
        assert [s.id for s in sim.sessions] == [sid + 1]
        await d.aclose()
        await other.aclose()


async def test_a_client_breaking_a_limit_is_named_as_the_culprit() -> None:
    # The simulator parses what a client sends with the client's own Parser: its
    # LimitExceeded must blame the client, not "the server" (the client-side wording).
    async with Simulator() as sim:
        d = await Driver.tcp(*await sim.listen())
        await d.stream.send(b"Action: Ping\r\nX: " + b"y" * 70_000 + b"\r\n\r\n")
        with anyio.fail_after(5):
            while await d.next() is not None:
                pass
        await d.aclose()
        [(_, exc)] = sim.protocol_errors
        assert isinstance(exc, LimitExceeded)
        assert str(exc) == "client exceeded max_line_length=65536"
        assert (exc.limit, exc.value, exc.peer) == ("max_line_length", 65536, "client")


def test_limit_exceeded_blames_the_server_by_default() -> None:
    # What client users see is unchanged.
    exc = LimitExceeded("max_fields", 4)
    assert (str(exc), exc.peer) == ("server exceeded max_fields=4", "server")


async def test_nothing_is_written_after_logoff() -> None:
    async with Simulator() as sim:
        d = await _connect(sim)
        session = sim.sessions[0]
        # Logoff and a Ping in one write: the Ping is never answered.
        await d.stream.send(b"Action: Logoff\r\nActionID: bye\r\n\r\nAction: Ping\r\n\r\n")
        with anyio.fail_after(5):
            while await d.next() is not None:
                pass
        session.close()  # a second close changes nothing
        sim.send_garbage(b"late\r\n", session)  # dropped: the session is closed
        assert [m.action_id for m in d.received if isinstance(m, Response)] == ["t-1", "bye"]
        await d.aclose()


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
async def test_ipv6_addresses_in_security_events() -> None:
    async with Simulator() as sim:
        host, port = await sim.listen("::1")
        d = await Driver.tcp(host, port)
        await d.login()
        with anyio.fail_after(5):
            auth = await d.until(lambda m: isinstance(m, Event) and m.name == "SuccessfulAuth")
        assert auth["LocalAddress"] == f"IPV6/TCP/::1/{port}"
        assert auth["RemoteAddress"].startswith("IPV6/TCP/::1/")
        await d.aclose()


async def test_protocol_errors_keep_only_the_most_recent() -> None:
    # A client that keeps connecting and sending garbage must not grow the simulator forever.
    async with Simulator(max_received_actions=3) as sim:
        host, port = await sim.listen()
        sids = []
        for _ in range(5):
            d = await Driver.tcp(host, port)
            sids.append(sim.sessions[-1].id)
            await d.stream.send(b"Action: Ping\r\nX: " + b"y" * 70_000 + b"\r\n\r\n")
            with anyio.fail_after(5):
                while await d.next() is not None:
                    pass
            await d.aclose()
        assert [sid for sid, _ in sim.protocol_errors] == sids[-3:]
        assert all(isinstance(exc, LimitExceeded) for _, exc in sim.protocol_errors)
