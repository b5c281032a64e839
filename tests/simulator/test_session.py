"""Session behaviour of the simulator: login, permissions, filters, simple actions."""

from __future__ import annotations

import hashlib

import anyio
import pytest

from ami_client.protocol import Event, Response
from ami_client.testing import Simulator, User, serve
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio


async def connect(sim: Simulator) -> Driver:
    d = Driver(sim.connect_memory())
    await d.read_banner()
    return d


async def test_banner_login_ping_logoff_over_tcp() -> None:
    async with serve() as sim:
        assert sim.host == "127.0.0.1"
        assert sim.port
        d = await Driver.tcp(sim.host, sim.port)
        assert d.banner is not None
        assert (d.banner.name, d.banner.version) == ("Asterisk Call Manager", "11.0.0")
        r = await d.login()
        assert (r.status, r["Message"]) == ("Success", "Authentication accepted")
        ping = await d.call("Ping")
        assert ping["Ping"] == "Pong"
        float(ping["Timestamp"])
        assert [e.name for e in d.events()] == ["FullyBooted", "SuccessfulAuth"]
        bye = await d.call("Logoff")
        assert (bye.status, bye["Message"]) == ("Goodbye", "Thanks for all the fish.")
        with anyio.fail_after(2):
            assert await d.next() is None
        await d.aclose()


async def test_bad_secret_fails_after_delay_and_closes() -> None:
    async with Simulator(auth_failure_delay=0.05) as sim:
        d = await connect(sim)
        start = anyio.current_time()
        r = await d.login(secret="wrong")
        assert anyio.current_time() - start >= 0.04
        assert (r.status, r["Message"]) == ("Error", "Authentication failed")
        with anyio.fail_after(2):
            assert await d.next() is None
        await d.aclose()


async def test_md5_challenge_login() -> None:
    async with Simulator() as sim:
        d = await connect(sim)
        ch = await d.call("Challenge", AuthType="MD5")
        challenge = ch["Challenge"]
        assert challenge.isdigit()
        key = hashlib.md5((challenge + "ami-admin-secret").encode(), usedforsecurity=False)
        ok = await d.call("Login", AuthType="MD5", Username="admin", Key=key.hexdigest())
        assert ok["Message"] == "Authentication accepted"
        d2 = await connect(sim)
        await d2.call("Challenge", AuthType="MD5")
        bad = await d2.call("Login", AuthType="MD5", Username="admin", Key="0" * 32)
        assert bad.is_error
        await d.aclose()
        await d2.aclose()


async def test_actions_before_login_are_refused() -> None:
    async with Simulator() as sim:
        d = await connect(sim)
        r = await d.call("Ping")
        assert (r.status, r["Message"]) == ("Error", "Permission denied")
        await d.aclose()


async def test_restricted_user_write_and_read_classes() -> None:
    async with Simulator(time_scale=0.01) as sim:
        d = await connect(sim)
        await d.login("restricted", "ami-restricted-secret")
        for name, fields in (("Originate", {"Channel": "Local/hangup@ami-test",
                                            "Application": "Wait", "Data": "1"}),
                             ("Command", {"Command": "core show version"})):  # fmt: skip
            r = await d.call(name, **fields)
            assert (r.status, r["Message"]) == ("Error", "Permission denied")
        r = await d.call("CoreShowChannels")
        assert r["EventList"] == "start"
        done = await d.until(
            lambda m: isinstance(m, Event) and m.name == "CoreShowChannelsComplete"
        )
        assert done["ListItems"] == "0"
        # read=call,reporting: FullyBooted (system) and UserEvent (user) are withheld, call
        # events arrive.
        admin = await connect(sim)
        await admin.login()
        await admin.call("UserEvent", UserEvent="Hidden")
        await admin.call("Originate", Channel="Local/hangup@ami-test", Application="Wait",
                         Data="1", Async="yes")  # fmt: skip
        with anyio.fail_after(5):
            await d.until(lambda m: isinstance(m, Event) and m.name == "Hangup")
        names = {e.name for e in d.events()}
        assert "FullyBooted" not in names
        assert "UserEvent" not in names
        assert "Newexten" not in names  # dialplan class
        assert "Newchannel" in names
        await d.aclose()
        await admin.aclose()


