"""A call both fidelity suites watch through a filtered user: an Originate of
``Local/dial-short`` (a Dial, a bridge, four channels), run beside an unfiltered admin session
that tells when it is over."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from ami_client.protocol import Event
from ami_client.testing import Simulator
from tests.asterisk.server import AsteriskServer
from tests.simulator.compare import only_call, per_channel
from tests.simulator.driver import Driver

_T = TypeVar("_T")

PREFIX = "Local/dial-short@ami-test-"


async def originate_dial_short(driver: Driver) -> None:
    await driver.call("Originate", Channel="Local/dial-short@ami-test", Context="ami-test",
                      Exten="wait-3", Priority=1, Timeout=10000, Async="true")  # fmt: skip


async def finish_call(admin: Driver, watcher: Driver) -> None:
    """Wait (on ``admin``, who sees every event) until the call's four channels hung up and
    the stream settles; then make sure ``watcher`` was handed everything before (a Ping), and
    log both off."""

    def hangups() -> int:
        call = only_call(admin.received, PREFIX, set())
        return sum(1 for e in call if isinstance(e, Event) and e.name == "Hangup")

    with anyio.fail_after(15):
        while hangups() < 4:
            await admin.next()
    await admin.settle()
    await watcher.call("Ping")  # everything before it has been handed to the session
    for d in (watcher, admin):
        await d.logoff()


def call_event_names(driver: Driver) -> dict[str, list[str]]:
    """Per channel of the call, the names of the events ``driver`` received."""
    return {
        channel: [name for name, _ in events]
        for channel, events in per_channel(only_call(driver.received, PREFIX, set())).items()
    }


async def simulated(scenario: Callable[[Driver, Driver], Awaitable[_T]]) -> _T:
    """What ``scenario``, given two fresh sessions, finds on the simulator."""
    async with Simulator(time_scale=0.05) as sim:
        first, second = Driver(sim.connect_memory()), Driver(sim.connect_memory())
        for d in (first, second):
            await d.read_banner()
        with anyio.fail_after(20):
            return await scenario(first, second)


async def simulated_and_real(
    scenario: Callable[[Driver, Driver], Awaitable[_T]], asterisk: AsteriskServer
) -> tuple[_T, _T]:
    """What ``scenario`` (given two fresh sessions) finds on the simulator, and on the real
    server. A shared server may disturb a run (another session's "hangup all"): the real run
    is tried up to three times, until it agrees."""
    on_simulator = await simulated(scenario)
    for attempt in range(3):
        if attempt:
            await anyio.sleep(1)
        with anyio.fail_after(30):
            real = await scenario(
                await Driver.tcp(asterisk.host, asterisk.ami_port),
                await Driver.tcp(asterisk.host, asterisk.ami_port),
            )
        if real == on_simulator:
            break
    return on_simulator, real
