"""The client example runs, against a scripted loopback server."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import anyio
import pytest

from .fakeserver import SECRET, Peer, event, fake_server, response

pytestmark = pytest.mark.anyio

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "client_basics.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_basics", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["client_basics"] = module
    spec.loader.exec_module(module)
    return module


async def test_client_basics_example(capsys: pytest.CaptureFixture[str]) -> None:
    async def handler(peer: Peer) -> None:
        await peer.login()
        ping = await peer.read_action()
        await peer.reply(ping, ("Ping", "Pong"), ("Timestamp", "1795799416.234386"))
        listing = await peer.read_action()
        aid = ("ActionID", listing.action_id or "")
        await peer.send(
            response(listing, ("EventList", "start")),
            event(
                "CoreShowChannel", aid, ("Channel", "PJSIP/100-0001"), ("ChannelStateDesc", "Up")
            ),
            event("CoreShowChannelsComplete", aid, ("EventList", "Complete"), ("ListItems", "1")),
        )
        await anyio.sleep(0.05)
        await peer.send(event("Newchannel", ("Channel", "PJSIP/200-0002")))
        await peer.send(event("Hangup", ("Channel", "PJSIP/200-0002")))
        await peer.serve_forever()

    module = load()
    async with fake_server(handler) as (port, _):
        with anyio.fail_after(10):
            lines = await module.run("127.0.0.1", port, "admin", SECRET, 0.5)
    assert lines == [
        "ping answered at 1795799416.234386",
        "1 channel(s) up",
        "  PJSIP/100-0001 (Up)",
        "Newchannel: PJSIP/200-0002",
        "Hangup: PJSIP/200-0002",
    ]
    assert "Hangup: PJSIP/200-0002" in capsys.readouterr().out
