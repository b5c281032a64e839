"""AMI over HTTP(S) against the real Asterisk 22 (http.conf on 18088, HTTPS on 18089)."""

from __future__ import annotations

import os
import ssl
import urllib.request
from collections.abc import Iterator
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
    ReconnectPolicy,
)
from ami_client._private.http_transport import HttpTransport, http_transport_factory
from tests.asterisk.server import AsteriskServer

pytestmark = [pytest.mark.anyio, pytest.mark.asterisk]

SECRET = "ami-admin-secret"
FAST = ReconnectPolicy(initial_delay=0.2, max_delay=1.0, jitter=0.0)


@pytest.fixture(params=["http", "https"])
def where(request: pytest.FixtureRequest, asterisk: AsteriskServer) -> Iterator[dict[str, Any]]:
    if request.param == "http":
        yield {"host": f"http://{asterisk.host}:{asterisk.http_port}/"}
    else:
        context: ssl.SSLContext = asterisk.ssl_context()
        yield {"host": f"https://{asterisk.host}:{asterisk.https_port}/", "ssl": context}


def connect(where: dict[str, Any], **kwargs: Any) -> ami_client.AMIClient:
    kwargs.setdefault("connect_timeout", 15)
    return ami_client.connect(username="admin", secret=SECRET, **where, **kwargs)


async def wait_state(ami: ami_client.AMIClient, state: ConnectionState, seconds: float) -> None:
    with anyio.fail_after(seconds):
        while ami.state is not state:  # noqa: ASYNC110 - polls the client's state attribute
            await anyio.sleep(0.05)


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_login_good_and_bad(where: dict[str, Any], auth: str) -> None:
    with anyio.fail_after(20):
        async with connect(where, auth=auth) as ami:
            assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
        with pytest.raises(AuthenticationError, match="Authentication failed"):
            async with ami_client.connect(username="admin", secret="wrong", auth=auth, **where):
                pytest.fail("logged in with a wrong secret")


async def test_https_verifies_the_certificate(asterisk: AsteriskServer) -> None:
    # The system CAs do not trust the test CA: verification is on by default.
    url = f"https://{asterisk.host}:{asterisk.https_port}/"
    with anyio.fail_after(20), pytest.raises(AMIConnectionError, match="CERTIFICATE_VERIFY"):
        async with ami_client.connect(url, username="admin", secret=SECRET):
            pytest.fail("connected without verifying the certificate")


async def test_originate_events_arrive_through_the_long_poll(where: dict[str, Any]) -> None:
    with anyio.fail_after(30):
        async with connect(where) as ami, ami.subscribe("Newchannel", "Hangup") as events:
            result = await ami.originate(
                Action("Originate", Channel="Local/hangup@ami-test", Application="Wait", Data="1")
            )
            assert result.success, result
            channel = result.event["Channel"]
            assert channel.startswith("Local/hangup@ami-test-")
            seen: set[str] = set()
            async for event in events:
                if event["Channel"] == channel:
                    seen.add(event.name)
                if seen == {"Newchannel", "Hangup"}:
                    break
            assert ami.statistics().late_responses == 0


async def test_event_list_with_live_calls(where: dict[str, Any]) -> None:
    with anyio.fail_after(30):
        async with connect(where) as ami:
            channels = []
            for _ in range(2):
                result = await ami.originate(
                    Action(
                        "Originate", Channel="Local/wait@ami-test", Application="Wait", Data="30"
                    )
                )
                assert result.success, result
                channels.append(result.event["Channel"])
            listing = await ami.collect(Action("CoreShowChannels"))
            names = {item["Channel"] for item in listing.items}
            assert set(channels) <= names
            assert listing.complete is not None
            assert int(listing.complete["ListItems"]) == len(listing.items)
            for channel in channels:
                await ami.send(Action("Hangup", Channel=channel))


async def test_events_while_off_are_not_delivered_after_events_on(where: dict[str, Any]) -> None:
    # As over TCP, where Asterisk skips a session's events while they are off. Over HTTP they
    # wait in the session's queue (nothing polls) and used to come with the first poll after
    # `Events: on`, seconds (up to 2.5 x httptimeout) after the fact.
    # Off from the login: no poll was ever in flight (see the next test for one that was).
    with anyio.fail_after(30):
        async with (
            connect(where, keepalive=None, events=False) as ami,
            ami.subscribe("UserEvent") as events,
        ):
            for n in range(3):
                await ami.send(Action("UserEvent", UserEvent=f"WhileOff{n}"))
            await anyio.sleep(0.5)
            await ami.events_mask(True)
            await ami.send(Action("UserEvent", UserEvent="AfterOn"))
            assert (await events.receive())["UserEvent"] == "AfterOn"


