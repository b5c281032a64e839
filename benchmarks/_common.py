"""Shared helpers for the benchmarks: the corpus, and interleaved best-of timing."""

from __future__ import annotations

import gc
import gzip
import os
import time
from collections.abc import Callable
from pathlib import Path

CORPUS = Path(
    os.environ.get(
        "AMI_CORPUS",
        Path(__file__).resolve().parents[2] / "shared" / "corpus" / "asterisk22-300calls.ami.gz",
    )
)


def load_corpus() -> bytes:
    """The real Asterisk 22 capture of 300 calls (25,222 messages, 9.3 MB), decompressed."""
    return gzip.decompress(CORPUS.read_bytes())


def chunks(data: bytes, size: int = 64 * 1024) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def best_of(contenders: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """CPU seconds of each contender's fastest round; rounds interleave so that machine noise
    (this VM's speed varies by 2x over seconds) hits every contender alike. Each round starts
    right after a full garbage collection, so that one the rounds before made due does not
    land on whichever contender happens to cross the threshold (see bench_client)."""
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, run in contenders.items():
            gc.collect()
            start = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - start)
    return best
