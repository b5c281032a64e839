"""Channel actions on live calls: Originate's CallerID and Variable parsing, the Bridge action
holding its channels, CLI channel listings and hangup requests, Login without a Secret."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from ami_client.protocol import Event, Message
from ami_client.testing import Simulator
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio


async def _admin(sim: Simulator) -> Driver:
    d = Driver(sim.connect_memory())
    await d.read_banner()
    await d.login()
    return d


def _event(name: str, **fields: str) -> Callable[[Message], bool]:
    def pred(m: Message) -> bool:
        return (isinstance(m, Event) and m.name == name
                and all(m.get(k) == v for k, v in fields.items()))  # fmt: skip

    return pred


async def test_originate_callerid_number_and_variables() -> None:
    async with Simulator(time_scale=0.01) as sim:
        d = await _admin(sim)
        await d.call("Originate", Channel="Local/echo@ami-test", Context="ami-test",
                     Exten="echo", Priority=1, CallerID=" 5550100 ",
                     Variable="A=1,novalue,=x,B=2=3", Async="true")  # fmt: skip
        with anyio.fail_after(5):
            await d.until(_event("OriginateResponse"))
        one = next(c for c in sim.pbx.channels.values() if c.name.endswith(";1"))
        # A bare number is the number, with no name.
        assert (one.caller_num, one.caller_name) == ("5550100", "<unknown>")
        # "novalue" and "=x" are no assignments; a value keeps its own "=".
        assert {k: v for k, v in one.variables.items() if k in ("A", "B", "novalue", "")} == {
            "A": "1",
            "B": "2=3",
        }
        await d.aclose()


async def test_bridged_channels_stay_until_one_hangs_up() -> None:
    async with Simulator(time_scale=0.01) as sim:
        d = await _admin(sim)
        for _ in range(2):
            await d.call("Originate", Channel="Local/echo@ami-test", Context="ami-test",
                         Exten="echo", Priority=1)  # fmt: skip
        a, b = sorted(c.name for c in sim.pbx.channels.values() if c.name.endswith(";1"))
        assert (await d.call("Bridge", Channel1=a, Channel2=b))["Message"] == (
            "Channels have been bridged"
        )
        await anyio.sleep(0.05)  # the channels' old dialplan is over; they wait in the bridge
        listing = (await d.call("Command", Command="core show channels")).get_all("Output")
        assert listing[0].split() == ["Channel", "Location", "State", "Application(Data)"]
        rows = {line.split()[0]: line.split()[1:] for line in listing[1:-3]}
        # Where it goes on after the bridge: the priority after Echo()'s, as Asterisk 22
        # shows it from BridgeEnter on (test_bridge_fidelity).
        assert rows[a][:2] == ["echo@ami-test:3", "Up"]
        assert listing[-3:-1] == ["4 active channels", "2 active calls"]
        r = await d.call("Command", Command=f"channel request hangup {a}")
        assert r.get_all("Output") == [f"Requested Hangup on channel '{a}'"]
        await d.call("Command", Command=f"channel request hangup {a.lower()}")  # again
        with anyio.fail_after(5):
            # Its partner leaves the bridge and goes on at echo,3: Hangup().
            while not any(_event("Hangup", Channel=b)(m) for m in d.received):
                await d.next()
        story = [(m.name, m["Channel"]) for m in d.events() if m.get("Channel") in (a, b)
                 and m.name in ("BridgeLeave", "Hangup")]  # fmt: skip
        assert story == [("BridgeLeave", a), ("Hangup", a), ("BridgeLeave", b), ("Hangup", b)]
        assert len([e for e in d.events("SoftHangupRequest") if e["Channel"] == a]) == 1
        await d.aclose()


async def test_login_without_secret_fails() -> None:
    async with Simulator(auth_failure_delay=0.0) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        r = await d.call("Login", Username="admin")
        assert r["Message"] == "Authentication failed"
        with anyio.fail_after(5):
            while await d.next() is not None:
                pass
        await d.aclose()
