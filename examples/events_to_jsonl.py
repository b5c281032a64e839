"""Export AMI events as JSON lines: one object per event, repeated keys as lists.

    AMI_HOST=127.0.0.1 AMI_USERNAME=admin AMI_SECRET=... \\
        python examples/events_to_jsonl.py [--count N] [--output FILE] [EVENT ...]

Without AMI_HOST it runs against the built-in simulator and originates one call there, so
there is something to export. Every field is kept, in wire order; a reader can rebuild the
generic event with ``ami_client.Event(pairs)``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import anyio

import ami_client


def as_json(event: Any) -> str:
    """The event as one JSON object; a key that repeats (ChanVariable) maps to a list."""
    out: dict[str, Any] = {}
    for key, value in getattr(event, "message", event).fields:
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return json.dumps(out, ensure_ascii=False)


async def export(server: Mapping[str, Any], names: list[str], count: int, out: TextIO) -> int:
    written = 0
    async with ami_client.connect(**server) as ami, ami.subscribe(*names) as events:
        async for event in events:
            out.write(as_json(event) + "\n")
            written += 1
            if count and written >= count:
                break
    out.flush()
    return written


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these events (default: all)")
    parser.add_argument("--count", type=int, default=0, help="stop after this many (0: never)")
    parser.add_argument("--output", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    out: TextIO = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115, ASYNC230
    server: dict[str, Any]
    try:
        if "AMI_HOST" in os.environ:
            server = {
                "host": os.environ["AMI_HOST"],
                "port": int(os.environ.get("AMI_PORT", "5038")),
                "username": os.environ["AMI_USERNAME"],
                "secret": os.environ["AMI_SECRET"],
            }
            await export(server, args.names, args.count, out)
            return 0
        from ami_client.testing import serve

        async with serve(time_scale=0.05) as sim, anyio.create_task_group() as tg:
            host, port = sim.address
            server = {
                "host": host,
                "port": port,
                "username": "admin",
                "secret": sim.users["admin"].secret,
            }

            async def make_a_call() -> None:
                await anyio.sleep(0.2)  # once the exporter is subscribed
                async with ami_client.connect(**server) as ami:
                    await ami.originate(ami_client.Action(
                        "Originate", Channel="Local/dial-short@ami-test", Context="ami-test",
                        Exten="wait-1", Priority=1,
                    ))  # fmt: skip

            tg.start_soon(make_a_call)
            await export(server, args.names, args.count, out)
        return 0
    finally:
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    sys.exit(anyio.run(main))
