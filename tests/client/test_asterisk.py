"""The client against the real Asterisk 22 (TCP and TLS), on both anyio backends."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

import ami_client
from ami_client import Action, AuthenticationError, ClientClosed, PermissionDenied
from tests.asterisk.server import AsteriskServer

pytestmark = [pytest.mark.anyio, pytest.mark.asterisk]

SECRETS = {"admin": "ami-admin-secret", "restricted": "ami-restricted-secret"}


@pytest.fixture(params=["tcp", "tls"])
def link(request: pytest.FixtureRequest, asterisk: AsteriskServer) -> Iterator[dict[str, Any]]:
    if request.param == "tcp":
        yield {"host": asterisk.host, "port": asterisk.ami_port}
    else:
        context: ssl.SSLContext = asterisk.ssl_context()
        yield {"host": asterisk.host, "port": asterisk.ami_tls_port, "ssl": context}


def connect(link: dict[str, Any], user: str = "admin", **kwargs: Any) -> ami_client.AMIClient:
    return ami_client.connect(username=user, secret=SECRETS[user], **link, **kwargs)


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_login_good_and_bad(link: dict[str, Any], auth: str) -> None:
    with anyio.fail_after(20):
        async with connect(link, auth=auth) as ami:
            assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
        with pytest.raises(AuthenticationError, match="Authentication failed"):
            async with ami_client.connect(username="admin", secret="wrong", auth=auth, **link):
                pytest.fail("logged in with a wrong secret")


async def test_tls_verifies_the_certificate(asterisk: AsteriskServer) -> None:
    # The system CAs do not trust the test CA: verification is on by default.
    with anyio.fail_after(20), pytest.raises(ami_client.AMIConnectionError):
        async with ami_client.connect(
            asterisk.host,
            asterisk.ami_tls_port,
            username="admin",
            secret=SECRETS["admin"],
            ssl=True,
        ):
            pytest.fail("connected without verifying the certificate")


async def test_restricted_user_gets_permission_denied(link: dict[str, Any]) -> None:
    with anyio.fail_after(20):
        async with connect(link, "restricted") as ami:
            with pytest.raises(PermissionDenied):
                await ami.send(
                    Action(
                        "Originate", Channel="Local/hangup@ami-test", Application="Wait", Data="1"
                    )
                )
            with pytest.raises(PermissionDenied):
                await ami.send(Action("Command", Command="core show version"))
            listing = await ami.collect(Action("CoreShowChannels"))  # class reporting: allowed
            assert listing.complete["EventList"] == "Complete"


async def test_thousand_concurrent_pings(link: dict[str, Any]) -> None:
    answers: dict[str, str] = {}
    with anyio.fail_after(30):
        async with connect(link, events=False) as ami:

            async def ping(n: int) -> None:
                pong = await ami.send(Action("Ping", ActionID=f"ping-{n}"))
                answers[f"ping-{n}"] = pong.action_id or ""

            async with anyio.create_task_group() as tg:
                for n in range(1000):
                    tg.start_soon(ping, n)
            assert ami.statistics().pending_actions == 0
    assert len(answers) == 1000
    assert all(key == value for key, value in answers.items())


async def test_core_show_channels_during_live_calls_and_originate(
    link: dict[str, Any], asterisk: AsteriskServer
) -> None:
    with anyio.fail_after(60):
        async with connect(link) as ami:
            # Other pytest sessions share this Asterisk and hang up every channel after each of
            # their tests: try again (a few times) if ours vanished before we listed them.
            for _attempt in range(3):
                calls = []
                for _ in range(2):
                    result = await ami.originate(
                        Action(
                            "Originate",
                            Channel="Local/wait@ami-test",
                            Application="Wait",
                            Data="20",
                            Timeout=10000,
                        )
                    )
                    assert result.success, result.event
                    assert result.response["Message"] == "Originate successfully queued"
                    calls.append(result.channel)
                listing = await ami.collect(Action("CoreShowChannels"))
                assert int(listing.complete["ListItems"]) == len(listing.items)
                assert all(item.action_id == listing.action_id for item in listing.items)
                async with ami.stream(Action("CoreShowChannels")) as items:
                    streamed = {item["Channel"] async for item in items}
                assert items.complete is not None
                assert items.complete.name == "CoreShowChannelsComplete"
                names = {item["Channel"] for item in listing.items}
                if set(calls) <= names and set(calls) <= streamed:
                    break
            else:
                pytest.fail(
                    f"our channels {calls} never showed in CoreShowChannels: listed {names}, "
                    f"streamed {streamed}; CLI: {asterisk.cli('core show channels concise')!r}"
                )
            for channel in calls:
                await ami.send(Action("Hangup", Channel=channel), raise_on_error=False)


async def test_command_output(link: dict[str, Any]) -> None:
    with anyio.fail_after(20):
        async with connect(link) as ami:
            version = await ami.send(Action("Command", Command="core show version"))
            assert version.get_all("Output")[0].startswith("Asterisk 22")
            with pytest.raises(ami_client.ActionError):
                await ami.send(Action("Command", Command="core show nonsense"))


async def test_subscriptions_filtered_by_type(link: dict[str, Any]) -> None:
    with anyio.fail_after(20):
        async with (
            connect(link) as ami,
            ami.subscribe("Newchannel") as created,
            ami.subscribe("Hangup") as gone,
        ):
            result = await ami.originate(
                Action("Originate", Channel="Local/hangup@ami-test", Application="Wait", Data="1")
            )
            assert result.channel is not None
            mine = result.channel.rsplit(";", 1)[0]
            seen_new: set[str] = set()
            while len(seen_new) < 2:
                ev = await created.receive()
                assert ev.name == "Newchannel"
                if ev["Channel"].startswith(mine):
                    seen_new.add(ev["Channel"])
            seen_gone: set[str] = set()
            while len(seen_gone) < 2:
                ev = await gone.receive()
                assert ev.name == "Hangup"
                if ev["Channel"].startswith(mine):
                    seen_gone.add(ev["Channel"])
            assert seen_new == seen_gone


async def test_logoff(link: dict[str, Any]) -> None:
    with anyio.fail_after(20):
        async with connect(link) as ami:
            goodbye = await ami.send(Action("Logoff"))
            assert goodbye.status == "Goodbye"
            # The server closes right after Goodbye: the client is then closed, not broken.
            async with ami.watch_state() as states:
                if ami.state is not ami_client.ConnectionState.CLOSED:
                    async for state in states:
                        if state is ami_client.ConnectionState.CLOSED:
                            break
            with pytest.raises(ClientClosed):
                await ami.send(Action("Ping"))
