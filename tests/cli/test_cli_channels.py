"""The ``channels`` table: its layout, and the live redraw as calls come and go."""

from __future__ import annotations

import argparse
import io

import anyio
import attrs
import pytest

import ami_client
from ami_client._private.cli import _describe_change, cmd_channels, render_table
from ami_client._private.tracking.model import Bridge, BridgeChange, Channel, ChannelChange

CLEAR = "\x1b[H\x1b[2J"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_table_shows_where_each_channel_is_and_who_is_in_each_bridge() -> None:
    alice = Channel(
        unique_id="1700000000.1", name="PJSIP/alice-00000001", state_desc="Up",
        caller_id_num="100", context="from-internal", exten="200", application="Dial",
        application_data="PJSIP/bob,30,tT", bridge_id="5e1f3a2b-9c4d-4e5f-8a7b-123456789abc",
    )  # fmt: skip
    ringing = Channel(
        unique_id="1700000000.3", name="PJSIP/carol-00000003", state_desc="Ring",
        context="from-internal", exten="300",
    )  # fmt: skip
    bridge = Bridge(
        unique_id="5e1f3a2b-9c4d-4e5f-8a7b-123456789abc", technology="simple_bridge",
        members=("1700000000.1", "1700000000.2"),
    )  # fmt: skip
    channels = {c.unique_id: c for c in (alice, ringing)}
    lines = render_table(channels, {bridge.unique_id: bridge}).splitlines()
    assert lines[0] == "2 channel(s), 1 bridge(s)"
    assert lines[2].split() == ["CHANNEL", "STATE", "CALLER", "WHERE", "BRIDGE"]
    # Sorted by name; the application (its data cut to 12 characters) when one runs, else
    # the extension and context; the bridge by the first 8 characters of its id.
    assert lines[3].split() == [
        "PJSIP/alice-00000001",
        "Up",
        "100",
        "Dial(PJSIP/bob,30)",
        "5e1f3a2b",
    ]
    assert lines[4].split() == ["PJSIP/carol-00000003", "Ring", "300@from-internal"]
    # A member the table does not know (yet) is shown by its Uniqueid.
    assert lines[5] == "bridge 5e1f3a2b simple_bridge: PJSIP/alice-00000001, 1700000000.2"


def test_the_demo_reports_the_changes_a_person_watches() -> None:
    alice = Channel(unique_id="1.1", name="PJSIP/alice-1", state_desc="Ring")
    up = Channel(unique_id="1.1", name="PJSIP/alice-1", state_desc="Up")
    bridge = Bridge(unique_id="b-1", technology="simple_bridge", members=("1.1",))

    def said(old: object, new: object) -> str | None:
        change_type = BridgeChange if isinstance(old or new, Bridge) else ChannelChange
        return _describe_change(change_type(old=old, new=new, reason="event"))  # type: ignore[arg-type]

    assert said(None, alice) == "channel PJSIP/alice-1 created"
    assert said(alice, up) == "channel PJSIP/alice-1: Ring -> Up"
    assert said(up, attrs.evolve(up, bridge_id="b-1")) == "channel PJSIP/alice-1: in bridge b-1"
    assert said(up, None) == "channel PJSIP/alice-1 gone"
    two = Bridge(unique_id="b-1", technology="simple_bridge", members=("1.1", "1.2"))
    assert said(bridge, two) == "bridge b-1: 2 member(s)"
    # Not worth a line: a bridge whose members stay (its technology changed), a channel whose
    # state and bridge stay (a variable was set).
    softmix = Bridge(unique_id="b-1", technology="softmix", members=("1.1",))
    assert said(bridge, softmix) is None
    assert said(up, attrs.evolve(up, variables={"X": "1"})) is None


class TerminalOut(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.anyio
async def test_the_live_table_redraws_on_changes(simulator: tuple[str, int]) -> None:
    host, port = simulator
    out = TerminalOut()
    args = argparse.Namespace(once=False, interval=0.05)

    async def drawn(text: str) -> str:
        while True:
            tables = out.getvalue().split(CLEAR)
            found = [table for table in tables if text in table]
            if found:
                return found[0]
            await anyio.sleep(0.01)

    with anyio.fail_after(20):
        async with ami_client.connect(
            host, port, username="admin", secret="ami-admin-secret"
        ) as ami, anyio.create_task_group() as tg:  # fmt: skip
            tg.start_soon(cmd_channels, ami, args, out)
            first = await drawn("channel(s)")
            assert first.startswith("0 channel(s), 0 bridge(s)")
            await ami.originate(ami_client.Action(
                "Originate", Channel="Local/dial-short@ami-test", Context="ami-test",
                Exten="wait-3", Priority=1, Async=True,
            ))  # fmt: skip
            table = await drawn("\nbridge ")
            tg.cancel_scope.cancel()
    assert out.getvalue().startswith(CLEAR)  # on a terminal, each redraw clears the screen
    bridge_line = next(line for line in table.splitlines() if line.startswith("bridge "))
    bridge_id = bridge_line.split()[1]
    members = bridge_line.partition(": ")[2].split(", ")
    # The dial-short channel dialled Local/wait-2: the bridge holds one half of each.
    assert sorted(member.rpartition("-")[0] for member in members) == [
        "Local/dial-short@ami-test", "Local/wait-2@ami-test",
    ]  # fmt: skip
    rows = [line for line in table.splitlines() if line.startswith("Local/")]
    assert sorted(row.split()[0] for row in rows if row.endswith(bridge_id)) == sorted(members)