async def test_no_poll_turns_events_back_on_after_events_off(where: dict[str, Any]) -> None:
    # The poll in flight as `Events: off` is sent used to reach Asterisk after it, now and
    # then (about one switch in three), and turn events back on: the events from after the
    # switch came. Three switches off and on, with the poll running before each.
    with anyio.fail_after(60):
        async with connect(where, keepalive=None) as ami, ami.subscribe("UserEvent") as events:
            for n in range(3):
                await ami.send(Action("UserEvent", UserEvent=f"WhileOn{n}"))
                assert (await events.receive())["UserEvent"] == f"WhileOn{n}"
                await ami.events_mask(False)
                await ami.send(Action("UserEvent", UserEvent=f"WhileOff{n}"))
                await anyio.sleep(0.3)
                await ami.events_mask(True)
                await ami.send(Action("UserEvent", UserEvent=f"AfterOn{n}"))
                assert (await events.receive())["UserEvent"] == f"AfterOn{n}"


def _logoff_from_outside(url: str, cookie: str, context: ssl.SSLContext | None) -> bytes:
    request = urllib.request.Request(  # noqa: S310 - the test server's http(s) URL
        url,
        data=b"Action=Logoff",
        headers={"Cookie": f"mansession_id={cookie}"},
    )
    with urllib.request.urlopen(request, timeout=10, context=context) as answer:  # noqa: S310
        return bytes(answer.read())


async def test_ended_session_logs_in_again(where: dict[str, Any]) -> None:
    transports: list[HttpTransport] = []
    base = http_transport_factory(where["host"], ssl=where.get("ssl"))

    async def factory() -> HttpTransport:
        transport = await base()
        assert isinstance(transport, HttpTransport)
        transports.append(transport)
        return transport

    with anyio.fail_after(30):
        async with ami_client.connect(
            username="admin", secret=SECRET, reconnect=FAST, transport_factory=factory
        ) as ami:
            await ami.send(Action("Ping"))
            cookie = transports[0].session_id
            assert cookie
            # The server forgets the session, as after httptimeout: the poll notices.
            goodbye = await anyio.to_thread.run_sync(
                _logoff_from_outside, transports[0].endpoint.url, cookie, where.get("ssl")
            )
            assert b"Goodbye" in goodbye
            await wait_state(ami, ConnectionState.RECONNECTING, 15)
            await wait_state(ami, ConnectionState.CONNECTED, 15)
            assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
            assert len(transports) == 2
            assert transports[1].session_id not in (None, cookie)
            async with ami.subscribe("UserEvent") as events:
                await ami.send(Action("UserEvent", UserEvent="AfterRelogin"))
                async for event in events:
                    assert event["UserEvent"] == "AfterRelogin"
                    break


async def test_server_restarted_mid_poll(asterisk: AsteriskServer) -> None:
    url = f"http://{asterisk.host}:{asterisk.http_port}/"
    with anyio.fail_after(120):
        async with ami_client.connect(
            url, username="admin", secret=SECRET, reconnect=FAST, keepalive=None
        ) as ami:
            await ami.send(Action("Ping"))
            await anyio.sleep(0.3)  # a WaitEvent is now waiting
            await anyio.to_thread.run_sync(asterisk.restart)
            await wait_state(ami, ConnectionState.CONNECTED, 60)
            if ami.statistics().reconnects == 0:
                await wait_state(ami, ConnectionState.RECONNECTING, 30)
                await wait_state(ami, ConnectionState.CONNECTED, 60)
            assert ami.statistics().reconnects >= 1
            assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
            async with ami.subscribe("UserEvent") as events:
                await ami.send(Action("UserEvent", UserEvent="AfterRestart"))
                async for event in events:
                    assert event["UserEvent"] == "AfterRestart"
                    break


@pytest.mark.skipif(
    not (os.environ.get("AMI_HTTP_EXPIRY") or os.environ.get("CI", "").lower() == "true"),
    reason="waits out Asterisk's httptimeout (67 s): runs in CI, or set AMI_HTTP_EXPIRY=1",
)
async def test_session_expires_after_httptimeout(asterisk: AsteriskServer) -> None:
    url = f"http://{asterisk.host}:{asterisk.http_port}/"
    with anyio.fail_after(120):
        # No poll and no keepalive: nothing refreshes the session.
        async with ami_client.connect(
            url, username="admin", secret=SECRET, events=False, keepalive=None, reconnect=FAST
        ) as ami:
            await ami.send(Action("Ping"))
            pid = asterisk.pid()
            # httptimeout (60 s), plus the period of Asterisk 22's purge of expired sessions:
            # the AMI listener's periodic function, run at least every 5 s (manager.c).
            await anyio.sleep(67)
            with pytest.raises(ConnectionLost) as caught:
                await ami.send(Action("Ping"))
            if asterisk.pid() != pid:  # the shared server was restarted by a concurrent test
                pytest.skip("Asterisk restarted during the wait; expiry not observed")
            assert "HTTP session ended" in str(caught.value)
            await wait_state(ami, ConnectionState.CONNECTED, 15)
            assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
