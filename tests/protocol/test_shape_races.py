"""The shared shape cache keeps its bounds when two threads learn at the same moment.

A thread checks the bounds, compiles the pattern (slow, so outside the lock), then takes the
lock to record it. Another thread may record shapes in between: these tests make that happen
deterministically with a lock that lets the other thread in first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

from ami_client._private.shapes import ShapeCache
from ami_client.protocol import Event


class LockLostToAnotherThread:
    """The cache's lock as a thread finds it when ``other`` got there first."""

    def __init__(self, other: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._other: Callable[[], None] | None = other

    def __enter__(self) -> None:
        other, self._other = self._other, None
        if other is not None:
            other()  # it takes this lock too, and finishes first
        self._lock.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()


def test_the_same_shape_learned_twice_at_once_is_kept_once() -> None:
    cache = ShapeCache()
    lines = ["Event: Hangup", "Channel: PJSIP/a-1", "Cause: 16"]
    cache._lock = LockLostToAnotherThread(lambda: cache.learn(lines, Event))  # type: ignore[assignment]
    cache.learn(lines, Event)
    (shape,) = cache.by_head["Event: Hangup"]
    assert shape[1] == ("Event", "Channel", "Cause")
    assert cache.lines == 3


def test_the_total_bound_holds_against_a_thread_that_filled_it_meanwhile() -> None:
    cache = ShapeCache(max_total_lines=5)
    cache._lock = LockLostToAnotherThread(  # type: ignore[assignment]
        lambda: cache.learn(["Event: Newexten", "Channel: a", "Exten: 100"], Event)
    )
    cache.learn(["Event: Hangup", "Channel: a", "Cause: 16"], Event)  # 3 + 3 > 5
    assert list(cache.by_head) == ["Event: Newexten"]
    assert cache.lines == 3


def test_the_bound_per_first_line_holds_against_a_thread_that_filled_it_meanwhile() -> None:
    cache = ShapeCache()

    def other() -> None:
        for i in range(16):
            cache.learn(["Response: Success", f"Key{i}: v"], Event)

    cache._lock = LockLostToAnotherThread(other)  # type: ignore[assignment]
    cache.learn(["Response: Success", "Ping: Pong"], Event)
    shapes = cache.by_head["Response: Success"]
    assert len(shapes) == 16
    assert all(shape[1] != ("Response", "Ping") for shape in shapes)
    assert cache.lines == 32
