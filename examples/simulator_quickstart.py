"""Run an AMI server simulator in-process and talk to it: no Asterisk needed.

Usage::

    python examples/simulator_quickstart.py

Starts ``ami_client.testing.serve()`` on a free loopback port, connects over TCP with the
sans-IO protocol core, logs in, originates a Local call (whose events follow Asterisk 22's
sequence) and prints the events until the call is over; then makes the simulator fail the
next Ping, as a test would, to show the scripting API. Point your own application (or
``ami_client``'s client) at ``sim.address`` (host, port) the same way.
"""

from __future__ import annotations

import anyio

from ami_client.protocol import (
    NEED_DATA,
    Action,
    ActionIdGenerator,
    Event,
    Message,
    Parser,
    Response,
    serialize_action,
)
from ami_client.testing import serve


async def main() -> list[str]:
    lines: list[str] = []
    async with serve(time_scale=0.05) as sim, await anyio.connect_tcp(*sim.address) as sock:
        parser = Parser()
        ids = ActionIdGenerator("demo")

        async def receive() -> Message:
            while (item := parser.next_event()) is NEED_DATA or not isinstance(item, Message):
                if item is NEED_DATA:
                    parser.receive_data(await sock.receive())
            return item

        async def call(name: str, **fields: object) -> Response:
            action_id = ids()
            await sock.send(serialize_action(Action(name, fields), action_id))
            while True:
                msg = await receive()
                if isinstance(msg, Response) and msg.action_id == action_id:
                    return msg
                if isinstance(msg, Event):
                    lines.append(f"  event {msg.name}")

        admin = sim.users["admin"]  # the test server's accounts: admin, restricted, filtered
        login = await call("Login", Username=admin.username, Secret=admin.secret)
        lines.append(f"Login: {login['Message']}")
        r = await call("Originate", Channel="Local/dial-short@ami-test", Context="ami-test",
                       Exten="wait-3", Priority=1, CallerID="Demo <100>", Async="true")  # fmt: skip
        lines.append(f"Originate: {r['Message']}")
        hangups = 0
        with anyio.fail_after(10):
            while hangups < 4:
                msg = await receive()
                if isinstance(msg, Event):
                    channel = msg.get("Channel") or msg.get("DestChannel") or ""
                    lines.append(f"  event {msg.name} {channel}".rstrip())
                    hangups += msg.name == "Hangup"
        sim.fail_next_action("Ping", "Simulated outage")
        ping = await call("Ping")
        lines.append(f"Ping: {ping.status} ({ping['Message']})")
        lines.append(f"Actions the simulator received: {[a.name for a in sim.received_actions]}")
        await call("Logoff")
    for line in lines:
        print(line)
    return lines


if __name__ == "__main__":
    anyio.run(main)
