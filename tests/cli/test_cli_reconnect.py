"""``events --reconnect`` and ``channels --reconnect``: a monitor that outlives a PBX restart."""

from __future__ import annotations

import io
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from ami_client import Message, ReconnectPolicy
from ami_client._private.cli import build_parser, client_options, main, resolve_settings
from tests.client.fakeserver import Peer, fake_server

from .helpers import env_for, server_in_thread

# Time for the command to subscribe after its login is answered (it takes microseconds): an
# event sent sooner would reach no subscriber, as with a real server.
SETTLE = 0.5


@asynccontextmanager
async def restarting_pbx() -> AsyncIterator[tuple[str, int]]:
    """First connection: one event, then the server goes. The next: one event, then it stays."""
    connections = itertools.count(1)

    async def handler(peer: Peer) -> None:
        number = next(connections)
        await peer.login()
        await anyio.sleep(SETTLE)
        event = Message([("Event", "UserEvent"), ("UserEvent", "hello"), ("Conn", str(number))])
        await peer.send(event)
        if number == 1:
            return  # closed: the PBX restarts
        await peer.serve_forever()

    async with fake_server(handler) as (port, _peers):
        yield "127.0.0.1", port


def run_events(flags: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with server_in_thread(restarting_pbx) as (host, port):
        status = main(
            ["events", "UserEvent", "--json", "--count", "2", *flags],
            stdout=out,
            environ=env_for(host, port, "s3cr3t-for-tests"),
        )
    return status, out.getvalue()


def test_events_with_reconnect_goes_on_after_the_server_restarts() -> None:
    status, out = run_events(["--reconnect"])
    assert status == 0
    assert [line.count('"Conn": "1"') for line in out.splitlines()] == [1, 0]
    assert '"Conn": "2"' in out.splitlines()[1]


def test_events_without_reconnect_stops_when_the_server_goes() -> None:
    status, out = run_events([])
    assert status == 1
    assert len(out.splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "reconnects"),
    [
        (["events", "--reconnect"], True),
        (["channels", "--reconnect"], True),
        (["events"], False),
        (["channels"], False),
        (["action", "Ping"], False),
    ],
)
def test_reconnect_gives_the_client_a_default_policy(argv: list[str], reconnects: bool) -> None:
    args = build_parser().parse_args(argv)
    options = client_options(args, resolve_settings(args, env_for("127.0.0.1", 5038)))
    assert options.get("reconnect") == (ReconnectPolicy() if reconnects else None)
