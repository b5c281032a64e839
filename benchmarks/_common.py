"""Shared helpers for the benchmarks: the corpus, and interleaved best-of timing."""

from __future__ import annotations

import gc
import gzip
import os
import statistics
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


def timed_rounds(
    contenders: dict[str, Callable[[], object]], rounds: int
) -> dict[str, list[float]]:
    """CPU seconds of every round of each contender, in round order. Rounds interleave so that
    machine noise (this VM's speed varies by 2x over seconds) hits every contender alike. Each
    round starts right after a full garbage collection, so that one the rounds before made due
    does not land on whichever contender happens to cross the threshold (see bench_client)."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            gc.collect()
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)
    return times


def best_of(contenders: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """CPU seconds of each contender's fastest round (see timed_rounds)."""
    return {name: min(times) for name, times in timed_rounds(contenders, rounds).items()}


def paired_ratios(ours: list[float], baseline: list[float]) -> str:
    """The baseline's time over ours, round by round: median, lowest and highest.

    The two runs of one round follow each other, so a slow stretch of the machine mostly hits
    both: their ratio shows the typical round, where the ratio of the two bests shows the best
    each side did (at its luckiest moment, which need not be the same moment for both).
    """
    ratios = sorted(base / our for our, base in zip(ours, baseline, strict=True))
    return (
        f"round by round: median {statistics.median(ratios):.2f}, "
        f"{ratios[0]:.2f} to {ratios[-1]:.2f} over {len(ratios)} rounds"
    )
