"""A call both fidelity suites watch through a filtered user: an Originate of
``Local/dial-short`` (a Dial, a bridge, four channels), run beside an unfiltered admin session
that tells when it is over."""

from __future__ import annotations

import anyio

from ami_client.protocol import Event
from tests.simulator.compare import only_call, per_channel
from tests.simulator.driver import Driver

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
    with anyio.move_on_after(0.3):
        while True:
            await admin.next()
    await watcher.call("Ping")  # everything before it has been handed to the session
    for d in (watcher, admin):
        await d.call("Logoff")
        await d.aclose()


def call_event_names(driver: Driver) -> dict[str, list[str]]:
    """Per channel of the call, the names of the events ``driver`` received."""
    return {
        channel: [name for name, _ in events]
        for channel, events in per_channel(only_call(driver.received, PREFIX, set())).items()
    }
