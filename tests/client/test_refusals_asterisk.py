"""What the real Asterisk 22 does where the fake servers of the other client tests imitate it:
a refused Originate, a refused Challenge, and the close after a caller's Logoff."""

from __future__ import annotations

import anyio
import pytest

import ami_client
from ami_client import Action, ConnectionState, PermissionDenied, ReconnectPolicy
from ami_client.protocol import Parser, Response, serialize_action
from tests.asterisk.server import AsteriskServer

pytestmark = [pytest.mark.anyio, pytest.mark.asterisk]


async def test_an_originate_refused_by_asterisk_is_a_result_without_a_call(
    asterisk: AsteriskServer,
) -> None:
    # `restricted` lacks the originate write class (tests/asterisk/README.md).
    originate = Action("Originate", Channel="Local/hangup@ami-test", Application="Wait", Data="1")
    with anyio.fail_after(20):
        async with ami_client.connect(
            asterisk.host,
            asterisk.ami_port,
            username="restricted",
            secret="ami-restricted-secret",
            keepalive=None,
        ) as ami:
            with pytest.raises(PermissionDenied):
                await ami.originate(originate)
            result = await ami.originate(originate, raise_on_error=False)
            assert result.response["Message"] == "Permission denied"
            assert (result.event, result.success, result.reason, result.channel) == (
                None,
                False,
                None,
                None,
            )
            assert ami.statistics().pending_actions == 0


async def test_asterisk_refuses_a_challenge_it_cannot_answer(asterisk: AsteriskServer) -> None:
    # test_server_misbehaviour.py answers a refused Challenge this way; this is where it comes
    # from (manager.c action_challenge: only AuthType MD5).
    with anyio.fail_after(20):
        async with await anyio.connect_tcp(asterisk.host, asterisk.ami_port) as stream:
            parser = Parser()
            await stream.send(serialize_action(Action("Challenge", AuthType="SHA1"), "c-1"))
            answer = None
            while answer is None:
                parser.receive_data(await stream.receive())
                answer = next((m for m in parser.next_events() if isinstance(m, Response)), None)
            assert answer.is_error
            assert answer["Message"] == "Must specify AuthType"
            assert answer.action_id == "c-1"


async def test_a_callers_logoff_on_asterisk_ends_the_client_despite_a_policy(
    asterisk: AsteriskServer,
) -> None:
    policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.05)
    with anyio.fail_after(20):
        async with (
            ami_client.connect(
                asterisk.host,
                asterisk.ami_port,
                username="admin",
                secret="ami-admin-secret",
                keepalive=None,
                reconnect=policy,
            ) as ami,
            ami.subscribe() as events,
            ami.watch_state() as states,
        ):
            assert (await ami.send(Action("Logoff"))).status == "Goodbye"
            assert [state async for state in states] == [ConnectionState.CLOSED]
            async for _ in events:  # events that came before the Logoff, then the end
                pass
            await anyio.sleep(0.2)  # several reconnect delays: none is attempted
            assert ami.state is ConnectionState.CLOSED
            assert ami.statistics().reconnects == 0
            with pytest.raises(ami_client.ClientClosed):
                await ami.send(Action("Ping"))
