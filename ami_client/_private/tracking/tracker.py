"""The async tracker: a :class:`Reducer` fed from an event stream, seeded over AMI actions.

:class:`Tracker` knows nothing of the client. It reads an async iterable of typed events and
sends actions through a callable -- so it runs as well over a recorded transcript as over a
live connection. :func:`track` wires it to an :class:`~ami_client.AMIClient`.

Seeding happens when the tracker starts, whenever the stream shows a new AMI session (a
reconnect: :func:`track` has the client mark it; a bare :class:`Tracker` goes by the
``FullyBooted`` event Asterisk sends every session right after login), and when the stream
reports lost events. Everything that can fail in the background is logged and
reported as a violation; nothing raises into the caller's task group.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from types import TracebackType
from typing import Any, Final

import anyio
import anyio.abc
import attrs

from ami_client._private.catalogue._base import TypedEvent
from ami_client._private.catalogue._convert import ChannelState
from ami_client._private.catalogue._registry import from_message
from ami_client._private.errors import AMIConnectionError, AMIError, ClientClosed
from ami_client._private.message import Event
from ami_client._private.serializer import Action
from ami_client._private.subscription import Broadcast, Overflow, Subscription
from ami_client._private.tracking.model import (
    Bridge,
    Call,
    Change,
    Channel,
    ChannelChange,
    Dial,
)
from ami_client._private.tracking.reducer import Reducer, TrackerState, ViolationHook

__all__ = ["EVENTS_LOST", "Tracker", "TrackerStatistics", "track"]

logger = logging.getLogger("ami_client.tracking")

SendAction = Callable[[Action], Awaitable[Any]]

_ids: Final = itertools.count(1)
_SYNC_RETRY_DELAY: Final = 0.1
_SYNC_ATTEMPTS: Final = 300  # about 30 s of "not connected yet" after a reconnect


class _EventsLost:
    """Put into a tracker's stream where events were lost (the source overflowed)."""

    def __repr__(self) -> str:
        return "EVENTS_LOST"


#: A marker a source may yield where it lost events: the tracker re-seeds.
EVENTS_LOST: Final = _EventsLost()


class _NewSession:
    """Put into the stream of :func:`track` where the client reconnected: a new AMI session,
    which knows nothing of what happened while the link was down."""

    def __repr__(self) -> str:
        return "NEW_SESSION"


_NEW_SESSION: Final = _NewSession()


@attrs.frozen(kw_only=True)
class TrackerStatistics:
    """Counters of a tracker, right now."""

    events: int
    """Events fed to the reducer."""
    channels: int
    bridges: int
    dials: int
    syncs: int
    """Seedings completed (CoreShowChannels applied)."""
    violations: dict[str, int]
    """Violations by kind."""


