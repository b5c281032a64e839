"""Typed events on the real corpus, beside the untyped parser of the same run.

Three contenders, interleaved, best of N rounds (CPU time):

- ``parse``: the sans-IO parser alone (64 KiB chunks), the baseline;
- ``parse+type``: the same, plus ``events.from_message`` on every event;
- ``parse+type+read``: the same, plus reading *every* typed attribute of every event
  (snapshots included): the worst case, where an application converts every field.

Aim (issue #4): typing costs less than half of the untyped parse, i.e. parse+type takes less
than 1.5x parse alone.
"""

from __future__ import annotations

import argparse

from ami_client import Event, events
from ami_client._private.catalogue._base import BridgeSnapshot, ChannelSnapshot
from ami_client.protocol import Parser
from benchmarks._common import best_of, chunks, load_corpus


def parse(pieces: list[bytes]) -> int:
    parser = Parser()
    count = 0
    for piece in pieces:
        parser.receive_data(piece)
        for item in parser.next_events():
            if isinstance(item, Event):
                count += 1
    parser.receive_data(b"")
    parser.next_events()
    return count


def parse_and_type(pieces: list[bytes]) -> int:
    parser = Parser()
    from_message = events.from_message
    count = 0
    for piece in pieces:
        parser.receive_data(piece)
        for item in parser.next_events():
            if isinstance(item, Event):
                from_message(item)
                count += 1
    parser.receive_data(b"")
    parser.next_events()
    return count


def parse_type_and_read(pieces: list[bytes]) -> int:
    parser = Parser()
    from_message = events.from_message
    count = 0
    for piece in pieces:
        parser.receive_data(piece)
        for item in parser.next_events():
            if isinstance(item, Event):
                typed = from_message(item)
                for attr in type(typed).field_keys():
                    value = getattr(typed, attr)
                    if isinstance(value, (ChannelSnapshot, BridgeSnapshot)):
                        for sub in type(value)._FIELDS:
                            getattr(value, sub)
                count += 1
    parser.receive_data(b"")
    parser.next_events()
    return count


def main(argv: list[str] | None = None) -> None:
    """Print typed events/s beside untyped events/s and the ratio."""
    cli = argparse.ArgumentParser(description=__doc__)
    cli.add_argument("--rounds", type=int, default=7)
    args = cli.parse_args(argv)
    pieces = chunks(load_corpus())
    n = parse(pieces)
    assert parse_and_type(pieces) == n == parse_type_and_read(pieces)
    best = best_of(
        {
            "parse": lambda: parse(pieces),
            "parse+type": lambda: parse_and_type(pieces),
            "parse+type+read": lambda: parse_type_and_read(pieces),
        },
        rounds=args.rounds,
    )
    print(f"catalogue: {n} events of the 300-call corpus, best of {args.rounds} interleaved rounds")
    for name, seconds in best.items():
        print(f"  {name:<16} {n / seconds:>10,.0f} events/s")
    ratio = best["parse+type"] / best["parse"]
    print(f"  parse+type / parse time: {ratio:.3f} (target < 1.5)")
    print(f"  parse+type+read / parse time: {best['parse+type+read'] / best['parse']:.3f}")


if __name__ == "__main__":
    main()
