"""Read a raw AMI capture as typed events, and build a typed action: no server needed.

    python examples/typed_events.py [CAPTURE]

Without an argument it reads tests/data/transcripts/originate.ami (a real Asterisk 22
session). It follows each dial with ``DialBegin``/``DialEnd`` (``event.dest`` is the dialled
channel's snapshot), prints hang-up causes as numbers, the channel variables of the
``OriginateResponse``, and finally the bytes of a typed ``Originate`` action.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ami_client import Event, actions, events
from ami_client.protocol import Parser, serialize_action

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "transcripts" / "originate.ami"


def report(data: bytes) -> list[str]:
    """One line per interesting typed event of the capture."""
    parser = Parser()
    parser.receive_data(data)
    parser.receive_data(b"")
    out = []
    for item in parser.next_events():
        if not isinstance(item, Event):
            continue
        event = events.from_message(item)
        if isinstance(event, events.DialBegin):
            out.append(f"dial   {event.channel.channel} -> {event.dest.channel}")
        elif isinstance(event, events.DialEnd):
            out.append(f"answer {event.dest.channel}: {event.dial_status}")
        elif isinstance(event, events.Hangup):
            out.append(f"hangup {event.channel.channel}: cause {event.cause} ({event.cause_txt})")
        elif isinstance(event, events.OriginateResponse):
            variables = dict(event.chan_variables.get(event.channel or "", {}))
            out.append(f"origin {event.channel}: {event.response}, variables {variables}")
        elif isinstance(event, events.GenericEvent):
            out.append(f"other  {event.name} ({len(event.message.fields)} fields kept)")
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the report of a capture and one typed action's bytes."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("capture", nargs="?", type=Path, default=DEFAULT)
    args = cli.parse_args(argv)
    for line in report(args.capture.read_bytes()):
        print(line)
    originate = actions.Originate(
        channel="Local/echo@ami-test",
        exten="wait",
        context="ami-test",
        priority=1,
        async_=True,
        variables={"AMI_TEST_VAR": "from-example"},
    )
    sys.stdout.write(serialize_action(originate.to_action(), "example-1").decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