class Tracker:
    """Channels, bridges, dials, transfers and calls, kept true from an event stream.

    Use it as an async context manager; entering starts reading ``events`` and waits for the
    first seeding (when ``send`` is given)::

        async with Tracker(events, ami.send) as tracker:
            for channel in tracker.channels.values():
                ...

    Most code uses :func:`track` instead, which builds one for a client.

    Args:
        events: Typed events (or generic :class:`~ami_client.Event`, converted here) in wire
            order; :data:`EVENTS_LOST` where the source lost some.
        send: Sends an action and waits for its answer (``ami.send``); None to only replay.
        history: How many ended channels to keep (:attr:`ended`).
        on_violation: Called with each :class:`Violation` (see :class:`Reducer`).
    """

    def __init__(
        self,
        events: AsyncIterable[TypedEvent | Event | _EventsLost | _NewSession],
        send: SendAction | None = None,
        *,
        history: int = 0,
        on_violation: ViolationHook | None = None,
    ) -> None:
        self.reducer = Reducer(history=history, on_violation=on_violation)
        self._events = events
        self._send = send
        self._tg: anyio.abc.TaskGroup | None = None
        self._changed = anyio.Event()
        self._synced = anyio.Event()
        self._syncs = 0
        self._sync_running = False
        self._sync_again = False
        self._sync_error: AMIError | None = None  # why the first seeding failed for good
        self._closed = False
        self._error: BaseException | None = None
        self._watchers: Broadcast[Change] = Broadcast()
        self._hangups: dict[str, list[Channel]] = {}
        # Whether a FullyBooted event (a new session) re-seeds. track() turns it off: the
        # client tells it about reconnects itself, which does not depend on the session
        # receiving FullyBooted (a `system` class event, which an Events mask such as
        # ["call"] or a user's read= may exclude).
        self._reseed_on_fully_booted = True

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Tracker:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        tg.start_soon(self._run)
        if self._send is not None:
            self.resync()
            try:
                await self._wait(lambda: self._synced.is_set() or self._sync_error is not None)
                if self._sync_error is not None and not self._synced.is_set():
                    # Without a first seeding the state would be wrong for as long as the
                    # calls it missed last: say so at once (e.g. PermissionDenied for a user
                    # whose write= lacks CoreShowChannels' system/reporting class).
                    raise self._sync_error
            except BaseException:
                await self.__aexit__(None, None, None)
                raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tg, self._tg = self._tg, None
        self._close(None)
        if tg is not None:
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)

    def _close(self, error: BaseException | None) -> None:
        if self._closed:
            return
        self._closed = True
        self._error = error
        self._watchers.end(error)
        self._wake()

    # -- the event loop ----------------------------------------------------------------------

    async def _run(self) -> None:
        feed = self.reducer.feed
        error: BaseException | None = None
        try:
            async for item in self._events:
                if item is EVENTS_LOST:
                    self.reducer.violation("events-lost", "the event source lost events")
                    self.resync()
                    continue
                if item is _NEW_SESSION:
                    self.resync()
                    continue
                event = item if isinstance(item, TypedEvent) else from_message(item)  # type: ignore[arg-type]
                try:
                    changes = feed(event)
                except Exception:  # a bug of ours must not stop tracking
                    logger.exception("tracker failed on %r", event)
                    self.reducer.violation("internal-error", f"tracker failed on {event!r}", event)
                    continue
                if changes:
                    self._publish(changes)
                elif self._sync_running and not self.reducer.syncing:
                    self._wake()  # a seeding completed without changing anything
                if (
                    self._reseed_on_fully_booted
                    and self._syncs
                    and event.message.get("Event") == "FullyBooted"
                ):
                    # A new AMI session (Asterisk sends it right after each login): we were
                    # reconnected and missed what happened meanwhile.
                    self.resync()
        except AMIError as exc:
            error = exc
        except Exception as exc:  # the source failed: end waiters with it
            logger.exception("tracker event source failed")
            error = exc
        self._close(error if error is not None else ClientClosed("the event stream ended"))

    def _publish(self, changes: list[Change]) -> None:
        if self._watchers:
            for change in changes:
                self._watchers.publish(change)
        if self._hangups:
            for change in changes:
                if (
                    isinstance(change, ChannelChange)
                    and change.new is None
                    and change.old is not None
                ):
                    waiting = self._hangups.get(change.old.unique_id)
                    if waiting is not None:
                        waiting.append(change.final or attrs.evolve(change.old, ended=True))
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    # -- seeding -----------------------------------------------------------------------------

    def resync(self) -> None:
        """Seed again from ``BridgeList`` and ``CoreShowChannels`` (in the background)."""
        if self._send is None or self._tg is None or self._closed:
            return
        if self._sync_running:
            self._sync_again = True
            return
        self._sync_running = True
        self._tg.start_soon(self._sync)

    async def _sync(self) -> None:
        assert self._send is not None
        try:
            attempts = 0
            while True:
                self._sync_again = False
                n = next(_ids)
                channels_id, bridges_id = f"tracker-{n}-channels", f"tracker-{n}-bridges"
                self.reducer.begin_sync(
                    channels_action_id=channels_id, bridges_action_id=bridges_id
                )
                try:
                    # Bridges first: a channel of CoreShowChannels then names a bridge we
                    # already know, or one newer than the list (added as a placeholder).
                    await self._send(Action("BridgeList", ActionID=bridges_id))
                    await self._send(Action("CoreShowChannels", ActionID=channels_id))
                except ClientClosed:
                    return
                except AMIConnectionError as exc:
                    attempts += 1
                    if attempts >= _SYNC_ATTEMPTS:
                        self._sync_failed(exc)
                        return
                    await anyio.sleep(_SYNC_RETRY_DELAY)
                    continue
                except AMIError as exc:
                    self._sync_failed(exc)
                    return
                # The answers are back; the lists themselves are applied by the event loop
                # when it reaches them in the stream.
                await self._wait(lambda: not self.reducer.syncing)
                self._syncs += 1
                self._synced.set()
                self._wake()  # whoever waits for a seeding (entering, a test) looks again
                if not self._sync_again:
                    return
        finally:
            self._sync_running = False

    def _sync_failed(self, error: AMIError) -> None:
        # Its lists will never come: close the window begun by begin_sync(), or the reducer
        # would stay "syncing" (quiet about violations, its bookkeeping growing) for good.
        self.reducer.abort_sync()
        self.reducer.violation("sync-failed", f"could not seed: {error}")
        self._sync_error = error
        self._wake()  # entering waits for the first seeding: it fails with this error

    # -- queries -----------------------------------------------------------------------------

    def state(self) -> TrackerState:
        """An immutable view of everything tracked now."""
        return self.reducer.state()

    @property
    def channels(self) -> dict[str, Channel]:
        """Live channels by Uniqueid (a copy)."""
        return dict(self.reducer.channels)

    @property
    def bridges(self) -> dict[str, Bridge]:
        """Live bridges by BridgeUniqueid (a copy)."""
        return dict(self.reducer.bridges)

    @property
    def dials(self) -> dict[tuple[str | None, str], Dial]:
        """Pending dials by (caller Uniqueid, destination Uniqueid) (a copy)."""
        return dict(self.reducer.dials)

    @property
    def calls(self) -> dict[str, Call]:
        """Calls by Linkedid."""
        return dict(self.reducer.state().calls)

    @property
    def ended(self) -> tuple[Channel, ...]:
        """Recently ended channels (``history`` of them), oldest first."""
        return tuple(self.reducer.ended)

    def statistics(self) -> TrackerStatistics:
        """Counters: events, live entries, seedings, violations by kind."""
        r = self.reducer
        return TrackerStatistics(
            events=r.events,
            channels=len(r.channels),
            bridges=len(r.bridges),
            dials=len(r.dials),
            syncs=self._syncs,
            violations=dict(r.violations),
        )

    async def _wait(self, condition: Callable[[], bool]) -> None:
        while not condition():
            if self._closed:
                raise self._closed_error()
            await self._changed.wait()

    def _closed_error(self) -> BaseException:
        error = self._error
        if isinstance(error, AMIConnectionError):
            return type(error)(str(error))
        return ClientClosed(f"the tracker stopped: {error!r}" if error else "the tracker is closed")

    async def wait_until(self, predicate: Callable[[TrackerState], bool]) -> TrackerState:
        """Wait until ``predicate(state)`` holds; return that state.

        Bound the wait with a cancel scope (``with anyio.fail_after(5): ...``).

        Raises:
            ClientClosed, ConnectionLost: the tracker or its source ended first.
        """
        while True:
            state = self.reducer.state()
            if predicate(state):
                return state
            if self._closed:
                raise self._closed_error()
            await self._changed.wait()

    async def wait_channel(
        self,
        unique_id: str,
        state: ChannelState | None = None,
        predicate: Callable[[Channel], bool] | None = None,
    ) -> Channel:
        """Wait until channel ``unique_id`` is live (in ``state``, if given, and satisfying
        ``predicate``, if given); return it."""

        def ok(s: TrackerState) -> bool:
            ch = s.channels.get(unique_id)
            return (
                ch is not None
                and (state is None or ch.state == state)
                and (predicate is None or predicate(ch))
            )

        return (await self.wait_until(ok)).channels[unique_id]

    async def wait_hangup(self, unique_id: str) -> Channel:
        """Wait for channel ``unique_id`` to hang up; return its last version (with the
        hangup cause). Call it while the channel is live or about to appear."""
        box = self._hangups.setdefault(unique_id, [])
        try:
            await self._wait(lambda: bool(box))
            return box[0]
        finally:
            if self._hangups.get(unique_id) is box:
                del self._hangups[unique_id]

    def changes(self, *, buffer: int = 10_000) -> Subscription[Change]:
        """An async context manager and iterator of the changes, as they happen::

            async with tracker.changes() as changes:
                async for change in changes:
                    ...

        A consumer more than ``buffer`` changes behind loses the oldest (counted in
        ``statistics().dropped``).
        """
        return self._watchers.subscribe(buffer)


