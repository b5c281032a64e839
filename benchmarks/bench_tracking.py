"""The trackers on the real corpus, beside the typed parse of the same run; memory per channel.

Contenders, interleaved, best of N rounds (CPU time), over the 300-call Asterisk 22 capture:

- ``parse+type``: the sans-IO parser (64 KiB chunks) and ``events.from_message`` on every
  event: the baseline, what any typed consumer pays;
- ``parse+type+track``: the same, every event fed to a :class:`~ami_client.tracking.Reducer`.

Events/s are over the corpus's events. Memory: live channels held by a reducer, measured with
tracemalloc (two halves of a Local call, bridged, with their dial), divided by the number of
channels.

    python -m benchmarks.bench_tracking [--rounds N] [--calls N]
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

from ami_client import Event, events
from ami_client.protocol import Parser
from ami_client.tracking import Reducer
from benchmarks._common import best_of, chunks, load_corpus


def typed(pieces: list[bytes]) -> list[events.TypedEvent]:
    parser = Parser()
    from_message = events.from_message
    out = []
    for piece in pieces:
        parser.receive_data(piece)
        for item in parser.next_events():
            if type(item) is Event:
                out.append(from_message(item))
    return out


def parse_and_type(pieces: list[bytes]) -> int:
    return len(typed(pieces))


def seeded() -> Reducer:
    """A reducer seeded with empty lists: the capture starts on an idle server, so from the
    first event on every guarantee is checked (and a broken one counted)."""
    reducer = Reducer()
    reducer.begin_sync(channels_action_id="bench-c", bridges_action_id="bench-b")
    for name, action_id in (
        ("BridgeListComplete", "bench-b"),
        ("CoreShowChannelsComplete", "bench-c"),
    ):
        reducer.feed(events.from_message(Event([("Event", name), ("ActionID", action_id)])))
    return reducer


def parse_type_and_track(pieces: list[bytes]) -> int:
    parser = Parser()
    from_message = events.from_message
    feed = seeded().feed
    count = 0
    for piece in pieces:
        parser.receive_data(piece)
        for item in parser.next_events():
            if type(item) is Event:
                feed(from_message(item))
                count += 1
    return count


def _call(i: int) -> list[events.TypedEvent]:
    """The events that bring one Local call up: 2 channels, a dial, a bridge."""
    a, b, x = f"1700000000.{2 * i}", f"1700000000.{2 * i + 1}", f"bridge-{i}"

    def chan(uid: str, prefix: str = "") -> list[tuple[str, str]]:
        return [
            (f"{prefix}Channel", f"Local/wait@ami-test-{i:08x};{1 if uid == a else 2}"),
            (f"{prefix}ChannelState", "6"),
            (f"{prefix}ChannelStateDesc", "Up"),
            (f"{prefix}CallerIDNum", "100"),
            (f"{prefix}CallerIDName", "Alice"),
            (f"{prefix}ConnectedLineNum", "200"),
            (f"{prefix}ConnectedLineName", "Bob"),
            (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""),
            (f"{prefix}Context", "ami-test"),
            (f"{prefix}Exten", "wait"),
            (f"{prefix}Priority", "2"),
            (f"{prefix}Uniqueid", uid),
            (f"{prefix}Linkedid", a),
            (f"{prefix}ChanVariable", "AMI_TEST_VAR=from-originate"),
        ]

    bridge = [("BridgeUniqueid", x), ("BridgeType", "basic"), ("BridgeTechnology", "simple_bridge")]
    msgs = [
        [("Event", "Newchannel"), *chan(a)],
        [("Event", "Newchannel"), *chan(b)],
        [("Event", "DialBegin"), *chan(a), *chan(b, "Dest"), ("DialString", "wait")],
        [("Event", "Newexten"), *chan(b), ("Application", "Wait"), ("AppData", "30")],
        [("Event", "BridgeCreate"), *bridge],
        [("Event", "BridgeEnter"), *bridge, *chan(a)],
        [("Event", "BridgeEnter"), *bridge, *chan(b)],
    ]
    return [events.from_message(Event(m)) for m in msgs]


def memory_per_channel(calls: int) -> tuple[float, int]:
    """Bytes per live channel (bridges and dials included), and what is left after hangup."""
    tracemalloc.start()
    reducer = Reducer()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(calls):
        for event in _call(i):  # each call's events are garbage once fed
            reducer.feed(event)
    gc.collect()
    live = tracemalloc.get_traced_memory()[0] - before
    for i in range(calls):
        for uid in (f"1700000000.{2 * i}", f"1700000000.{2 * i + 1}"):
            bridge = [("BridgeUniqueid", f"bridge-{i}")]
            reducer.feed(
                events.from_message(Event([("Event", "BridgeLeave"), *bridge, ("Uniqueid", uid)]))
            )
            reducer.feed(
                events.from_message(
                    Event([("Event", "Hangup"), ("Uniqueid", uid), ("Cause", "16")])
                )
            )
        reducer.feed(
            events.from_message(
                Event([("Event", "BridgeDestroy"), ("BridgeUniqueid", f"bridge-{i}")])
            )
        )
    gc.collect()
    left = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    if reducer.channels or reducer.bridges:
        raise AssertionError("the tracker must be empty once every call has ended")
    return live / (2 * calls), left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args(argv)
    pieces = chunks(load_corpus())
    n = parse_and_type(pieces)
    reducer = seeded()
    for event in typed(pieces):
        reducer.feed(event)
    best = best_of(
        {
            "parse+type": lambda: parse_and_type(pieces),
            "parse+type+track": lambda: parse_type_and_track(pieces),
        },
        args.rounds,
    )
    base, ours = best["parse+type"], best["parse+type+track"]
    print(
        f"corpus: {n} events; tracker at the end: {len(reducer.channels)} channels, "
        f"{len(reducer.bridges)} bridges, violations {dict(reducer.violations) or 'none'}"
    )
    print(f"parse+type        {n / base:12,.0f} events/s  (baseline)")
    print(f"parse+type+track  {n / ours:12,.0f} events/s  ({ours / base:.2f}x the baseline's time)")
    print(f"tracking alone    {n / (ours - base):12,.0f} events/s" if ours > base else "")
    per, left = memory_per_channel(args.calls)
    print(
        f"memory: {per:,.0f} bytes per live channel ({args.calls} bridged calls); "
        f"{left:,} bytes left after every call ended"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
