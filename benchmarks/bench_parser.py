"""Parser throughput on the real corpus, beside a naive split-into-dicts loop.

Both read the corpus in 64 KiB chunks and touch every field of every message. The baseline is
the loop most AMI clients are built on: ``bytes.split(b"\\r\\n\\r\\n")``, split lines, a dict of
key -> value (no LF tolerance, no repeated keys, no limits, no raw bytes, no Follows).
Printed: the ratio of the two bests of 9 interleaved rounds (the target's figure), and under
it the ratio round by round (median, lowest, highest; see ``_common.paired_ratios``).
Run: ``python -m benchmarks.bench_parser`` (``nox -s bench``).
"""

from __future__ import annotations

import argparse

from ami_client.protocol import Message, Parser

from ._common import chunks, load_corpus, paired_ratios, timed_rounds


def ami_client_parser(pieces: list[bytes]) -> int:
    parser = Parser()
    count = 0
    for piece in pieces:
        parser.receive_data(piece)
        for item in parser.next_events():
            if isinstance(item, Message):
                count += 1
                for key in item:
                    item[key]
    parser.receive_data(b"")
    parser.next_events()
    return count


def naive_baseline(pieces: list[bytes]) -> int:
    buffer = b""
    count = 0
    for piece in pieces:
        buffer += piece
        blocks = buffer.split(b"\r\n\r\n")
        buffer = blocks.pop()
        for block in blocks:
            fields = {}
            for line in block.decode("utf-8", "replace").split("\r\n"):
                key, _, value = line.partition(": ")
                fields[key] = value
            count += 1
            for key in fields:
                fields[key]
    return count


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__).parse_args(argv)
    del args
    data = load_corpus()
    pieces = chunks(data)
    n_ours, n_base = ami_client_parser(pieces), naive_baseline(pieces)
    assert n_ours >= n_base - 1, (n_ours, n_base)  # the baseline drops the banner+first message
    times = timed_rounds(
        {
            "ami_client": lambda: ami_client_parser(pieces),
            "baseline": lambda: naive_baseline(pieces),
        },
        rounds=9,
    )
    best = {name: min(values) for name, values in times.items()}
    rate = {name: n_ours / seconds for name, seconds in best.items()}
    print(f"parser: {len(data) / 1e6:.1f} MB, {n_ours} messages, 64 KiB chunks, every field read")
    for name, value in rate.items():
        print(f"  {name:<11} {value:>10,.0f} messages/s  ({len(data) / best[name] / 1e6:.1f} MB/s)")
    print(
        f"  ratio ami_client/baseline: {rate['ami_client'] / rate['baseline']:.2f} (target >= 1.0)"
    )
    print(f"    {paired_ratios(times['ami_client'], times['baseline'])}")


if __name__ == "__main__":
    main()