async def _watched(sub: Subscription[Any]) -> AsyncIterator[Any]:
    """The subscription's events, with :data:`EVENTS_LOST` where it dropped some."""
    dropped = 0
    async for event in sub:
        now = sub._dropped
        if now != dropped:
            dropped = now
            yield EVENTS_LOST
        yield event


@asynccontextmanager
async def track(
    ami: Any,
    *,
    history: int = 0,
    on_violation: ViolationHook | None = None,
    buffer: int = 100_000,
) -> AsyncIterator[Tracker]:
    """Track channels, bridges, dials, transfers and calls of a connected client::

        async with ami_client.connect(...) as ami, ami_client.track(ami) as tracker:
            ...

    Entering subscribes to every event, seeds from ``BridgeList`` and ``CoreShowChannels``
    and returns once that is applied. After a reconnect it seeds again by itself.

    Args:
        ami: A connected :class:`~ami_client.AMIClient` (its ``subscribe`` and ``send``).
        history: How many ended channels to keep.
        on_violation: Called with each :class:`Violation`.
        buffer: Events that may wait for the tracker; past that the oldest are dropped, the
            loss reported (``events-lost``) and the state seeded again.

    Raises:
        ActionError: entering, when the first seeding is refused (a
            :class:`~ami_client.PermissionDenied` for a user whose ``write=`` has neither
            ``system`` nor ``reporting``); later seedings only report ``sync-failed``.
        AMIConnectionError: entering, when the connection ends (or stays down) before the
            first seeding completes.
    """
    async with ami.subscribe(buffer=buffer, overflow=Overflow.DROP_OLDEST) as sub:
        tracker = Tracker(_watched(sub), ami.send, history=history, on_violation=on_violation)
        # Re-seed after each reconnect, told by the client itself (in the event stream, behind
        # the old session's events): FullyBooted, the other sign of a new session, is a
        # `system` class event that a session with events=["call"] never receives.
        hooks: list[Callable[[], None]] | None = getattr(ami, "_reconnected_hooks", None)
        hook = partial(sub._offer, _NEW_SESSION)
        if hooks is not None:
            tracker._reseed_on_fully_booted = False
            hooks.append(hook)
        try:
            async with tracker:
                yield tracker
        finally:
            if hooks is not None:
                hooks.remove(hook)
