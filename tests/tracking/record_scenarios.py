"""Re-record the tracker scenarios from the real Asterisk 22 into tests/data/scenarios/.

    python -m tests.tracking.record_scenarios [--start] [NAME ...]

Each scenario runs live (see harness.py); the bytes the tracker's connection received go to
``NAME.ami``, and where each seeding began and what the server listed at each checkpoint
(with the tracker equal to it) go to ``NAME.json``. Run it on a quiet server: other clients'
calls would be recorded too.
"""

from __future__ import annotations

import argparse
import sys

import anyio

from tests.asterisk.server import AsteriskServer
from tests.tracking.harness import SCENARIOS, save, session


async def record(server: AsteriskServer, names: list[str]) -> None:
    user, secret = server.admin
    for name in names:
        with anyio.fail_after(120):
            async with session(server.host, server.ami_port, user, secret) as run:
                await SCENARIOS[name](run)
                assert not run.tracker.reducer.violations, run.tracker.reducer.violations
        save(name, run, (SCENARIOS[name].__doc__ or "").strip())
        print(f"{name}: {len(run.proxy.received)} bytes, {len(run.checkpoints)} checkpoints")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", action="store_true", help="start the test Asterisk first")
    parser.add_argument("names", nargs="*", choices=[*SCENARIOS, []], help="default: all")
    args = parser.parse_args(argv)
    server = AsteriskServer()
    if args.start:
        server.start()
    anyio.run(record, server, args.names or list(SCENARIOS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