async def test_filtered_user_sees_only_its_events() -> None:
    async with Simulator(time_scale=0.01) as sim:
        d = await connect(sim)
        await d.login("filtered", "ami-filtered-secret")
        for name in ("Allowed", "Blocked", "Allowed"):
            r = await d.call("UserEvent", UserEvent=name, Detail="sent by the filtered user")
            assert r["Message"] == "Event Sent"
        admin = await connect(sim)
        await admin.login()
        await admin.call("Originate", Channel="Local/hangup@ami-test", Context="ami-test",
                         Exten="wait", Priority=1, Async="true")  # fmt: skip
        with anyio.fail_after(5):
            while len(d.events("Hangup")) < 2:
                await d.next()
        await d.call("Ping")
        names = [e.name for e in d.events()]
        assert names[0] == "FullyBooted"  # not filtered (filtered_events.ami)
        assert set(names[1:]) == {"UserEvent", "Newchannel", "Hangup"}
        assert [e["UserEvent"] for e in d.events("UserEvent")] == ["Allowed", "Allowed"]
        ue = d.events("UserEvent")[0]
        # Headers copied in the order the action had them (ActionID last from our driver).
        assert [k for k, _ in ue.fields] == [
            "Event",
            "Privilege",
            "UserEvent",
            "Detail",
            "ActionID",
        ]
        await d.aclose()
        await admin.aclose()


async def test_events_and_filter_actions() -> None:
    async with Simulator() as sim:
        d = await connect(sim)
        await d.login()
        assert (await d.call("Events", EventMask="off"))["Events"] == "Off"
        await d.call("UserEvent", UserEvent="Quiet")
        assert (await d.call("Events", EventMask="user"))["Events"] == "On"
        assert (await d.call("Events"))["Message"] == "Invalid event mask"
        bad = await d.call("Filter", Operation="Add", Filter="bad(")
        assert bad["Message"] == "Filter did not compile.  Check the syntax of the filter given."
        assert (await d.call("Filter", Operation="Zap"))["Message"] == "Unknown operation"
        assert (await d.call("Filter", Operation="Add", Filter="!UserEvent: No"))[
            "Message"
        ] == "Success"
        for name in ("No", "Yes"):
            await d.call("UserEvent", UserEvent=name)
        await d.call("Ping")
        assert [e["UserEvent"] for e in d.events("UserEvent")] == ["Yes"]
        await d.aclose()


async def test_unknown_action_command_and_variables() -> None:
    async with Simulator() as sim:
        d = await connect(sim)
        await d.login(Events="off")
        r = await d.call("Nonsense")
        assert r["Message"] == (
            "Invalid/unknown command: Nonsense. "
            "Use Action: ListCommands to show available commands."
        )
        r = await d.call("Command", Command="core show nonsense")
        assert (r.status, r["Message"]) == ("Error", "Command output follows")
        assert r["Output"].startswith("No such command 'core show nonsense'")
        r = await d.call("Command", Command="core show channels")
        assert r.get_all("Output")[-3:] == [
            "0 active channels",
            "0 active calls",
            "0 calls processed",
        ]
        assert (await d.call("Setvar", Variable="G", Value="1"))["Message"] == "Variable Set"
        assert (await d.call("Getvar", Variable="G"))["Value"] == "1"
        assert (await d.call("Getvar", Channel="nope", Variable="G"))[
            "Message"
        ] == "No such channel"
        assert (await d.call("Getvar"))["Message"] == "No variable specified"
        assert (await d.call("Login"))["Message"] == "Already authenticated"
        assert d.events() == []  # Events: off at login
        await d.aclose()


async def test_custom_users() -> None:
    async with Simulator(users=[User(username="u", secret="s", read="call", write="call")]) as sim:
        d = await connect(sim)
        r = await d.login("u", "s")
        assert isinstance(r, Response)
        assert r.status == "Success"
        assert (await d.call("UserEvent", UserEvent="x"))["Message"] == "Permission denied"
        assert [s.username for s in sim.sessions] == ["u"]
        await d.aclose()
