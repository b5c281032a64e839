"""The README's first program: Ping, list channels, originate a call, watch it hang up.

    AMI_HOST=127.0.0.1 AMI_PORT=5038 AMI_USERNAME=admin AMI_SECRET=... \\
        python examples/quickstart.py [--channel Local/100@default --context default --exten 200]

Without AMI_HOST it starts the built-in simulator (``ami_client.testing``) and runs there.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

import anyio

import ami_client
from ami_client import actions, events


async def quickstart(server: Mapping[str, Any], channel: str, context: str, exten: str) -> None:
    async with ami_client.connect(**server) as ami:
        pong = await ami.send(actions.Ping())  # matched by ActionID
        print("ping:", pong.status)
        listing = await ami.collect(actions.CoreShowChannels())  # EventList: items + completion
        print("channels up:", len(listing.items))
        for item in listing.items:
            print("  ", item.channel.channel, item.channel.channel_state_desc)
        async with ami.subscribe(events.Newchannel, events.Hangup) as stream:
            result = await ami.originate(
                actions.Originate(channel=channel, context=context, exten=exten, priority=1)
            )
            print("originate:", "answered" if result.success else f"failed ({result.reason})")
            created: set[str] = set()
            with anyio.fail_after(60):
                async for event in stream:
                    if isinstance(event, events.Newchannel):
                        created.add(event.channel.unique_id or "")
                        print("new:   ", event.channel.channel)
                    elif isinstance(event, events.Hangup):
                        created.discard(event.channel.unique_id or "")
                        print(
                            "hangup:", event.channel.channel, "cause", event.cause, event.cause_txt
                        )
                        if not created:
                            break


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channel", default="Local/dial-short@ami-test")
    parser.add_argument("--context", default="ami-test")
    parser.add_argument("--exten", default="wait-1")
    args = parser.parse_args(argv)
    if "AMI_HOST" in os.environ:
        server = {
            "host": os.environ["AMI_HOST"],
            "port": int(os.environ.get("AMI_PORT", "5038")),
            "username": os.environ["AMI_USERNAME"],
            "secret": os.environ["AMI_SECRET"],
        }
        await quickstart(server, args.channel, args.context, args.exten)
        return 0
    from ami_client.testing import serve

    async with serve(time_scale=0.1) as sim:
        host, port = sim.address
        server = {"host": host, "port": port, "username": "admin",
                  "secret": sim.users["admin"].secret}  # fmt: skip
        await quickstart(server, args.channel, args.context, args.exten)
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
