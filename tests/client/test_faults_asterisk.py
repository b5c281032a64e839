"""Faults on the real Asterisk 22: `core stop now` and `kill -9` with work in flight, then a
restart. Pending actions fail fast with ConnectionLost, the client reconnects, and subscribers
keep receiving."""

from __future__ import annotations

import time

import anyio
import pytest

import ami_client
from ami_client import Action, ConnectionLost, ConnectionState, ReconnectPolicy
from tests.asterisk.server import AsteriskServer

pytestmark = [pytest.mark.anyio, pytest.mark.asterisk]


@pytest.mark.parametrize("fault", ["stop", "kill"])
async def test_fault_fails_pending_then_reconnects_and_subscribers_keep_receiving(
    asterisk: AsteriskServer, fault: str
) -> None:
    policy = ReconnectPolicy(initial_delay=0.1, max_delay=0.5)
    failures: list[tuple[BaseException, float]] = []
    completed: list[str] = []
    with anyio.fail_after(30):
        async with (
            ami_client.connect(
                asterisk.host,
                asterisk.ami_port,
                username="admin",
                secret="ami-admin-secret",
                reconnect=policy,
                keepalive=None,  # the synchronous Originate below holds the session anyway
            ) as ami,
            ami.subscribe("Newchannel") as created,
            ami.watch_state() as states,
        ):
            # Mid-stream: events are flowing to the subscriber when the server goes.
            await ami.originate(
                Action("Originate", Channel="Local/wait@ami-test", Application="Wait", Data="30")
            )
            assert (await created.receive()).name == "Newchannel"

            async def in_flight(action: Action) -> None:
                try:
                    await ami.send(action)
                    completed.append(action.name)
                except ConnectionLost as exc:
                    failures.append((exc, time.monotonic()))
                except ami_client.ActionError as exc:
                    # `core stop now` answers what it still can, with errors: "Asterisk is
                    # shutting down", or "Originate failed" as it hangs the channel up.
                    failures.append((exc, time.monotonic()))

            async with anyio.create_task_group() as tg:
                # A synchronous Originate of a phone that only rings: its answer takes 30 s,
                # so it is certainly in flight when the server dies.
                tg.start_soon(
                    in_flight,
                    Action(
                        "Originate",
                        Channel="Local/ring@ami-test",
                        Application="Wait",
                        Data="1",
                        Timeout=30000,
                    ),
                )
                tg.start_soon(in_flight, Action("CoreShowChannels"))
                # Poll (bounded) until both are in flight or the list has been answered: a
                # CoreShowChannels is fast, so only the Originate is certain to be pending.
                with anyio.fail_after(5):
                    while ami.statistics().pending_actions < 2 and not completed:  # noqa: ASYNC110
                        await anyio.sleep(0.005)  # (polling the client's statistics)
                assert ami.statistics().pending_actions >= 1
                fault_at = time.monotonic()
                await anyio.to_thread.run_sync(getattr(asterisk, fault))
            # Everything in flight failed, and fast (not after the originate's 30 s).
            assert "Originate" not in completed
            assert len(failures) + len(completed) == 2
            assert all(at - fault_at < 10 for _, at in failures)
            kinds = {type(exc) for exc, _ in failures}
            if fault == "kill":
                assert kinds == {ConnectionLost}
            else:
                assert kinds <= {ConnectionLost, ami_client.ActionError}
            assert ami.state in (ConnectionState.RECONNECTING, ConnectionState.CONNECTED)
            with pytest.raises(ConnectionLost):
                await ami.send(Action("Ping"))  # fail fast while the server is away

            await anyio.to_thread.run_sync(asterisk.start)
            async for state in states:
                if state is ConnectionState.CONNECTED and ami.statistics().reconnects:
                    break
            # The same subscription receives events of the new session.
            result = await ami.originate(
                Action("Originate", Channel="Local/hangup@ami-test", Application="Wait", Data="1")
            )
            assert result.channel is not None
            while True:
                ev = await created.receive()
                if ev["Channel"] == result.channel:
                    break
            assert (await ami.send(Action("Ping")))["Ping"] == "Pong"
