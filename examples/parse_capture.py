"""Parse a raw AMI capture with the sans-IO core and summarise it: no server, no I/O library.

    python examples/parse_capture.py [CAPTURE[.gz]]

Without an argument it reads the 300-call Asterisk 22 corpus that sits beside the repository
(``../shared/corpus/asterisk22-300calls.ami.gz``). It prints the event counts, the calls
(channels grouped by Linkedid) and how they ended: the kind of summary a call-center report
starts from, built only on ``Parser`` and the message model.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections import Counter, defaultdict
from pathlib import Path

from ami_client.protocol import Banner, Event, Parser, Response

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "asterisk22-300calls.ami.gz"


def summarise(data: bytes, out: list[str]) -> None:
    parser = Parser()
    events: Counter[str] = Counter()
    responses: Counter[str] = Counter()
    calls: dict[str, set[str]] = defaultdict(set)
    causes: Counter[str] = Counter()
    for start in range(0, len(data), 65536):  # as a socket would deliver it
        parser.receive_data(data[start : start + 65536])
        for item in parser.next_events():
            if isinstance(item, Banner):
                out.append(f"server: {item.name} {item.version}")
            elif isinstance(item, Event):
                events[item.name] += 1
                if item.name == "Newchannel":
                    calls[item["Linkedid"]].add(item["Channel"])
                elif item.name == "Hangup":
                    causes[item.get("Cause-txt") or item.get("Cause") or "?"] += 1
            elif isinstance(item, Response):
                responses[item.status] += 1
    parser.receive_data(b"")
    parser.next_events()  # raises RemoteProtocolError if the capture ends mid-message
    out.append(f"{sum(events.values())} events of {len(events)} kinds, responses {dict(responses)}")
    for name, count in events.most_common(8):
        out.append(f"  {name:<20} {count}")
    sizes = dict(sorted(Counter(len(channels) for channels in calls.values()).items()))
    out.append(f"{len(calls)} calls (by Linkedid); channels per call: {sizes}")
    out.append(f"hangup causes: {dict(causes.most_common())}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", nargs="?", type=Path, default=DEFAULT)
    args = parser.parse_args(argv)
    raw = args.capture.read_bytes()
    data = gzip.decompress(raw) if args.capture.suffix == ".gz" else raw
    lines: list[str] = []
    summarise(data, lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
