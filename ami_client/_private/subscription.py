"""Subscriptions: per-subscriber bounded buffers, filters and overflow policies.

The client's reader hands every event to every matching subscription *synchronously*
(:meth:`Subscription._offer`): a deque append, no task switch, never an ``await``. So a
subscriber that stops reading can never hold up the reader, action responses or other
subscribers; what it costs is bounded by its buffer and its overflow policy.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
import anyio.lowlevel
import attrs

from ami_client._private.errors import ClientClosed, SubscriptionOverflow
from ami_client._private.message import Event

__all__ = [
    "Broadcast",
    "EventFilter",
    "Overflow",
    "Subscription",
    "SubscriptionStatistics",
    "compile_filters",
]

T = TypeVar("T")

#: What ``subscribe()`` accepts as a filter: an event name, a class with ``EVENT_NAME``
#: (the typed catalogue), :class:`~ami_client.Event` itself (every event), or a predicate.
EventFilter = Any

# A consumer draining its buffer checkpoints (lets others run, sees cancellation) once per
# *budget* of events, not on every one: a checkpoint per event costs as much as the rest of the
# delivery path together. The budget is what the buffer holds when the consumer last woke or
# yielded, so a consumer that keeps up drains each read's events before the reader runs again:
# with a fixed budget smaller than one read (a 64 KiB read holds ~150-1,000 events), the reader
# ran ahead by the difference on every turn, the backlog grew to thousands of live events and
# every event got slower to handle (they no longer fit in the CPU caches). Bounds: never below
# the first (a yield per few events costs), never above the second (other tasks must still run
# while a slow consumer works through a long backlog).
_MIN_BUDGET = 1024
_MAX_BUDGET = 4096


class Overflow(str, enum.Enum):
    """What happens when a subscriber's buffer is full and another event arrives."""

    #: Drop the oldest buffered event to make room, and count it (``statistics().dropped``).
    DROP_OLDEST = "drop_oldest"
    #: Drop the new event, and count it.
    DROP_NEWEST = "drop_newest"
    #: Close this subscription: its iterator raises :class:`~ami_client.SubscriptionOverflow`.
    FAIL = "fail"


@attrs.frozen(kw_only=True)
class SubscriptionStatistics:
    """A snapshot of one subscription.

    Attributes:
        buffered: Events waiting to be read.
        max_buffer: The buffer's bound.
        delivered: Events put in the buffer so far.
        dropped: Events lost to the overflow policy so far.
        overflow: The overflow policy.
        failed: True once the subscription was closed by an overflow (FAIL policy) or an error.
    """

    buffered: int
    max_buffer: int
    delivered: int
    dropped: int
    overflow: Overflow
    failed: bool


@attrs.frozen
class _Filters:
    match_all: bool
    names: frozenset[str]  # lowercased event names
    predicates: tuple[Callable[[Any], object], ...]


def compile_filters(filters: Iterable[EventFilter]) -> _Filters:
    """Check and normalise ``subscribe()`` filters; no filter at all means every event.

    Raises:
        TypeError: for something that is neither a name, an event class nor a callable.
        ValueError: for an empty name.
    """
    names: set[str] = set()
    predicates: list[Callable[[Any], object]] = []
    match_all = False
    count = 0
    for item in filters:
        count += 1
        if isinstance(item, str):
            if not item:
                raise ValueError("an event name filter cannot be empty")
            names.add(item.lower())
        elif isinstance(item, type):
            if issubclass(item, Event) and "EVENT_NAME" not in vars(item):
                # The generic Event (or a subclass without a name of its own): every event.
                match_all = True
                continue
            event_name = getattr(item, "EVENT_NAME", None)
            if not isinstance(event_name, str) or not event_name:
                raise TypeError(
                    f"{item.__qualname__} has no EVENT_NAME: pass an event class of the "
                    "typed catalogue, ami_client.Event, an event name or a predicate"
                )
            names.add(event_name.lower())
        elif callable(item):
            predicates.append(item)
        else:
            raise TypeError(
                f"cannot filter events by {item!r}: pass an event name, an event class "
                "or a predicate"
            )
    return _Filters(match_all or count == 0, frozenset(names), tuple(predicates))


def _attach_nothing(sub: Subscription[Any]) -> None:
    """The ``attach`` of a subscription that is fed by hand (a bare buffer)."""


