"""A live call dashboard: every change to channels, bridges, dials and calls, as it happens.

    python examples/call_dashboard.py [HOST] [PORT] [--user admin] [--secret ...] [--seconds N]

It tracks the server with ``ami_client.track`` (seeded from what is up already, re-seeded
after a reconnect), prints one line per change, and a summary of the live calls at the end.
"""

from __future__ import annotations

import argparse
import sys

import anyio

import ami_client
from ami_client.tracking import (
    BridgeChange,
    CallChange,
    Change,
    ChannelChange,
    DialChange,
    Tracker,
)


def describe(change: Change) -> str | None:
    """One line for a change worth showing (None for small updates)."""
    if isinstance(change, CallChange):
        return f"call {change.linked_id} {'started' if change.started else 'ended'}"
    if isinstance(change, ChannelChange):
        if change.old is None and change.new is not None:
            return f"  + {change.new.name} ({change.reason})"
        if change.new is None and change.old is not None:
            cause = change.final.hangup_cause_txt if change.final is not None else None
            return f"  - {change.old.name} ({cause or change.reason})"
        old, new = change.old, change.new
        if old is not None and new is not None and new.state is not None and old.state != new.state:
            return f"    {new.name} is {new.state.name}"
        return None
    if isinstance(change, BridgeChange):
        if change.old is None and change.new is not None:
            return f"  bridge {change.new.unique_id} ({change.new.type}) created"
        if change.new is None and change.old is not None:
            return f"  bridge {change.old.unique_id} gone"
        before, after = change.old, change.new
        if before is not None and after is not None and before.members != after.members:
            return f"  bridge {after.unique_id} has {len(after.members)} members"
        return None
    if isinstance(change, DialChange):
        if change.new.ended:
            return f"  dial {change.new.caller} -> {change.new.dest}: {change.new.status}"
        if change.old is None:
            return f"  dial {change.new.caller} -> {change.new.dest} ({change.new.dial_string})"
        return None
    t = change.transfer  # the last kind: a TransferChange
    return f"  {t.kind} transfer by {t.transferer}: {t.result}"


def summary(tracker: Tracker) -> list[str]:
    lines = []
    for linked_id, call in tracker.calls.items():
        names = ", ".join(ch.name for ch in call.channels)
        lines.append(f"live call {linked_id}: {len(call.bridges)} bridge(s); {names}")
    stats = tracker.statistics()
    lines.append(
        f"{stats.channels} channels, {stats.bridges} bridges, {stats.events} events, "
        f"violations: {stats.violations or 'none'}"
    )
    return lines


async def dashboard(args: argparse.Namespace) -> None:
    async with (
        ami_client.connect(args.host, args.port, username=args.user, secret=args.secret) as ami,
        ami_client.track(ami) as tracker,
        tracker.changes() as changes,
    ):
        print(f"tracking {args.host}:{args.port}: {len(tracker.channels)} channels up", flush=True)
        with anyio.move_on_after(args.seconds):
            async for change in changes:
                line = describe(change)
                if line is not None:
                    print(line, flush=True)
        for line in summary(tracker):
            print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print call state changes as they happen.")
    parser.add_argument("host", nargs="?", default="127.0.0.1")
    parser.add_argument("port", nargs="?", type=int, default=5038)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--secret", default="ami-admin-secret")
    parser.add_argument("--seconds", type=float, default=60.0)
    anyio.run(dashboard, parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
