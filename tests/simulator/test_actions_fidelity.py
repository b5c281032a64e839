"""Action answers not covered by test_fidelity.RESPONSES: Challenge and MD5 Login, CLI commands
and channel variables on a live channel. Each sequence runs on the simulator; the ``asterisk``
test runs it on the real Asterisk 22 and compares."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable

import anyio
import pytest

from ami_client._private.simulator.actions import uptime_text
from ami_client.protocol import Event, Response
from ami_client.testing import Simulator
from tests.asterisk.server import USERS, AsteriskServer
from tests.simulator.driver import Driver

pytestmark = pytest.mark.anyio

Answer = tuple[str, ...]


def _answer(r: Response, *keys: str) -> Answer:
    return (r.status, r.get("Message", ""), *(r.get(k, "") for k in keys))


async def _challenges(d: Driver) -> list[Answer]:
    out = [
        _answer(await d.call("Challenge")),
        _answer(await d.call("Challenge", AuthType="plain")),
        # MD5 login without a Challenge on this session: no challenge to check the key with.
        _answer(await d.call("Login", AuthType="MD5", Username="admin", Key="0" * 32)),
    ]
    await d.aclose()
    return out


async def _challenge_twice(d: Driver) -> list[Answer]:
    first = await d.call("Challenge", AuthType="MD5")
    second = await d.call("Challenge", AuthType="md5")
    key = hashlib.md5((first["Challenge"] + USERS["admin"]).encode(), usedforsecurity=False)
    # The right key in upper case: refused, and the connection closes.
    bad = await d.call("Login", AuthType="MD5", Username="admin", Key=key.hexdigest().upper())
    with anyio.fail_after(5):
        closed = await d.next() is None
    out = [
        (first.status, str(first["Challenge"] == second["Challenge"])),
        (*_answer(bad), str(closed)),
    ]
    await d.aclose()
    return out


# A duration as `core show uptime` writes it (`1 minute, 5 seconds`): the servers' uptimes
# differ, so its words do too; uptime_text's own tests check them.
_DURATION = re.compile(r"\d+ (?:year|week|day|hour|minute|second)s?(?:, \d+ \w+)*")


# A count of `core show channels` with its noun, singular for 1 as Asterisk writes it: the
# servers' counts differ (a fresh Asterisk has processed "1 call"), so the plural does too;
# test_core_show_channels_counts_in_the_singular checks the simulator's own.
_COUNTED = re.compile(r"\b\d+ (active channel|active call|call)s?\b")


def _shape(lines: list[str]) -> list[str]:
    # Values that differ between servers and runs (counts, names, durations) become
    # placeholders.
    return [
        re.sub(
            r"\d+",
            "N",
            re.sub(
                r"-[0-9a-f]{8};",
                "-X;",
                _COUNTED.sub(r"N \1s", _DURATION.sub("DURATION", x)),
            ),
        )
        for x in lines
    ]


async def _commands(d: Driver) -> list[Answer]:
    await d.login(Events="off")
    out = []
    for command in (
        "channel request hangup Local/nope@ami-test-00000000;1",
        "dialplan show nope@ami-test",
        "dialplan show wait@nocontext",
        "core show channels count",
        "core show uptime",
    ):
        r = await d.call("Command", Command=command)
        out.append((r.status, r.get("Message", ""), *_shape(r.get_all("Output"))))
    await d.call("Logoff")
    await d.aclose()
    return out


async def _channel_vars(d: Driver) -> list[Answer]:
    """Getvar/Setvar on a live channel of a call with a known caller ID."""
    await d.login()
    await d.call("Originate", Channel="Local/wait@ami-test", Context="ami-test", Exten="wait",
                 Priority=1, CallerID="Fidelity <5550100>", Async="true")  # fmt: skip
    with anyio.fail_after(10):
        new = await d.until(
            lambda m: (
                isinstance(m, Event)
                and m.name == "Newchannel"
                and m["Channel"].startswith("Local/wait@ami-test-")
                and m["Channel"].endswith(";2")
            )
        )
    chan = new["Channel"]
    out = []
    for fields in (
        {"Variable": "CALLERID(num)"},
        {"Variable": "CALLERID(name)"},
        {"Variable": "AMI_SIM_UNSET"},
    ):
        r = await d.call("Getvar", Channel=chan, **fields)
        out.append(_answer(r, "Variable", "Value"))
    out.append(_answer(await d.call("Setvar", Channel=chan, Variable="AMI_SIM_X", Value="v1")))
    out.append(_answer(await d.call("Getvar", Channel=chan, Variable="AMI_SIM_X"), "Value"))
    out.append(_answer(await d.call("Getvar", Variable="AMI_SIM_X"), "Value"))  # not global
    out.append(_answer(await d.call("Hangup", Channel=chan)))
    await d.call("Logoff")
    await d.aclose()
    return out


SEQUENCES = [_challenges, _challenge_twice, _commands, _channel_vars]


async def _simulated(sequence: Callable[[Driver], Awaitable[list[Answer]]]) -> list[Answer]:
    async with Simulator(time_scale=0.05) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(10):
            return await sequence(d)


async def test_challenge_answers() -> None:
    assert await _simulated(_challenges) == [
        ("Error", "Must specify AuthType"),
        ("Error", "Must specify AuthType"),
        ("Error", "Authentication failed"),
    ]
    # One challenge per session; the key is compared exactly.
    assert await _simulated(_challenge_twice) == [
        ("Success", "True"),
        ("Error", "Authentication failed", "True"),
    ]


async def test_command_answers() -> None:
    answers = await _simulated(_commands)
    assert answers[0] == ("Success", "Command output follows",
                          "Local/nope@ami-test-X;N is not a known channel")  # fmt: skip
    assert answers[1] == ("Error", "Command output follows",
                          "There is no existence of nope@ami-test extension",
                          "Command 'dialplan show nope@ami-test' failed.")  # fmt: skip
    assert answers[2] == ("Error", "Command output follows",
                          "There is no existence of 'nocontext' context",
                          "Command 'dialplan show wait@nocontext' failed.")  # fmt: skip
    assert answers[3] == ("Success", "Command output follows", "N active channels",
                          "N active calls", "N calls processed")  # fmt: skip
    assert answers[4][2:] == ("System uptime: DURATION", "Last reload: DURATION")


async def test_core_show_channels_counts_in_the_singular() -> None:
    # Asterisk writes each count with ESS(): "1 active call", "2 active channels", "0 calls".
    async def counts(d: Driver) -> tuple[str, ...]:
        answer = await d.call("Command", Command="core show channels count")
        return tuple(answer.get_all("Output"))

    async with Simulator(time_scale=0.05) as sim:
        d = Driver(sim.connect_memory())
        await d.read_banner()
        with anyio.fail_after(10):
            await d.login()
            assert await counts(d) == ("0 active channels", "0 active calls", "0 calls processed")
            await d.call("Originate", Channel="Local/wait@ami-test", Application="Wait",
                         Data="10", Async="true")  # fmt: skip
            while len(sim.pbx.channels) < 2:  # the two halves of one Local call
                await d.until(lambda m: isinstance(m, Event) and m.name == "Newchannel")
            assert await counts(d) == ("2 active channels", "1 active call", "2 calls processed")
            sim.pbx.calls_processed = 1
            assert (await counts(d))[2] == "1 call processed"
            await d.aclose()


@pytest.mark.parametrize(
    ("secs", "text"),
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "60 seconds"),  # a unit only when more than one of it remains
        (61, "1 minute, 1 second"),
        (120, "2 minutes"),
        (3600, "60 minutes"),
        (3630, "1 hour, 30 seconds"),
        (3660, "1 hour, 60 seconds"),
        (90061, "1 day, 1 hour, 1 minute, 1 second"),
        (8 * 86400 + 7200, "1 week, 1 day, 2 hours"),
        (400 * 86400, "1 year, 5 weeks"),
    ],
)
def test_uptime_as_asterisk_writes_it(secs: int, text: str) -> None:
    assert uptime_text(secs) == text
    assert _DURATION.fullmatch(text)


async def test_channel_variable_answers() -> None:
    assert await _simulated(_channel_vars) == [
        ("Success", "", "CALLERID(num)", "5550100"),
        ("Success", "", "CALLERID(name)", "Fidelity"),
        ("Success", "", "AMI_SIM_UNSET", ""),
        ("Success", "Variable Set"),
        ("Success", "", "v1"),
        ("Success", "", ""),
        ("Success", "Channel Hungup"),
    ]


@pytest.mark.asterisk
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_actions_match_asterisk(asterisk: AsteriskServer) -> None:
    problems = []
    for sequence in SEQUENCES:
        simulated = await _simulated(sequence)
        with anyio.fail_after(15):
            real = await sequence(await Driver.tcp(asterisk.host, asterisk.ami_port))
        if real != simulated:
            problems.append(f"{sequence.__name__}:\n  real {real}\n  sim  {simulated}")
    assert problems == [], "\n".join(problems)