class Subscription(Generic[T]):
    """An async iterator over the events a subscriber asked for; made by ``ami.subscribe()``.

    Iteration ends when the client is closed; it raises :class:`~ami_client.ConnectionLost`
    when the connection died and will not be re-established, and
    :class:`~ami_client.SubscriptionOverflow` if the FAIL policy closed it. With a reconnect
    policy, a subscription lives across reconnections (events during the outage are missed).
    """

    def __init__(
        self,
        filters: _Filters,
        *,
        max_buffer: int,
        overflow: Overflow | str,
        attach: Callable[[Subscription[T]], None] | None = None,
        detach: Callable[[Subscription[T]], None] | None = None,
    ) -> None:
        if not isinstance(max_buffer, int) or max_buffer < 1:
            raise ValueError(f"buffer must be a positive int, not {max_buffer!r}")
        self._filters = filters
        self._names = filters.names
        self._predicates = filters.predicates
        self.match_all = filters.match_all
        self.max_buffer = max_buffer
        self.overflow = Overflow(overflow)
        self._buffer: deque[T] = deque()
        self._waiter: anyio.Event | None = None
        self._delivered = 0
        self._dropped = 0
        self._since_checkpoint = 0
        self._budget = _MIN_BUDGET
        self._error: BaseException | None = None
        self._closed = False  # nothing more will be offered
        # (None once entered; a subscription with no attach, a bare buffer, attaches nothing.)
        self._attach: Callable[[Subscription[T]], None] | None = attach or _attach_nothing
        self._on_exit = detach

    # -- the reader's side (synchronous, never raises) ----------------------------------------

    def _wants(self, event: object) -> bool:
        """Whether a predicate of this subscription takes ``event`` (the reader offers events
        matched by name or match_all without asking)."""
        for predicate in self._predicates:
            try:
                if predicate(event):
                    return True
            except Exception as exc:  # noqa: BLE001 (any error of user code ends it)
                # The user's predicate failed: end this subscription with that error, leave
                # the reader and every other subscriber alone.
                self._fail(exc)
                return False
        return False

    def _offer(self, event: T) -> None:
        """Buffer one (already matched) event, applying the overflow policy."""
        if self._closed:
            return
        buffer = self._buffer
        if len(buffer) >= self.max_buffer:
            if self.overflow is Overflow.DROP_OLDEST:
                buffer.popleft()
                self._dropped += 1
            elif self.overflow is Overflow.DROP_NEWEST:
                self._dropped += 1
                return
            else:
                self._dropped += 1
                self._fail(
                    SubscriptionOverflow(
                        f"subscriber fell {self.max_buffer} events behind (overflow='fail')"
                    )
                )
                return
        buffer.append(event)
        self._delivered += 1
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    def _offer_all(self, events: list[T]) -> None:
        """Buffer several (already matched) events at once: exactly what offering them one by
        one would do (same buffer, counts and policy), with one wake-up of the reader."""
        if self._closed or not events:
            return
        buffer = self._buffer
        room = self.max_buffer - len(buffer)
        count = len(events)
        if count > room:
            overflow = self.overflow
            if overflow is Overflow.DROP_OLDEST:
                # Each event past the bound pushes the oldest out: the newest max_buffer stay.
                self._dropped += len(buffer) + count - self.max_buffer
                if count >= self.max_buffer:
                    buffer.clear()
                    buffer.extend(events[count - self.max_buffer :])
                else:
                    for _ in range(count - room):
                        buffer.popleft()
                    buffer.extend(events)
                self._delivered += count
            elif overflow is Overflow.DROP_NEWEST:
                if room > 0:
                    buffer.extend(events[:room])
                    self._delivered += room
                self._dropped += count - room
            else:
                # The first event that does not fit fails the subscription; later ones are
                # not offered to a closed subscription at all.
                self._delivered += max(room, 0)
                self._dropped += 1
                self._fail(
                    SubscriptionOverflow(
                        f"subscriber fell {self.max_buffer} events behind (overflow='fail')"
                    )
                )
                return
        else:
            buffer.extend(events)
            self._delivered += count
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    def _fail(self, error: BaseException) -> None:
        if self._closed:
            return
        self._error = error
        self._buffer.clear()  # a failed subscriber gives its memory back at once
        self._finish()

    def _finish(self) -> None:
        """No more events will come: wake the reader of this subscription."""
        self._closed = True
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    def _end(self, error: BaseException | None) -> None:
        """The client closed (``error`` None) or died for good: end after buffered events."""
        if self._closed:
            return
        self._error = error
        self._finish()

    # -- the subscriber's side -------------------------------------------------------------

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        buffer = self._buffer
        if buffer:
            self._since_checkpoint += 1
            if self._since_checkpoint >= self._budget:
                self._since_checkpoint = 0
                await anyio.lowlevel.checkpoint()
                self._budget = min(max(len(buffer), _MIN_BUDGET), _MAX_BUDGET)
                if not buffer:
                    return await self.__anext__()
            return buffer.popleft()
        self._since_checkpoint = 0
        while not buffer:
            if self._closed:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            waiter = self._waiter = anyio.Event()
            await waiter.wait()
        self._budget = min(max(len(buffer), _MIN_BUDGET), _MAX_BUDGET)
        return buffer.popleft()

    async def receive(self) -> T:
        """The next event (waits for one).

        Raises:
            ClientClosed: the client was closed.
            ConnectionLost: the connection died and will not be re-established.
            SubscriptionOverflow: the FAIL policy closed this subscription.
        """
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise ClientClosed("the client was closed") from None

    def receive_nowait(self) -> T | None:
        """The next buffered event, or None if there is none right now."""
        if self._buffer:
            return self._buffer.popleft()
        if self._closed and self._error is not None:
            raise self._error
        return None

    def statistics(self) -> SubscriptionStatistics:
        """Queue depth, deliveries and drops of this subscription."""
        return SubscriptionStatistics(
            buffered=len(self._buffer),
            max_buffer=self.max_buffer,
            delivered=self._delivered,
            dropped=self._dropped,
            overflow=self.overflow,
            failed=self._error is not None and not isinstance(self._error, ClientClosed),
        )

    # -- as its own context manager (what ``subscribe()`` returns) ----------------------------

    async def __aenter__(self) -> Subscription[T]:
        attach = self._attach
        if attach is None:
            # A second `async with` would share (and, leaving, end) the first one's events.
            raise RuntimeError(
                "a subscription can be entered only once; subscribe() again for another"
            )
        self._attach = None
        attach(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop receiving events; buffered ones are dropped."""
        self._closed = True
        self._buffer.clear()
        if self._on_exit is not None:
            on_exit, self._on_exit = self._on_exit, None
            on_exit(self)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.set()

    def __repr__(self) -> str:
        what = "all events" if self.match_all else sorted(self._names)
        return (
            f"<Subscription {what} buffered={len(self._buffer)}/{self.max_buffer} "
            f"dropped={self._dropped} overflow={self.overflow.value}>"
        )


class Broadcast(Generic[T]):
    """Hands every item published to each of its subscriptions: the connection's state
    changes, a tracker's changes. Each subscription buffers up to its ``buffer`` items and
    drops its oldest past that (a slow watcher never holds up the publisher); after
    :meth:`end`, current and later subscriptions end once their buffered items are read."""

    __slots__ = ("_ended", "_error", "_subs")

    def __init__(self) -> None:
        self._subs: tuple[Subscription[T], ...] = ()
        self._ended = False
        self._error: BaseException | None = None

    def subscribe(self, buffer: int) -> Subscription[T]:
        """A new subscription, attached when its ``async with`` block is entered."""
        return Subscription(
            compile_filters(()),
            max_buffer=buffer,
            overflow=Overflow.DROP_OLDEST,
            attach=self._attach,
            detach=self._detach,
        )

    def publish(self, item: T) -> None:
        for sub in self._subs:
            sub._offer(item)

    def end(self, error: BaseException | None = None) -> None:
        """Nothing more will be published; ``error`` (if any) ends each iteration."""
        self._ended = True
        self._error = error
        for sub in self._subs:
            sub._end(error)

    def __len__(self) -> int:
        return len(self._subs)

    def _attach(self, sub: Subscription[T]) -> None:
        if self._ended:
            sub._end(self._error)  # it came too late: nothing will come
            return
        self._subs = (*self._subs, sub)

    def _detach(self, sub: Subscription[T]) -> None:
        self._subs = tuple(s for s in self._subs if s is not sub)
